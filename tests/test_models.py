"""The architectures: shapes on odd sizes, gradients, the papers' sizes, the official pose HRNet's keys."""
import dataclasses
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from core import models
from core.models.base import BilinearTransposed, make_config
from core.models.fcn import FCNConfig, convolutionalize
from core.models.fpn import FeaturePyramid, as_torchvision
from core.models.hrnet import HighResolutionModule, HRNetConfig
from core.zoo import weights as zoo

# Every state_dict key of the official HRNet pose model (W32) and its shape (a copy of the shared reference)
REFERENCE = Path(__file__).resolve().parent / "data" / "pose_hrnet_w32_state_dict.json"
SIZES = [(32, 32), (37, 51), (65, 33)]


def first_conv(model: nn.Module) -> nn.Conv2d:
    return next(m for m in model.modules() if isinstance(m, nn.Conv2d))


@pytest.fixture(scope="module")
def small_models():
    torch.manual_seed(0)
    return {name: models.build(name, 5) for name in models.SEGMENTATION}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", models.SEGMENTATION)
def test_output_has_the_input_size(small_models, name, size):
    model = small_models[name].eval()
    with torch.no_grad():
        y = model(torch.randn(2, 3, *size))
    assert y.shape == (2, 5, *size)
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", models.SEGMENTATION)
def test_gradient_reaches_the_first_layer(small_models, name):
    model = small_models[name].train()
    model.zero_grad()
    x = torch.randn(2, 3, 41, 35)
    target = torch.randint(0, 5, (2, 41, 35))
    F.cross_entropy(model(x), target).backward()
    grad = first_conv(model).weight.grad
    assert grad is not None and torch.isfinite(grad).all() and grad.abs().sum() > 0


def test_too_small_or_wrong_input_is_refused_with_a_sentence(small_models):
    with pytest.raises(ValueError, match="at least 32"):
        small_models["unet"](torch.randn(1, 3, 31, 64))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        small_models["unet"](torch.randn(1, 1, 64, 64))


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(ValueError, match="valid names are fcn32s, fcn16s, fcn8s, segnet"):
        models.build("deeplab", 3)
    with pytest.raises(TypeError, match="valid fields are"):
        models.build("unet", 3, widht=0.5)
    with pytest.raises(ValueError, match="num_classes"):
        models.build("unet", 0)
    assert set(models.SEGMENTATION) < set(models.available())


def params(name: str, num_classes: int, **kw) -> int:
    """Learned parameters (FCN's last bilinear upsampling is fixed, as in the paper, and not counted)."""
    with torch.device("meta"):  # no memory, no initialisation: only the shapes
        model = models.build(name, num_classes, **kw)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@pytest.mark.parametrize("name, classes, paper_millions, kw", [
    ("fcn8s", 21, 134.0, {}),  # Long et al.: FCN-8s (VGG-16) has about 134 M parameters
    ("fcn32s", 21, 134.0, {}),  # same backbone, no skips
    ("segnet", 12, 29.45, {}),  # Badrinarayanan et al., Table 6: 29.45 M
    ("unet", 2, 31.0, {}),  # Ronneberger et al.'s U (64 … 1024 channels): about 31 M
    ("pose_hrnet_w32", 17, 28.5, {}),  # Sun et al., Table 1: HRNet-W32, 28.5 M
    ("hrnet", 19, 65.9, {"width": 48}),  # Wang et al., HRNetV2-W48 for Cityscapes: 65.9 M
])
def test_paper_configuration_has_the_papers_size(name, classes, paper_millions, kw):
    n = params(name, classes, paper=True, **kw) / 1e6
    assert abs(n - paper_millions) / paper_millions < 0.015, n


def test_default_models_are_small():
    for name in models.SEGMENTATION:
        assert params(name, 5) < 2.5e6, name


def test_fpn_bottom_up_is_torchvisions_resnet50():
    from torchvision.models import resnet50

    with torch.device("meta"):
        ours = models.build("fpn", 3, paper=True).encoder.state_dict()
        theirs = {k: v for k, v in resnet50().state_dict().items() if not k.startswith("fc.")}
    assert {k: tuple(v.shape) for k, v in ours.items()} == {k: tuple(v.shape) for k, v in theirs.items()}


