r"""Keypoints as heatmaps: a point becomes a small Gaussian hill, and the hill's top becomes a point again.

Pose networks such as HRNet do not regress coordinates directly. For each of the K joints they predict a
heatmap at a reduced resolution (stride :math:`s`, e.g. 4), trained by per-pixel regression (MSE)
towards a Gaussian centred on the true joint:

.. math:: G_k(u, v) = \exp\!\left(-\frac{(u - x_k/s)^2 + (v - y_k/s)^2}{2\sigma^2}\right)

Coordinates convention: heatmap cell :math:`(v, u)` sits over input pixel :math:`(s\,v, s\,u)`, so a
joint at input :math:`x` is at heatmap :math:`x/s`, and decoding multiplies by :math:`s` again.

Decoding takes the hill's top. ``argmax`` returns the best *cell*, so its error grows with the stride
(up to :math:`s/2` per axis). ``subpixel`` refines the argmax with a second-order Taylor expansion of the
log-heatmap around it (the approach of Zhang et al., "Distribution-Aware Coordinate Representation for
Human Pose Estimation", CVPR 2020): for a Gaussian the log is exactly quadratic, so the refined point
is the true centre. Where the Hessian is unusable (a flat or clipped top) it falls back to the classic
quarter-cell step towards the higher neighbour used by the HRNet code. ``quarter`` applies that
classic step alone, for comparison.
"""
from __future__ import annotations

import numpy as np
import torch

METHODS = ("argmax", "subpixel", "quarter")


def encode(keypoints, heatmap_size: tuple[int, int], stride: float, sigma: float = 2.0):
    """Target heatmaps for ``keypoints`` ``(K, 2)`` or ``(K, 3)`` = (x, y[, visibility]) in input pixels.

    Returns ``(heatmaps (K, H, W) float32, weights (K,) float32)``: a joint that is not visible
    (visibility 0) or whose hill lies wholly outside the map gets an all-zero heatmap and weight 0, so
    the loss ignores it.
    """
    kp = torch.as_tensor(np.asarray(keypoints, dtype=np.float32))
    if kp.ndim != 2 or kp.shape[1] not in (2, 3):
        raise ValueError(f"keypoints must be shaped (K, 2) or (K, 3), got {tuple(kp.shape)}")
    if stride <= 0 or sigma <= 0:
        raise ValueError("stride and sigma must be positive")
    h, w = heatmap_size
    visible = kp[:, 2] > 0 if kp.shape[1] == 3 else torch.ones(len(kp), dtype=torch.bool)
    mu = kp[:, :2] / stride  # (K, 2) centres in heatmap cells
    v = torch.arange(h, dtype=torch.float32).view(1, h, 1)
    u = torch.arange(w, dtype=torch.float32).view(1, 1, w)
    d2 = (u - mu[:, 0].view(-1, 1, 1)) ** 2 + (v - mu[:, 1].view(-1, 1, 1)) ** 2  # (K, H, W)
    heat = torch.exp(-d2 / (2 * sigma**2))
    reach = 3 * sigma  # beyond 3σ the hill is below 1 %: a joint that far outside leaves no trace
    inside = (mu[:, 0] > -reach) & (mu[:, 0] < w - 1 + reach) & (mu[:, 1] > -reach) & (mu[:, 1] < h - 1 + reach)
    weights = (visible & inside).float()
    heat = heat * weights.view(-1, 1, 1)
    heat[heat < 1e-6] = 0.0  # no long invisible tails in the target
    return heat, weights


def _taylor_offsets(logh: torch.Tensor, iy: torch.Tensor, ix: torch.Tensor):
    """Newton step ``-H⁻¹ g`` of the log-heatmap at interior points; NaN where the Hessian is unusable."""
    K, h, w = logh.shape
    k = torch.arange(K)
    ok = (ix >= 1) & (ix <= w - 2) & (iy >= 1) & (iy <= h - 2)
    x, y = ix.clamp(1, w - 2), iy.clamp(1, h - 2)
    L = lambda dy, dx: logh[k, y + dy, x + dx]  # noqa: E731
    gx, gy = (L(0, 1) - L(0, -1)) / 2, (L(1, 0) - L(-1, 0)) / 2
    hxx = L(0, 1) - 2 * L(0, 0) + L(0, -1)
    hyy = L(1, 0) - 2 * L(0, 0) + L(-1, 0)
    hxy = (L(1, 1) - L(1, -1) - L(-1, 1) + L(-1, -1)) / 4
    det = hxx * hyy - hxy**2
    good = ok & (det > 1e-9) & (hxx < 0)  # a proper top: negative definite Hessian
    ox = -(hyy * gx - hxy * gy) / det
    oy = -(hxx * gy - hxy * gx) / det
    good &= (ox.abs() <= 1) & (oy.abs() <= 1)  # a step of more than one cell would leave the top
    nan = torch.full_like(ox, float("nan"))
    return torch.where(good, ox, nan), torch.where(good, oy, nan)


