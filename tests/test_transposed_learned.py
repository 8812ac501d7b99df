"""Transposed convolution with several channels (checked against torch) and a stride-2 transposed convolution
that learns to undo a downsampling (its loss falls, its checkerboard fades); the page's section in both
languages."""
import pytest
import torch
import torch.nn.functional as F

from core import lessons
from core.ops import transposed_learned as tl
from core.ops.args import ParameterError
from core.ops.transposed import conv_transpose2d
from tests.conftest import page_text, run_page

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("c_in, c_out, k, s, p", [(1, 1, 2, 1, 0), (2, 3, 2, 1, 0), (3, 2, 3, 2, 0),
                                                   (3, 3, 3, 2, 1), (4, 1, 2, 3, 0)])
def test_channels_pair_by_pair_and_all_at_once_equal_torch(c_in, c_out, k, s, p):
    v = tl.channel_view(c_in, c_out, 2, k, s, p, seed=c_in * 7 + c_out)
    assert v.weight.shape == (c_in, c_out, k, k)
    assert v.theirs.shape[0] == c_out
    assert torch.equal(v.summed, v.theirs)  # whole numbers in float64: exactly equal
    assert torch.equal(v.ours, v.theirs)
    for i in range(c_in):
        for o in range(c_out):
            alone = F.conv_transpose2d(v.x[i][None, None], v.weight[i, o][None, None], stride=s, padding=p)[0, 0]
            assert torch.equal(v.parts[i, o], alone)


@pytest.mark.parametrize("c_in, c_out, s, p, op, d", [(5, 3, 2, 1, 1, 1), (3, 7, 3, 0, 2, 1), (2, 4, 2, 2, 0, 2)])
def test_scatter_with_many_channels_equals_torch_on_real_numbers(c_in, c_out, s, p, op, d):
    torch.manual_seed(c_in + c_out)
    x, w, b = torch.randn(2, c_in, 5, 4), torch.randn(c_in, c_out, 3, 3), torch.randn(c_out)
    ours = conv_transpose2d(x, w, b, stride=s, padding=p, output_padding=op, dilation=d)
    theirs = F.conv_transpose2d(x, w, b, stride=s, padding=p, output_padding=op, dilation=d)
    assert torch.allclose(ours, theirs, atol=1e-5)


@pytest.mark.parametrize("k", [2, 3, 4, 5, 6, 7])
def test_same_size_padding_doubles_the_side(k):
    p, op = tl.same_size_padding(k, 2)
    out = F.conv_transpose2d(torch.ones(1, 1, 16, 16), torch.ones(1, 1, k, k), stride=2, padding=p, output_padding=op)
    assert out.shape[-2:] == (32, 32)


def test_refusals_are_sentences():
    with pytest.raises(ParameterError):
        tl.same_size_padding(1, 2)
    with pytest.raises(ParameterError):
        tl.channel_view(0, 2)
    with pytest.raises(ParameterError):
        next(tl.learn_inverse(0))


@pytest.mark.parametrize("k", [3, 4])
def test_the_learned_transposed_convolution_lowers_its_loss_and_its_checkerboard(k):
    cfg = tl.LearnConfig(kernel_size=k)
    run = list(tl.learn_inverse(300, cfg))
    steps = [step for step, _, _ in run]
    assert steps == list(range(301))
    losses = [loss for step, loss, _ in run if step]
    assert sum(losses[-20:]) / 20 < 0.2 * sum(losses[:5]) / 5
    snaps = [s for _, _, s in run if s is not None]
    assert snaps[0].step == 0 and snaps[-1].step == 300
    assert snaps[-1].unevenness < 0.2 * snaps[0].unevenness
    # the reconstruction of the held-out picture is better after training than at the random start
    probe = tl.probe_picture(cfg)[0, 0].numpy()
    err = [float(((s.reconstruction - probe) ** 2).mean()) for s in (snaps[0], snaps[-1])]
    assert err[1] < 0.2 * err[0]
    for s in snaps:  # the from-scratch scatter agrees with torch on every snapshot's kernel
        assert abs(s.ours - s.reconstruction).max() < 1e-5
    # the flat answer is what torch gives for the kernel
    flat, _ = tl.checkerboard(torch.from_numpy(snaps[-1].kernel), 2)
    assert torch.allclose(flat, torch.from_numpy(snaps[-1].flat))


def test_training_is_reproducible():
    a = [loss for _, loss, _ in tl.learn_inverse(20)]
    b = [loss for _, loss, _ in tl.learn_inverse(20)]
    assert a == b


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
def test_transposed_page_section_renders_trains_and_labels_its_steps(lang):
    T = lessons.texts("transposed_extra", lang)
    at = run_page("transposed_convolution", lang, {"tcx_cin": 3, "tcx_cout": 2, "tcx_k": 3, "tcx_s": 2,
                                                   "tcx_lk": 3, "tcx_steps": 100})
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    text = page_text(at)
    assert T("title_section") in text and T("ch_title") in text and T("ln_title") in text
    successes = [s.value for s in at.success]
    assert any(T("ch_check_sum", c_in=3, c_out=2) in s for s in successes)
    assert T("ln_untrained", steps=100) in [i.value for i in at.info]
    shown = {m.label: m.value for m in at.metric}
    assert shown[T("ln_trained")] == T("ln_step0")  # the random start is said as such

    at.button(key="tcx_train").click().run()
    assert not at.exception, [e.value for e in at.exception]
    run = list(tl.learn_inverse(100, tl.LearnConfig(kernel_size=3)))
    losses = [loss for step, loss, _ in run if step]
    assert T("ln_done", steps=100, first=losses[0], last=losses[-1]) in [s.value for s in at.success]
    shown = {m.label: m.value for m in at.metric}
    assert shown[T("ln_trained")] == T("ln_after_many", step=100)
    assert shown[T("ln_loss")] == lessons.number(losses[-1], ".4f", lang)

    at.select_slider(key="tcx_at_3_100").set_value(1).run()
    shown = {m.label: m.value for m in at.metric}
    assert shown[T("ln_trained")] == T("ln_after_one", step=1)
