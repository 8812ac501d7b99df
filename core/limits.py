"""What one session may keep on the server, stated once, for the pages and the README.

Forty students share one server process: whatever a session keeps (models it trained and kept, checkpoints
it uploaded, runs it compares) lives in that process's memory until the session ends. Each kind has a count
that a page enforces before it adds one more; at the limit the page says what to remove and offers to remove
it, and nothing the student made is lost without their choice. Models shared by every session (pretrained
networks, SAM's image embeddings) are bounded by their caches' own sizes, not here. No Streamlit here.
"""
from __future__ import annotations

from collections.abc import Mapping

KEPT_MODELS = 4  # models kept from "Train live" for the "Your images" pages (float16 checkpoints, 1–8 MB each)
UPLOADED_CHECKPOINTS = 4  # the app's own checkpoints uploaded on "Segment your photo"
TRAIN_RUNS_COMPARED = 6  # "Train live": the latest runs kept for the comparison
POSE_RUNS_COMPARED = 4  # "Train a pose network": the same
CHECKPOINT_MB = 64  # the largest checkpoint a session may upload (the app's own are under 10 MB)


def has_room(store: Mapping, name: str, limit: int) -> bool:
    """Whether ``name`` may be put in ``store`` without passing ``limit`` entries (replacing one always may)."""
    return name in store or len(store) < limit
