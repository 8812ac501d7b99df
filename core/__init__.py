"""Segmentation Studio's computing package.

Everything that computes lives here, so it can be tested and used from a notebook. Nothing in
``core`` imports Streamlit: the pages in ``app_pages/`` call into it. One home per concept:

* :mod:`core.ops` — the upsampling toolbox, from scratch, with step traces;
* :mod:`core.models` — every network, built by name from one registry;
* :mod:`core.figures` — plotly figures, one module per lecture section;
* :mod:`core.data` — the shared constants, the scenes the app draws, folders of image/mask pairs;
* :mod:`core.zoo` — pretrained models and where their weights come from;
* :mod:`core.training` — the training loop, background runs, pose training, scribbles;
* :mod:`core.promptable` — the Segment Anything family;
* one module per remaining lecture idea: :mod:`core.classification` (the recap),
  :mod:`core.pixelwise` (a class for every pixel), :mod:`core.cost` (why not stay at full resolution),
  :mod:`core.metrics` (scores from a confusion matrix), :mod:`core.architectures` (the architecture
  pages' computations and quizzes), :mod:`core.heatmaps` (keypoints as heatmaps), :mod:`core.analysis`
  (what a model's output on a photo says: confidence, entropy, areas, agreement);
* and the plumbing: :mod:`core.images` (reading uploads, overlays), :mod:`core.device`,
  :mod:`core.lessons` (the words of each page), :mod:`core.quiz` ("check yourself").
"""
