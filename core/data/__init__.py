"""Data made by the app's own code, and the constants every part agrees on.

* :mod:`core.data.constants` — the street classes and their colours, the ignore index, ImageNet's
  normalisation;
* :mod:`core.data.scenes` — the computer-vision tasks' scene (sky, grass, tree, dogs, a cat) and the
  lecture's labelled street grid;
* :mod:`core.data.streets` — synthetic street scenes for training, with their masks;
* :mod:`core.data.poses` — synthetic stick figures with their keypoints;
* :mod:`core.data.datasets` — folders of image/mask pairs, Oxford-IIIT Pet and PASCAL VOC.
"""
