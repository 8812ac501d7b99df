"""The figure of classroom mode: how the class answered the question the teacher asked."""
from __future__ import annotations

import html

import plotly.graph_objects as go

RIGHT, WRONG = "#15803d", "#b91c1c"


def answers_chart(tally, labels: dict[str, str], right_word: str, wrong_word: str) -> go.Figure:
    """One bar per distinct answer (right answers first, then the most given), green when right, red when not.

    ``tally`` is a :class:`core.classroom.Tally`; ``labels`` maps each kept answer to how the page shows it.
    Labels are escaped: nothing a student sent is ever drawn as markup."""
    order = sorted(tally.answers, key=lambda a: (a not in tally.right_answers, -tally.answers[a], labels.get(a, a)))
    names = [html.escape(labels.get(a, a)) for a in order]
    counts = [tally.answers[a] for a in order]
    right = [a in tally.right_answers for a in order]
    fig = go.Figure(go.Bar(
        x=names, y=counts, text=[str(c) for c in counts], textposition="outside", cliponaxis=False,
        marker_color=[RIGHT if r else WRONG for r in right],
        customdata=[right_word if r else wrong_word for r in right],
        hovertemplate="%{x}: %{y} (%{customdata})<extra></extra>"))
    top = max(counts, default=1)
    fig.update_layout(height=240, margin={"l": 40, "r": 10, "t": 20, "b": 40}, showlegend=False, bargap=0.35,
                      yaxis={"range": [0, top * 1.25 + 0.5], "dtick": max(1, round(top / 5)), "title": None},
                      xaxis={"type": "category", "title": None})
    return fig
