"""The one pairwise-distance helper the stages use: L2 normalisation and Euclidean distance matrices.

(Two places keep their own form for a reason: learn/mining.py works on PyTorch tensors on
the training device, cluster/knn.py streams blocks for millions of rows.)
"""
from __future__ import annotations

import numpy as np


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
