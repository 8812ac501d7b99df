"""Training, live and from the command line.

* :mod:`core.training.loop` — the loop as a generator of metrics (one loop for the page, the command
  line and the tests), the training configuration, checkpoints in safetensors with a JSON header;
* :mod:`core.training.workers` — runs in worker processes fed by a queue with a limit, pause/step/stop as
  messages, and the registry that keeps a browser's runs under the token in its address;
* :mod:`core.training.runs` — the same interface for a run in a background thread (for a job that cannot be
  pickled), and the snapshot both give the page;
* :mod:`core.training.pose` — the same loop for keypoint heatmaps (the pose case study) and the race of
  HRNet against an hourglass;
* :mod:`core.training.scribbles` — painted strokes to a sparse label map, and a small network trained on
  those pixels alone.

``python -m core.train`` (the file :mod:`core.train`) is the command line of :mod:`core.training.loop`.
"""
