"""Plotly figures for the Segment Anything pages: SAM's anatomy, where its cost goes, clicks over time."""
from __future__ import annotations

from collections.abc import Mapping

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from core.figures.common import CHAR_EM, LINE_EM, wrap_text
from core.figures.training import log_ticks
from core.promptable.anatomy import Anatomy, Block

__all__ = ["PART_COLORS", "shape_text", "anatomy_diagram", "cost_bars", "clicks_timeline"]

PART_COLORS = {"input": "#e5e7eb", "image_encoder": "#bfdbfe", "prompt_encoder": "#fde68a",
               "mask_decoder": "#bbf7d0", "output": "#fecaca"}
_BORDER = {"input": "#6b7280", "image_encoder": "#1d4ed8", "prompt_encoder": "#b45309",
           "mask_decoder": "#15803d", "output": "#b91c1c"}


def shown_score(value: float, digits: int = 3) -> float:
    """A probability-like score (SAM's IoU guess, a box's score) as a page writes it: clipped to [0, 1] — an
    untrained IoU head can answer −0.0012 or 1.3 — rounded to ``digits``, and never a negative zero."""
    v = float(value)
    return v if v != v else round(min(max(v, 0.0), 1.0), digits) + 0.0  # NaN stays NaN: nothing to clip


def shape_text(shape) -> str:
    return "×".join(str(int(v)) for v in shape)


def _params(n: int) -> str:
    return f"{n / 1e6:.1f} M" if n >= 1e5 else f"{n / 1e3:.1f} k" if n >= 1e3 else str(n)


_TAGS = (("<b>", "</b>"), ("<i>", "</i>"))


def _lines(text: str) -> list[str]:
    """``text``'s lines (split at ``<br>``), each closed in the bold or italic that spans it."""
    out, open_tag = [], None
    for line in text.split("<br>"):
        if open_tag:
            line = open_tag[0] + line
        open_tag = next((t for t in _TAGS if t[0] in line and not line.endswith(t[1])), None)
        out.append(line + open_tag[1] if open_tag else line)
    return out


def _wrap_line(line: str, chars: int) -> list[str] | None:
    """One line of a box's label broken into lines of at most ``chars`` characters: at spaces, and a shape
    (``1×256×64×64``) after a ``×``; ``None`` when a word is longer than a line."""
    tag = next((t for t in _TAGS if line.startswith(t[0]) and line.endswith(t[1])), ("", ""))
    plain = line[len(tag[0]):len(line) - len(tag[1])]
    words = plain.split(" ")
    if "×" in plain and " " not in plain:
        words = [p + "×" for p in plain.split("×")[:-1]] + [plain.split("×")[-1]]
    if max(len(p) for p in words) > chars:
        return None
    out: list[str] = []
    for p in words:
        joiner = "" if out and out[-1].endswith("×") else " "
        if out and len(out[-1]) + len(joiner) + len(p) <= chars:
            out[-1] += joiner + p
        else:
            out.append(p)
    return [tag[0] + o + tag[1] for o in out]


def _fit_labels(labels: list[str], box_w: float, box_h: float, largest: float,
                smallest: int = 9) -> tuple[int, list[str]]:
    """One font size for every box's label (lines apart at ``<br>``) and the labels broken to fit: the
    largest size at which every label, wrapped to its box's width, is no taller than the box."""
    for size in range(int(largest), smallest - 1, -1):
        chars = int(0.92 * box_w / (CHAR_EM * size))
        texts = []
        for label in labels:
            wrapped = [_wrap_line(line, chars) for line in _lines(label)]
            flat = [x for ws in wrapped if ws is not None for x in ws]
            if None in wrapped or len(flat) * size * LINE_EM + 8 > box_h:
                break
            texts.append("<br>".join(flat))
        else:
            return size, texts
    return smallest, labels


