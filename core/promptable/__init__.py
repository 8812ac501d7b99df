r"""Promptable segmentation: SAM, SAM 2, Grounding DINO + SAM, and SAM 3, on Hugging Face ``transformers``.

The models of the lecture's last part do not have a fixed list of classes. They segment *whatever the
user points at*:

* **SAM** (Kirillov et al., "Segment Anything", 2023) splits the work in three. A heavy **image encoder**
  (a ViT) turns the image, resized to 1024 pixels, into an embedding of :math:`256 \times 64 \times 64`
  numbers, once. A tiny **prompt encoder** turns clicks and boxes into a few 256-dimensional tokens, and a
  light **mask decoder** (a two-way transformer between those tokens and the embedding) returns three
  candidate masks with a predicted IoU for each, because one click is ambiguous (a shirt, the person,
  the crowd). Only the last two run again after each click, so a click costs milliseconds once the
  embedding is cached (:class:`~core.promptable.segment.EmbeddingCache`).
* **SAM 2** (Ravi et al., "SAM 2: Segment Anything in Images and Videos", 2024) uses a hierarchical
  encoder and adds a **memory**: the masks already predicted on earlier frames are encoded and attended
  to, so a prompt on one frame follows the object through a video (:mod:`~core.promptable.video`).
* **Grounded SAM** (Ren et al., "Grounded SAM", 2024) chains an open-vocabulary detector, **Grounding
  DINO** (Liu et al., 2023), which turns a sentence into boxes, with SAM, which turns each box into a mask
  (:mod:`~core.promptable.grounded`). **SAM 3** (Carion et al., "SAM 3: Segment Anything with Concepts",
  2025) takes the noun phrase itself as a prompt.

Weights come from the Hugging Face cache, a folder, or a download when online (:mod:`core.zoo.weights`).
Without them, :mod:`~core.promptable.tiny` builds the same architectures, small and randomly initialised:
their masks are meaningless, but the processors, tensor shapes, caches and timings are the real ones.
"""
