"""The numbers every part of the app agrees on: the street classes and their colours, the label that
means "not labelled", and the statistics pretrained backbones expect their inputs normalised with.

One home for each, so a mask drawn on the pixelwise page, a scene the training loop draws, a
checkpoint's header and a metric's ``ignore_index`` always mean the same thing.
"""
from __future__ import annotations

import numpy as np

# The lecture's labelled street (its grid, the scenes the app draws for training, the checkpoints'
# headers): 0 background, 1 person, 2 purse, 3 plants/grass, 4 sidewalk, 5 building.
STREET_CLASSES = ("background", "person", "purse", "plants/grass", "sidewalk", "building")
# One colour per street class, chosen to stay apart on a projector (the lecture's legend has none).
STREET_COLORS = ("#1f2937", "#dc2626", "#facc15", "#16a34a", "#9ca3af", "#92400e")
# The same colours as an (C, 3) uint8 array, for painting masks.
STREET_PALETTE = np.array([[int(c[k:k + 2], 16) for k in (1, 3, 5)] for c in STREET_COLORS], dtype=np.uint8)

# The label of pixels no loss or metric counts: unpainted scribble pixels, PASCAL VOC's object borders.
IGNORE_INDEX = 255

# ImageNet's per-channel mean and standard deviation (RGB, inputs in [0, 1]): every pretrained backbone
# here was trained on inputs normalised with these.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
