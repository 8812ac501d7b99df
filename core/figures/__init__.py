"""Plotly figures, one module per lecture section; pure functions: numbers and already-translated
labels in, ``go.Figure`` out (the words come from the page's lesson file).

* :mod:`core.figures.common` — what every section shares: the grid heatmap with numbers in its cells,
  number formatting, the projector scaling, the course's hourglass diagram;
* :mod:`core.figures.segmentation` — from classification to segmentation (tasks, pixelwise softmax,
  cost of full resolution, metrics);
* :mod:`core.figures.upsampling` — nearest, bed of nails, bilinear, max unpooling, the transposed
  convolution, the comparison of them all;
* :mod:`core.figures.architectures` — diagrams drawn from live modules, feature maps, shape curves;
* :mod:`core.figures.pose` — heatmaps, skeletons, the pose training curves;
* :mod:`core.figures.photo` — a model's output on your photo (maps, boxes, keypoints);
* :mod:`core.figures.training` — live training curves, IoU per class, the confusion matrix;
* :mod:`core.figures.sam` — the Segment Anything section (the anatomy diagram, timings, costs);
* :mod:`core.figures.localize` — any figure in the reader's language (Romanian decimal commas).
"""
