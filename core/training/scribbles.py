r"""Segment your own photo from a few strokes: a small network trained on the painted pixels alone.

The user paints a few strokes per class; :func:`rasterize` turns them into a label map where unpainted
pixels are *ignored* (a stroke is ``{"label": class, "width": brush diameter, "points": [[x, y], ...]}``
in image pixels, drawn in order, so a later stroke paints over an earlier one). A small fully convolutional network then trains on this one image with
the per-pixel cross-entropy restricted to the painted pixels — the same loss as full supervision, with
almost every pixel masked out — and finally labels every pixel of the photo.

Why it works at all: a convolution's weights are shared by every position, so what the network learns
from the painted pixels (colours, textures, a little context) applies everywhere else. Why it fails
where it does: it has seen only what was painted, so a region unlike every stroke gets whichever class
looks closest. Adding a stroke there and training again is the fix — the interactive loop of tools such
as scribble-based annotation.

The network (:class:`ScribbleNet`) stacks five 3×3 convolutions with dilations 1, 2, 4, 8 and 1, so
each output pixel sees a 33 × 33 window without any downsampling (each layer adds ``2 × dilation``
pixels to the first one's 3: :func:`receptive_field` traces it through the layers themselves, and the
page shows that number): full resolution throughout, which a single small image can afford. Two extra input channels hold the normalised pixel coordinates, so it can
also use *where* a pixel is.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw
from torch import nn

from core.cost import receptive_field_at
from core.data.constants import IGNORE_INDEX
from core.data.streets import to_tensor


def rasterize(strokes: list[dict], shape: tuple[int, int], ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """An ``(H, W)`` uint8 map: each stroke's label along its path (round ends), ``ignore_index`` elsewhere."""
    h, w = shape
    canvas = Image.new("L", (w, h), ignore_index)
    draw = ImageDraw.Draw(canvas)
    for stroke in strokes:
        label = int(stroke["label"])
        if not 0 <= label < 255 or label == ignore_index:
            raise ValueError(f"stroke label {label} is not a class index (0–254, not {ignore_index})")
        width = max(1.0, float(stroke.get("width", 1)))
        pts = [(float(x), float(y)) for x, y in stroke.get("points", [])]
        if len(pts) > 1:
            draw.line(pts, fill=label, width=max(1, round(width)))
        r = width / 2
        for x, y in pts:  # round caps and joints, and single clicks
            draw.ellipse([x - r, y - r, x + r, y + r], fill=label)
    return np.asarray(canvas, dtype=np.uint8).copy()


DILATIONS = (1, 2, 4, 8, 1)  # of the five 3×3 convolutions: the window grows fast, the map never shrinks


class ScribbleNet(nn.Sequential):
    """RGB + (y, x) coordinates → class scores at full resolution, via dilated 3×3 convolutions."""

    def __init__(self, num_classes: int, width: int = 32):
        layers: list[nn.Module] = []
        channels = 5  # RGB and the two coordinate channels
        for dilation in DILATIONS:
            layers += [nn.Conv2d(channels, width, 3, padding=dilation, dilation=dilation),
                       nn.BatchNorm2d(width), nn.ReLU(inplace=True)]
            channels = width
        layers.append(nn.Conv2d(width, num_classes, 1))  # contract: logits (N, C, H, W)
        super().__init__(*layers)


def receptive_field(model: nn.Sequential | None = None) -> int:
    """Side, in pixels, of the square window one output pixel of ``model`` depends on (33 for ScribbleNet).

    Traced through the model's own layers (kernel sizes, dilations, strides, paddings:
    :func:`core.cost.receptive_field_at`) for a pixel far from the borders, so the page's sentence follows
    the network if its layers change. ``tests/test_scribbles.py`` measures the same window by gradient.
    """
    model = ScribbleNet(2, width=1) if model is None else model  # the window does not depend on the width
    size = 512  # a line long enough that its middle pixel is far from both borders
    first, last = receptive_field_at(model, size, size // 2)
    return last - first + 1


def with_coordinates(x: torch.Tensor) -> torch.Tensor:
    """Append normalised row and column coordinates (−1 … 1) as two channels: (N, 3, H, W) → (N, 5, H, W)."""
    n, _, h, w = x.shape
    yy = torch.linspace(-1, 1, h, device=x.device).view(1, 1, h, 1).expand(n, 1, h, w)
    xx = torch.linspace(-1, 1, w, device=x.device).view(1, 1, 1, w).expand(n, 1, h, w)
    return torch.cat([x, yy, xx], dim=1)  # (N, 5, H, W)


class ScribbleError(ValueError):
    """The strokes cannot be trained on yet; ``str(err)`` says why in English, ``code`` and ``params`` let a
    page say it in its own language (``lessons/<lang>/scribbles.toml``, ``err_<code>``)."""

    MESSAGES = {
        "nothing_painted": "Nothing is painted yet: draw at least one stroke for each class you want.",
        "one_class": "Paint strokes of at least two different classes, so the network has something to tell apart.",
        "class_out_of_range": "A stroke uses class {used}, but there are only {classes} classes.",
    }

    def __init__(self, code: str, **params):
        self.code, self.params = code, params
        super().__init__(self.MESSAGES[code].format(**params))


def fit(image: np.ndarray, labels: np.ndarray, num_classes: int, steps: int = 150, lr: float = 1e-2,
        seed: int = 0, model: ScribbleNet | None = None, device: torch.device | str = "cpu"
        ) -> Iterator[dict]:
    """Train on the painted pixels of ``labels`` (``IGNORE_INDEX`` elsewhere), yielding the loss per step.

    The last item also carries ``"model"`` (in eval mode). Pass the previous ``model`` to continue
    training after the user adds strokes.
    """
    painted = labels != IGNORE_INDEX
    if not painted.any():
        raise ScribbleError("nothing_painted")
    present = sorted(set(np.unique(labels[painted]).tolist()))
    if len(present) < 2:
        raise ScribbleError("one_class")
    if max(present) >= num_classes:
        raise ScribbleError("class_out_of_range", used=max(present), classes=num_classes)
    torch.manual_seed(seed)
    device = torch.device(device)
    model = (model or ScribbleNet(num_classes)).to(device).train()
    x = with_coordinates(to_tensor(image).unsqueeze(0)).to(device)  # (1, 5, H, W)
    y = torch.from_numpy(labels.astype(np.int64)).unsqueeze(0).to(device)  # (1, H, W)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for step in range(1, steps + 1):
        flip = step % 2 == 0  # a mirrored copy every other step: a free augmentation
        xb, yb = (x.flip(-1), y.flip(-1)) if flip else (x, y)
        if flip:
            xb = torch.cat([xb[:, :4], -xb[:, 4:]], dim=1)  # mirrored coordinates stay true coordinates
        loss = F.cross_entropy(model(xb), yb, ignore_index=IGNORE_INDEX)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        item = {"step": step, "loss": loss.item()}
        if step == steps:
            item["model"] = model.eval()
        yield item


@torch.no_grad()
def predict(model: nn.Module, image: np.ndarray, device: torch.device | str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """Every pixel's class ``(H, W)`` and the probability of that class ``(H, W)``."""
    x = with_coordinates(to_tensor(image).unsqueeze(0)).to(device)
    prob = model.eval().to(device)(x).softmax(1)[0]  # (C, H, W)
    conf, cls = prob.max(0)
    return cls.cpu().numpy(), conf.cpu().numpy()