# --- the official pose HRNet ---------------------------------------------------------------------

def test_pose_hrnet_keys_and_shapes_equal_the_official_model():
    reference = json.loads(REFERENCE.read_text())["state_dict"]
    with torch.device("meta"):
        model = models.build("pose_hrnet_w32", num_classes=17)
    ours = {k: list(v.shape) for k, v in model.state_dict().items()}
    assert list(ours) == list(reference)  # same names, in the same order
    assert ours == reference


@pytest.mark.slow
def test_pose_hrnet_loads_a_checkpoint_strictly_and_gives_the_same_heatmaps(tmp_path):
    torch.manual_seed(1)
    source = models.build("pose_hrnet_w32", num_classes=17).eval()
    with torch.no_grad():  # give the batch-norm buffers non-trivial values, as a trained checkpoint has
        for m in source.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.uniform_(-0.1, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    path = tmp_path / "pose_hrnet_w32.pth"
    torch.save(source.state_dict(), path)
    state = torch.load(path, weights_only=True)
    target = models.build("pose_hrnet_w32", num_classes=17, weights=state).eval()
    x = torch.randn(1, 3, 128, 96)
    with torch.no_grad():
        a, b = source(x), target(x)
    assert a.shape == (1, 17, 32, 24)  # stride 4
    assert torch.equal(a, b)


def test_pose_hrnet_small_config_takes_odd_sizes():
    model = models.build("pose_hrnet_w32", 17, paper=False).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 67, 45)).shape == (1, 17, 17, 12)


def test_fusion_upsampling_equals_the_official_scale_factor_on_multiples_of_32():
    torch.manual_seed(0)
    module = HighResolutionModule([4, 8, 16, 32], blocks=1).eval()
    xs = [torch.randn(1, 4 * 2**k, 32 >> k, 24 >> k) for k in range(4)]
    for i in range(4):
        terms = module.fuse_terms(xs, i)
        for j in range(i + 1, 4):
            official = nn.Upsample(scale_factor=2 ** (j - i), mode="nearest")(module.fuse_layers[i][j](xs[j]))
            assert torch.equal(terms[j], official)
    assert all(t.shape == xs[0].shape for t in module.fuse_terms(xs, 0))
    assert xs[0].shape == (1, 4, 32, 24)  # the caller's list is not mutated


# --- pieces checked against torch's own ---------------------------------------------------------

def test_fcn_upsampling_starts_as_bilinear_interpolation():
    up = BilinearTransposed(3, 2)
    x = torch.randn(1, 3, 6, 7)
    ours = up(x)
    torch_bilinear = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    assert ours.shape == (1, 3, 12, 14)
    # equal away from a one-pixel border, where the transposed conv has no neighbour to lean on
    torch.testing.assert_close(ours[..., 1:-1, 1:-1], torch_bilinear[..., 1:-1, 1:-1])
    assert up.weight.requires_grad and not BilinearTransposed(3, 8, learnable=False).weight.requires_grad
    model = models.build("fcn8s", 4)
    torch.testing.assert_close(model.head.upscore2.weight, BilinearTransposed(4, 2).weight)
    assert model.head.score_pool4.weight.abs().sum() == 0  # skips start at zero, as in the paper


def test_convolutionalized_fc_layer_equals_the_linear_layer():
    torch.manual_seed(0)
    linear = nn.Linear(8 * 7 * 7, 16)
    conv = convolutionalize(linear, 8, 7)
    x = torch.randn(2, 8, 7, 7)
    torch.testing.assert_close(conv(x).flatten(1), linear(x.flatten(1)))
    assert conv(torch.randn(1, 8, 10, 12)).shape == (1, 16, 4, 6)  # a map of answers on a larger input


