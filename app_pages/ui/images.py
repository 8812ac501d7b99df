"""The one image picker: a sample picture drawn by the app, or the user's upload.

Two families of pages use it, each with its own samples, words and upload size (a :class:`Picker`):
:data:`PHOTOS` for the "Your images" pages (segment_photo, instances, pose_photo; words in
``photo_common.toml``) and :data:`PICTURES` for the Segment Anything pages (sam, sam2_video, grounded_sam;
words in ``sam_common.toml``). Widget keys carry the page's prefix, as the page addresses and tests know
them: ``<prefix>_source`` (sample or upload), ``<prefix>_sample``, ``<prefix>_upload``. A decoded upload
is kept in ``<prefix>_uploaded`` for this session, so a file that cannot be read leaves the previous one
in place, and a rerun does not decode it again.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import streamlit as st

from app_pages.ui import common
from core.data.scenes import make_scene
from core.data.streets import make_street
from core.images import ImageError, load_image
from core.promptable import samples

IMAGE_TYPES = ["png", "jpg", "jpeg", "webp", "bmp", "tif", "tiff", "gif"]

# name → how the sample is drawn (the names are in page addresses: keep them)
_SAMPLES = {
    "street_1": lambda: make_street(3, (270, 360))[0],
    "street_2": lambda: make_street(11, (270, 360))[0],
    "pets": lambda: make_scene(270, 360).image,
    "landscape": lambda: samples.landscape(384, 512).image,
    "animals": lambda: make_scene(384, 512).image,
    "street": lambda: make_street(11, (384, 512))[0],
}


@dataclass(frozen=True)
class Picker:
    words: str  # the lessons file with source, source_*, upload, upload_first, bad_image, sample, sample_<name>
    samples: tuple[str, ...]  # keys of _SAMPLES, the first is the default
    max_side: int  # an upload is shrunk to this longest side
    upload_help: bool = False  # the words have an ``upload_help`` tooltip


PHOTOS = Picker("photo_common", ("street_1", "street_2", "pets"), 640, upload_help=True)
PICTURES = Picker("sam_common", ("landscape", "animals", "street"), 1024)


@dataclass(frozen=True)
class Picked:
    image: np.ndarray  # (H, W, 3) uint8
    id: str  # "s:<sample>" or "u<digest of the file>": what a cache keys on
    sample: str | None  # the sample's name, or None for an upload


@st.cache_data(max_entries=8, show_spinner=False)
def sample(name: str) -> np.ndarray:
    """A sample picture, drawn by code."""
    return _SAMPLES[name]()


def pick_image(prefix: str, picker: Picker) -> Picked:
    """A sample or the user's upload. An unreadable file is refused with the reason; the last good one stays."""
    W = common.texts(picker.words)
    source = common.choice(st.segmented_control, W("source"), ["sample", "upload"], key=f"{prefix}_source",
                           format_func=lambda k: W(f"source_{k}"))
    if source == "upload":
        upload = st.file_uploader(W("upload"), type=IMAGE_TYPES, key=f"{prefix}_upload",
                                  help=W("upload_help") if picker.upload_help else None)
        refused = False
        if upload is not None:
            token = (upload.file_id, upload.size)
            if st.session_state.get(f"{prefix}_upload_token") != token:
                data = upload.getvalue()
                try:
                    image = load_image(data, max_side=picker.max_side)
                    st.session_state[f"{prefix}_uploaded"] = (image, "u" + hashlib.sha1(data).hexdigest()[:16])
                    st.session_state[f"{prefix}_upload_token"] = token
                except ImageError as err:
                    st.error(W("bad_image", reason=common.image_error(err)))
                    refused = True
        kept = st.session_state.get(f"{prefix}_uploaded")
        if kept is not None:
            return Picked(kept[0], kept[1], None)
        if not refused:
            st.info(W("upload_first"))
    name = common.choice(st.selectbox, W("sample"), list(picker.samples), key=f"{prefix}_sample",
                         format_func=lambda k: W(f"sample_{k}"))
    return Picked(sample(name), f"s:{name}", name)