def anatomy_diagram(anatomy: Anatomy, step_labels: Mapping[str, str], io_labels: Mapping[str, str],
                    params_label: str = "params", width_px: float = 860, grow: float = 1.0) -> go.Figure:
    """Three lanes, read left to right: the image through the image encoder (top), the prompts through the
    prompt encoder (bottom), both into the mask decoder (middle). Every box shows the real output shape.

    The labels are sized to fit their boxes: ``width_px`` is about how wide the figure is drawn, ``grow`` how
    much :func:`core.figures.common.scale_for_projector` enlarges its fonts afterwards (presentation mode). One
    font for every box; a title wraps at its spaces and a shape after a ``×`` where a box is narrow."""
    image_row = [b for b in anatomy.blocks if b.part == "image_encoder"]
    decoder_row = [b for b in anatomy.blocks if b.part == "mask_decoder" and b.step not in ("decoder_out",)]
    prompt_row = [b for b in anatomy.blocks if b.part == "prompt_encoder"]
    nodes: list[tuple[float, float, str, str, str]] = []  # x, y, part, title, detail

    def block_text(b: Block, shapes=None) -> tuple[str, str]:
        title = step_labels.get(b.step, b.step) + (f" ×{b.repeat}" if b.repeat > 1 else "")
        shown = shapes if shapes is not None else b.shapes[:2]
        return title, "<br>".join(shape_text(s) for s in shown) + f"<br><i>{_params(b.params)} {params_label}</i>"

    nodes.append((0, 2, "input", io_labels["image"], shape_text(anatomy.input_shape)))
    for i, b in enumerate(image_row, start=1):
        nodes.append((i, 2, "image_encoder", *block_text(b, b.shapes[-1:] if b.step == "fpn_neck" else None)))
    embed_x = len(image_row)
    prompt_x0 = embed_x - len(prompt_row)  # the prompt lane ends under the image lane's end
    nodes.append((prompt_x0, 0, "input", io_labels["prompts"], io_labels["prompts_detail"]))
    for i, b in enumerate(prompt_row, start=1):
        nodes.append((prompt_x0 + i, 0, "prompt_encoder", *block_text(b)))
    ups = [b for b in decoder_row if b.step == "upscale"]
    others = [b for b in decoder_row if b.step not in ("upscale", "iou_head")]
    x = embed_x + 1
    for b in others:
        nodes.append((x, 1, "mask_decoder", *block_text(b)))
        x += 1
    if ups:
        merged = Block("mask_decoder", "upscale", ups[0].name, ups[0].kind, len(ups), sum(u.params for u in ups),
                       tuple(u.shapes[0] for u in ups))
        nodes.append((x, 1, "mask_decoder", *block_text(merged, merged.shapes)))
        x += 1
    nodes.append((x, 1, "output", io_labels["masks"],
                  shape_text(anatomy.masks_shape) + "<br>IoU " + shape_text(anatomy.iou_shape)))

    fig = go.Figure()
    w, h = 0.92, 0.8
    right = max(n[0] for n in nodes)
    # pixels of a box once drawn (presentation mode makes the figure 1.3 times taller, its fonts `grow` larger)
    box_w = w * (width_px - 10) / (right + 1.1)
    box_h = h * (470 * min(grow, 1.3) - 15) / 3.0
    size, texts = _fit_labels([f"<b>{title}</b><br>{detail}" for *_, title, detail in nodes], box_w, box_h,
                              largest=12 * grow)
    for (nx, ny, part, *_), text in zip(nodes, texts):
        fig.add_shape(type="rect", x0=nx - w / 2, x1=nx + w / 2, y0=ny - h / 2, y1=ny + h / 2,
                      fillcolor=PART_COLORS[part], line=dict(color=_BORDER[part], width=2), layer="below")
        fig.add_annotation(x=nx, y=ny, text=text, showarrow=False, font=dict(size=size / grow, color="#111827"))

    def arrow(x0, y0, x1, y1):
        fig.add_annotation(x=x1, y=y1, ax=x0, ay=y0, xref="x", yref="y", axref="x", ayref="y", text="",
                           showarrow=True, arrowhead=3, arrowsize=1.2, arrowwidth=1.6, arrowcolor="#374151")

    by_row: dict[int, list[float]] = {}
    for nx, ny, *_ in nodes:
        by_row.setdefault(ny, []).append(nx)
    for row, xs in by_row.items():
        xs = sorted(xs)
        for a, b in zip(xs, xs[1:]):
            arrow(a + w / 2, row, b - w / 2, row)
    first_decoder = embed_x + 1
    arrow(embed_x + w / 4, 2 - h / 2, first_decoder - w / 4, 1 + h / 2)  # the image embedding, computed once
    arrow(embed_x + w / 4, 0 + h / 2, first_decoder - w / 4, 1 - h / 2)  # the prompt tokens, per click
    fig.add_annotation(x=embed_x + 0.5, y=1.55, text=io_labels["once"], showarrow=False, xanchor="left",
                       font=dict(size=12, color=_BORDER["image_encoder"]))
    fig.add_annotation(x=embed_x + 0.5, y=0.45, text=io_labels["per_click"], showarrow=False, xanchor="left",
                       font=dict(size=12, color=_BORDER["prompt_encoder"]))
    fig.update_xaxes(visible=False, range=[-0.55, right + 0.55])
    fig.update_yaxes(visible=False, range=[-0.5, 2.5], scaleanchor=None)
    fig.update_layout(height=470, margin=dict(l=5, r=5, t=10, b=5), plot_bgcolor="white", showlegend=False)
    return fig