def test_our_feature_pyramid_equals_torchvisions():
    torch.manual_seed(0)
    pyramid = FeaturePyramid([8, 16, 32, 64], 12).eval()
    cs = [torch.randn(1, c, s, s + 3) for c, s in zip([8, 16, 32, 64], [33, 17, 9, 5])]
    with torch.no_grad():
        ours = pyramid(cs)
        theirs = as_torchvision(pyramid)({str(k): c for k, c in enumerate(cs)})
    assert list(theirs) == ["0", "1", "2", "3", "pool"]
    for a, b in zip(ours, theirs.values()):
        assert torch.equal(a, b)


def test_fcn_head_gives_one_prediction_per_stride():
    model = models.build("fcn8s", 3).eval()
    with torch.no_grad():
        preds = model.head.predictions(model.encoder(torch.randn(1, 3, 70, 90)))
    assert {s: tuple(p.shape[-2:]) for s, p in preds.items()} == {32: (3, 3), 16: (5, 6), 8: (9, 12)}


@pytest.mark.parametrize("how", ["bilinear", "nearest"])
def test_unet_decoder_can_upsample_without_learned_kernels(how):
    model = models.build("unet", 3, upsampling=how).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 45, 33)).shape == (1, 3, 45, 33)
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in model.modules())
    assert models.config_class("unet").__name__ == "UNetConfig"
    with pytest.raises(ValueError, match="valid names"):
        models.config_class("vgg")


def test_one_registry_describes_every_model_and_its_docstring_table():
    rows = [line.split(None, 1) for line in models.__doc__.splitlines() if line.startswith("``") and ":mod:" in line]
    table = {name.strip("`"): rest.rsplit(":mod:", 1)[0].strip() for name, rest in rows}
    assert table == {name: models.entry(name).idea for name in models.available()}
    assert models.available("segmentation") == list(models.SEGMENTATION)
    assert models.available("coordinates") == ["pose_regression"]
    for name in models.available():
        fields = {f.name for f in dataclasses.fields(models.config_class(name))}
        assert fields, name
    with pytest.raises(ValueError, match="valid kinds"):
        models.available("depth")


@pytest.mark.parametrize("name, out", [("pose_hrnet_small", (1, 6, 12, 9)), ("pose_hourglass", (1, 6, 12, 9)),
                                       ("pose_regression", (1, 6, 2))])
def test_the_pose_case_study_models_are_built_by_name(name, out):
    model = models.build(name, num_classes=6, budget="tiny").eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, 48, 36)).shape == out
    same = models.build(name, num_classes=6, weights=model.state_dict())  # a state dict loads strictly
    assert same.state_dict().keys() == model.state_dict().keys()


def test_config_helpers():
    assert make_config(FCNConfig, paper=True) == FCNConfig.paper()
    assert make_config(FCNConfig, overrides={"width": 0.5}).width == 0.5
    assert HRNetConfig.paper().branch_channels(4) == [32, 64, 128, 256]


# --- pretrained weights: only from the cache; never downloaded in a test ------------------------

def test_segnet_imagenet_encoder_needs_cached_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    status = zoo.find("vgg16_bn")
    assert not status.found and status.reason == "not_cached"
    assert status.path.parent == tmp_path / "hub" / "checkpoints"
    with pytest.raises(zoo.WeightsUnavailable) as err:
        models.build("segnet", 3, paper=True, weights="imagenet")
    assert err.value.reason == "not_cached"


def test_segnet_encoder_takes_torchvision_vgg16_bn_weights_from_the_cache(tmp_path, monkeypatch):
    from torchvision.models.vgg import cfgs, make_layers

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    torch.manual_seed(0)
    # torchvision's vgg16_bn.features, the only part the encoder reads (the classifier would add 120 M numbers)
    features = {f"features.{k}": v for k, v in make_layers(cfgs["D"], batch_norm=True).state_dict().items()}
    path = zoo.cached_file("vgg16_bn")
    path.parent.mkdir(parents=True)
    torch.save(features, path)
    model = models.build("segnet", 3, paper=True, weights="imagenet")
    torch.testing.assert_close(model.encoder.stage1[0][0].weight, features["features.0.weight"])
    torch.testing.assert_close(model.encoder.stage5[2][1].running_var, features["features.41.running_var"])
    path.write_bytes(b"not a checkpoint")
    assert zoo.find("vgg16_bn").reason == "unreadable"
