"""Pretrained models: where their weights come from (see :mod:`core.zoo.weights`)."""
from core.zoo.weights import KNOWN, WeightsStatus, WeightsUnavailable, cached_file, find, require  # noqa: F401
