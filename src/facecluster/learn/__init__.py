"""Representation learning on the target video: SSiam and TSiam (Sharma et al., FG 2019), CCL (FG 2020).

A Siamese MLP trained with a contrastive loss on pairs that the data itself
provides — nearest/farthest neighbours (SSiam) or the face tracks (TSiam) — whose
hidden layer, before the ReLU, becomes the feature used for clustering.
"""
from __future__ import annotations

import importlib
from typing import Any

# Names imported on first use, so that `facecluster.learn.variants` does not import PyTorch (a second of start-up).
_WHERE = {"CCL": "ccl", "SSiam": "estimators", "TSiam": "estimators", "mine_ssiam_pairs": "mining",
          "sample_tsiam_pairs": "mining", "SiameseMLP": "siamese", "contrastive_loss": "siamese"}
__all__ = ["CCL", "SSiam", "TSiam", "SiameseMLP", "contrastive_loss", "mine_ssiam_pairs", "sample_tsiam_pairs"]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