def decode(heatmaps, stride: float, method: str = "argmax"):
    """Keypoints from heatmaps ``(K, H, W)`` or ``(N, K, H, W)``.

    Returns ``(coords, confidence)``: coords ``(..., K, 2)`` as (x, y) in input pixels, confidence
    ``(..., K)`` the heatmap's maximum.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method '{method}'; valid methods are {', '.join(METHODS)}")
    hm = torch.as_tensor(np.asarray(heatmaps) if not torch.is_tensor(heatmaps) else heatmaps).float()
    if hm.ndim == 4:
        results = [decode(one, stride, method) for one in hm]
        return torch.stack([c for c, _ in results]), torch.stack([s for _, s in results])
    if hm.ndim != 3:
        raise ValueError(f"heatmaps must be (K, H, W) or (N, K, H, W), got {tuple(hm.shape)}")
    K, h, w = hm.shape
    conf, flat = hm.view(K, -1).max(1)  # (K,)
    iy, ix = flat // w, flat % w
    x, y = ix.float(), iy.float()
    if method != "argmax":
        k = torch.arange(K)
        # The classic step: a quarter cell towards the higher neighbour, on each axis. A top on the
        # border has one neighbour only on that axis, so it is not moved there (as in the HRNet code).
        right = hm[k, iy, (ix + 1).clamp(max=w - 1)] - hm[k, iy, (ix - 1).clamp(min=0)]
        down = hm[k, (iy + 1).clamp(max=h - 1), ix] - hm[k, (iy - 1).clamp(min=0), ix]
        right = torch.where((ix >= 1) & (ix <= w - 2), right, torch.zeros_like(right))
        down = torch.where((iy >= 1) & (iy <= h - 2), down, torch.zeros_like(down))
        qx, qy = x + 0.25 * torch.sign(right), y + 0.25 * torch.sign(down)
        if method == "quarter":
            x, y = qx, qy
        else:
            ox, oy = _taylor_offsets(torch.log(hm.clamp(min=1e-10)), iy, ix)
            x = torch.where(torch.isnan(ox), qx, x + ox)
            y = torch.where(torch.isnan(oy), qy, y + oy)
    coords = torch.stack([x, y], dim=1) * stride  # (K, 2) back in input pixels
    return coords, conf


def mse_loss(pred, target, weights=None) -> torch.Tensor:
    """The per-pixel MSE of pose training, averaged; joints with weight 0 do not count."""
    pred, target = torch.as_tensor(pred).float(), torch.as_tensor(target).float()
    per_joint = ((pred - target) ** 2).flatten(-2).mean(-1)  # (..., K)
    if weights is None:
        return per_joint.mean()
    weights = torch.as_tensor(weights).float()
    return (per_joint * weights).sum() / weights.sum().clamp(min=1) if weights.sum() > 0 else per_joint.sum() * 0


# --- what the heatmap page measures -------------------------------------------------------------------

def quantisation_errors(strides, sigma: float = 2.0, noise: float = 0.0, n: int = 200, seed: int = 0,
                        methods=METHODS, cells: int = 16) -> dict[str, list[float]]:
    """The mean decoding error, in input pixels, of ``n`` random points at each stride, per method.

    Each point is encoded on a ``cells × cells`` heatmap (the image is ``cells · s`` pixels wide), with
    Gaussian ``noise`` of that standard deviation added (a trained network's heatmaps are never clean),
    and decoded back. Points stay 3 cells from the border, so no hill is cut.
    """
    rng = np.random.default_rng(seed)
    unit = rng.uniform(3, cells - 3, size=(n, 2))  # (n, 2) in heatmap cells, the same for every stride
    noise_field = torch.from_numpy(rng.normal(0, 1, size=(n, cells, cells)).astype(np.float32))
    out: dict[str, list[float]] = {m: [] for m in methods}
    for s in strides:
        points = unit * s  # (n, 2) in input pixels
        heat, _ = encode(points, (cells, cells), s, sigma)  # (n, cells, cells): one map per point
        heat = (heat + noise * noise_field).clamp(min=0)
        for m in methods:
            coords, _ = decode(heat, s, m)  # (n, 2)
            out[m].append(float(np.linalg.norm(coords.numpy() - points, axis=1).mean()))
    return out


def shifted_pair(point, offset, heatmap_size: tuple[int, int], stride: int, sigma: float,
                 pred_sigma: float | None = None, amplitude: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
    """A target hill at ``point`` and a "prediction": the hill moved by ``offset`` (input pixels),
    with its own width ``pred_sigma`` and height ``amplitude``; both ``(1, h, w)``."""
    target, _ = encode([list(point)], heatmap_size, stride, sigma)
    moved = [point[0] + offset[0], point[1] + offset[1]]
    pred, _ = encode([moved], heatmap_size, stride, pred_sigma or sigma)
    return pred * amplitude, target


def loss_vs_offset(offsets, sigmas, stride: int = 4, cells: int = 32) -> dict[float, list[float]]:
    """The heatmap MSE of a hill moved sideways by each offset (input pixels), for each target σ (cells).

    It rises, then stays flat once the hills no longer overlap: beyond about 3σ the loss cannot tell
    "a bit wrong" from "far off", and its gradient vanishes — the reason σ cannot be too small.
    """
    centre = cells * stride / 2
    moved = [[centre + float(d), centre] for d in offsets]
    out = {}
    for s in sigmas:  # every offset's hill in one go: (n, h, w) against the one target, an MSE per hill
        target, _ = encode([[centre, centre]], (cells, cells), stride, s)
        preds, _ = encode(moved, (cells, cells), stride, s)
        out[s] = [float(v) for v in ((preds - target) ** 2).flatten(-2).mean(-1)]
    return out