def cost_bars(anatomy: Anatomy, labels: Mapping[str, str], width_px: float = 860, grow: float = 1.0) -> go.Figure:
    """Parameters and GFLOPs of the image encoder against the prompt encoder + mask decoder (log scale when
    they differ by more than 20 times, as in the published models).

    Each panel's title wraps to half of ``width_px`` at the size it has once presentation mode has enlarged the
    fonts ``grow`` times."""
    names = [labels["image_encoder"], labels["prompt_and_decoder"]]
    params = [anatomy.params["image_encoder"] / 1e6,
              (anatomy.params["prompt_encoder"] + anatomy.params["mask_decoder"]) / 1e6]
    flops = [anatomy.flops["image_encoder"] / 1e9, anatomy.flops["prompt_and_decoder"] / 1e9]
    colors = [_BORDER["image_encoder"], _BORDER["mask_decoder"]]
    # one row of names at the left, both panels beside it; a log axis ticks at 1, 2, 5 × 10ⁿ only
    titles = [wrap_text(labels[k], width_px / 2 - 40, 16 * grow) for k in ("params_title", "flops_title")]
    lines = max(t.count("<br>") + 1 for t in titles)
    fig = make_subplots(rows=1, cols=2, subplot_titles=titles, shared_yaxes=True, horizontal_spacing=0.06)
    for col, values, unit in ((1, params, "M"), (2, flops, "GFLOPs")):
        fig.add_trace(go.Bar(y=names, x=values, orientation="h", marker_color=colors, cliponaxis=False,
                             text=[f"{v:,.3g} {unit}" for v in values], textposition="auto"), row=1, col=col)
        if max(values) > 20 * max(min(values), 1e-12):  # very unequal: a log axis keeps the small bar visible
            ticks, span = log_ticks([v for v in values if v > 0])
            fig.update_xaxes(type="log", tickmode="array", tickvals=ticks, tickformat="~g", range=span,
                             row=1, col=col)
    top = round(lines * 16 * grow * LINE_EM + 14)  # the titles' lines at their final size
    fig.update_layout(height=200 + top, margin=dict(l=10, r=10, t=top, b=10), showlegend=False)
    return fig


def clicks_timeline(encoder_s: float, click_s: float, labels: Mapping[str, str], clicks: int = 20) -> go.Figure:
    """Total waiting time after n clicks: re-encoding the image each time against encoding it once."""
    n = list(range(1, clicks + 1))
    without = [k * (encoder_s + click_s) for k in n]
    cached = [encoder_s + k * click_s for k in n]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=n, y=without, mode="lines+markers", name=labels["without"],
                             line=dict(color="#b91c1c")))
    fig.add_trace(go.Scatter(x=n, y=cached, mode="lines+markers", name=labels["with"], line=dict(color="#15803d")))
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=10, b=10), xaxis_title=labels["x"],
                      yaxis_title=labels["y"], legend=dict(orientation="h", y=1.12))
    return fig
