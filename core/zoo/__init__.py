"""Pretrained models, one module per task.

* :mod:`~core.zoo.weights` — where any model's weights come from (torch's cache, the Hugging Face cache,
  a file or folder the user names, an upload or the app's own checkpoint, a download), and why when none;
* :mod:`~core.zoo.checkpoints` — reading weights files safely, their dialects, the app's own checkpoints;
* :mod:`~core.zoo.runtime` — the input tensor, honest timings, running out of GPU memory;
* :mod:`~core.zoo.semantic` — torchvision's segmentation networks and the app's on a photo;
* :mod:`~core.zoo.detection` — the two-stage detector under Mask R-CNN and Keypoint R-CNN;
* :mod:`~core.zoo.instances` — Mask R-CNN: its objects and masks, and its stages opened up;
* :mod:`~core.zoo.pose` — Keypoint R-CNN and top-down HRNet.

The Segment Anything family (``transformers``) lives in :mod:`core.promptable`; its weights resolve here too.
"""
