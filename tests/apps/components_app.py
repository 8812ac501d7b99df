"""A tiny app that mounts the shared browser components, for the real-browser tests."""
import numpy as np
import streamlit as st

from app_pages.ui.components import image_click, paint
from core.training.scribbles import rasterize

st.title("components")
image = np.zeros((60, 120, 3), np.uint8)
image[:, 60:] = 200
mode = st.radio("mode", ["point", "box"], horizontal=True, key="mode")
event = image_click(image, key="clicker", mode=mode, width=480)
if event:
    st.session_state["last_event"] = event
st.write("event", st.session_state.get("last_event"))
strokes = paint(image, key="painter", label=2, color="#ff0000", brush=6, width=480)
labels = rasterize(strokes, image.shape[:2])
st.write(f"painted pixels: {int((labels == 2).sum())}")
