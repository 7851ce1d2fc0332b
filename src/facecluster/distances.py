"""The one pairwise-distance helper the stages use: L2 normalisation and Euclidean distance matrices.

(Two places keep their own form for a reason: learn/mining.py works on PyTorch tensors on
the training device, cluster/knn.py streams blocks for millions of rows.)
"""
from __future__ import annotations

import numpy as np

# How many of a network's L2-normalised distances make one of dlib's: the few fixed distances of the stages (fallback
# stop distances, the clothing cue's limits, the fixed-threshold linkages) are written in dlib's units and scaled by
# this. SFace: the median ratio, over the dev suite's clips, of the stop distance the rule calibrated on each clip with
# SFace to the one with dlib (benchmarks/network_scale.py → results/network_scale.md: 3.94 over 10 clips, range
# 3.03–4.38). Vectors of an unknown network (``cluster_embeddings`` on a user's own) keep dlib's units.
NETWORK_SCALE = {"dlib": 1.0, "sface": 3.9}


def distance_scale(network: str | None) -> float:
    """How many of ``network``'s L2-normalised distances make one of dlib's (1.0 for None or an unknown network)."""
    return NETWORK_SCALE.get(network or "dlib", 1.0)


def l2_normalize(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit Euclidean norm (zero rows stay zero). (n, d) → (n, d) float64."""
    X = np.asarray(X, np.float64)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms > 0, norms, 1.0)


def pairwise(X: np.ndarray, Y: np.ndarray | None = None, *, squared: bool = False) -> np.ndarray:
    """(n, m) Euclidean (or squared Euclidean) distances between the rows of X (n, d) and Y (m, d; default X), float64."""
    from scipy.spatial.distance import cdist  # here, not at start-up: ~0.4 s of CPU

    X = np.asarray(X, np.float64)
    Y = X if Y is None else np.asarray(Y, np.float64)
    return cdist(X, Y, "sqeuclidean" if squared else "euclidean")
