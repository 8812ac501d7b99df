"""SegNet's decoder densifies the sparse unpooled map with a trainable convolution: the page's walk runs the
shipped checkpoint's own layers (max_unpool2d, then its first decoder convolution), checked against torch's
functional ops, and says which weights it shows, in both languages."""
import pytest
import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from core import architectures as arch
from core import lessons
from core.data.streets import make_street, to_tensor
from core.zoo.checkpoints import app_checkpoint, read_header, shipped_checkpoints
from tests.conftest import page_text, run_page

pytestmark = pytest.mark.usefixtures("one_thread")
SHIPPED = "segnet-streets.safetensors"


def _shipped():
    path = shipped_checkpoints()[SHIPPED]
    return app_checkpoint(path.read_bytes()), path


@pytest.mark.parametrize("h, w, channel", [(96, 128, 1), (45, 61, 3)])
def test_the_walk_unpools_then_convolves_with_the_shipped_decoders_weights(h, w, channel):
    ckpt, path = _shipped()
    state = load_file(str(path))
    assert torch.equal(ckpt.model.head.stage1_D[0][0].weight, state["head.stage1_D.0.0.weight"].float())
    x = to_tensor(make_street(7, (h, w))[0])[None]
    walk = arch.segnet_walkthrough(ckpt.model, x, channel)
    with torch.no_grad():  # the same steps with torch's functional ops
        feature = ckpt.model.encoder.stage1(x)
        pooled, idx = F.max_pool2d(feature, 2, 2, ceil_mode=True, return_indices=True)
        sparse = F.max_unpool2d(pooled, idx, 2, 2, output_size=feature.shape[-2:])
        conv = ckpt.model.head.stage1_D[0][0]
        dense = F.conv2d(sparse, conv.weight, conv.bias, padding=conv.padding)
    assert torch.allclose(torch.from_numpy(walk.unpooled), sparse[0, channel])
    assert torch.allclose(torch.from_numpy(walk.densified), dense[0, channel % dense.shape[1]], atol=1e-5)
    _, u, d = walk.nonzero
    assert u <= 0.25 + 1e-9  # one cell in four can hold a value
    assert d > 0.9  # the convolution fills the holes


@pytest.mark.parametrize("lang", lessons.LANGUAGES)
@pytest.mark.parametrize("weights", ["shipped", "random"])
def test_segnet_page_says_which_weights_densify(lang, weights):
    T = lessons.texts("segnet", lang)
    at = run_page("segnet", lang, {"sn_walk_weights": weights, "sn_walk_scene": 11, "sn_channel": 2})
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    assert "max |Δ| = 0" in at.success[0].value  # the model's unpooling is torch's
    infos, warnings = [i.value for i in at.info], [w.value for w in at.warning]
    header = read_header(shipped_checkpoints()[SHIPPED])
    metrics = header["metrics"]
    shipped = T("walk_shipped", steps=metrics["step"], miou=metrics["miou"], size=header["input_size"][0])
    if weights == "shipped":
        assert shipped in infos and T("walk_random") not in warnings
    else:
        assert T("walk_random") in warnings and shipped not in infos
    assert T("weights_caption") in page_text(at)
