"""Training, live and from the command line.

* :mod:`core.training.loop` — the loop as a generator of metrics (one loop for the page, the command
  line and the tests), the training configuration, checkpoints in safetensors with a JSON header;
* :mod:`core.training.runs` — a run in a background thread that a page can start, pause, step and stop;
* :mod:`core.training.pose` — the same loop for keypoint heatmaps (the pose case study) and the race of
  HRNet against an hourglass;
* :mod:`core.training.scribbles` — painted strokes to a sparse label map, and a small network trained on
  those pixels alone.

``python -m core.train`` (the file :mod:`core.train`) is the command line of :mod:`core.training.loop`.
"""
