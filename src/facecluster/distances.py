"""The one pairwise-distance helper every stage uses: L2 normalisation and Euclidean distance matrices."""
from __future__ import annotations

import numpy as np


def l2_normalize(X: np.ndarray) -> np.ndarray:
    """Rows scaled to unit Euclidean norm (zero rows stay zero). (n, d) → (n, d)."""
    X = np.asarray(X, np.float64)
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms > 0, norms, 1.0)


def pairwise(X: np.ndarray) -> np.ndarray:
    """(n, n) Euclidean distances of the rows of X."""
    X = np.asarray(X, np.float64)
    sq = (X * X).sum(1)
    return np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * X @ X.T, 0.0))
