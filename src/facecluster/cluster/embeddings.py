"""``cluster_embeddings``: people from face vectors that the user already has.

Any face network: rows are L2-normalised (cosine order, the way face embeddings are
compared), and the stop distance is calibrated on the vectors themselves
(:mod:`facecluster.cluster.stop_rule`), so no distance scale of one network is
assumed. Time and memory grow about linearly with the number of faces
(:class:`~facecluster.cluster.graph.GraphAverageLinkage`); up to ``DENSE_LIMIT`` faces
the exact dense average linkage is used, as for a video's tracks.
"""
from __future__ import annotations

import numpy as np

from facecluster.errors import ParameterError

METHODS = ("auto", "average", "graph", "finch")
# Up to this many faces "auto" runs the dense average linkage (O(n²) memory, a few seconds at
# 2,000 faces on 2 cores); it matches the graph within 0.004 B-cubed F on the labelled sets
# (benchmarks/results/photo_scale.md) and keeps small collections' results as they were.
DENSE_LIMIT = 2_000


def check_embeddings(X, cannot_link=None) -> tuple[np.ndarray, np.ndarray]:
    """X as (n, d) float32 with unit rows and cannot_link as (m, 2) int64, or ParameterError naming the problem."""
    X = np.asarray(X)
    if X.ndim != 2 or (len(X) and X.shape[1] == 0):
        raise ParameterError(f"embeddings must be a 2-d array of shape (faces, dimensions) (here: shape {X.shape})")
    if not np.issubdtype(X.dtype, np.number):
        raise ParameterError(f"embeddings must be numbers (here: dtype {X.dtype})")
    X = X.astype(np.float32)
    bad = ~np.isfinite(X).all(axis=1)
    if bad.any():
        raise ParameterError(f"embeddings hold NaN or infinite values (row {int(np.flatnonzero(bad)[0])})")
    norms = np.linalg.norm(X, axis=1)
    if (norms == 0).any():
        raise ParameterError(f"embeddings hold an all-zero row (row {int(np.flatnonzero(norms == 0)[0])})")
    pairs = np.zeros((0, 2), np.int64) if cannot_link is None else np.asarray(cannot_link)
    if pairs.size and (pairs.ndim != 2 or pairs.shape[1] != 2 or not np.issubdtype(pairs.dtype, np.integer)):
        raise ParameterError(f"cannot_link must be integer pairs of shape (m, 2) (here: shape {pairs.shape}, dtype {pairs.dtype})")
    pairs = pairs.astype(np.int64).reshape(-1, 2)
    if len(pairs) and (pairs.min() < 0 or pairs.max() >= len(X)):
        raise ParameterError(f"cannot_link holds row numbers outside 0..{len(X) - 1}")
    return X / norms[:, None], pairs


def by_size(labels: np.ndarray) -> np.ndarray:
    """Relabel (n,) cluster ids as 0..k-1, largest cluster first (ties: the cluster with the earlier first row)."""
    labels = np.asarray(labels)
    if not len(labels):
        return np.zeros(0, np.int64)
    ids, first, sizes = np.unique(labels, return_index=True, return_counts=True)
    order = np.lexsort((first, -sizes))
    rank = np.empty(len(ids), np.int64)
    rank[order] = np.arange(len(ids))
    return rank[np.searchsorted(ids, labels)]


def make_embedding_clusterer(n: int, *, n_clusters: int | None = None, method: str = "auto",
                             distance_threshold: float | str = "auto", fallback_threshold: float | None = None,
                             random_state: int = 0):
    """The estimator ``method`` names for n faces (``auto``: dense average linkage up to ``DENSE_LIMIT``, the graph beyond)."""
    from facecluster.cluster.agglomerative import ConstrainedAgglomerative
    from facecluster.cluster.finch import FINCH
    from facecluster.cluster.graph import GraphAverageLinkage

    if method not in METHODS:
        raise ParameterError(f"unknown method {method!r} (choose from: {', '.join(METHODS)})")
    if n_clusters is not None and n_clusters < 1:
        raise ParameterError(f"n_clusters must be >= 1 (here: n_clusters={n_clusters})")
    stop = None if n_clusters is not None else distance_threshold
    fallback = fallback_threshold if stop == "auto" else None
    if method == "auto":
        method = "average" if n <= DENSE_LIMIT else "graph"
    if method == "average":
        return ConstrainedAgglomerative(n_clusters=n_clusters, distance_threshold=stop, fallback_threshold=fallback)
    if method == "graph":
        return GraphAverageLinkage(n_clusters=n_clusters, distance_threshold=stop, fallback_threshold=fallback,
                                   random_state=random_state)
    from facecluster.cluster.registry import DEFAULTS

    if n_clusters is not None:
        return FINCH(n_clusters=n_clusters, random_state=random_state)
    return FINCH(level=int(DEFAULTS["finch"]), random_state=random_state)


def cluster_embeddings(X, *, cannot_link=None, n_clusters: int | None = None, method: str = "auto",
                       distance_threshold: float | str = "auto", random_state: int = 0) -> np.ndarray:
    """Group face embeddings into people.

    X: (n, d) float array, one face per row, from any face network (rows are L2-normalised
    here). cannot_link: (m, 2) int row pairs that are different people (faces of one photo,
    tracks on screen together). n_clusters: the number of people if known; otherwise the
    stop distance is calibrated on X (``distance_threshold='auto'``) or given (a Euclidean
    distance between unit vectors). method: ``auto`` (exact average linkage up to
    ``DENSE_LIMIT`` faces, average linkage on a nearest-neighbour graph beyond, about linear
    in n), ``average``, ``graph`` or ``finch``. Deterministic for a given ``random_state``.

    Returns (n,) int64 labels: 0 is the person with most faces, then 1, ...

    >>> cluster_embeddings(vectors, cannot_link=[(0, 1)])  # doctest: +SKIP
    """
    X, pairs = check_embeddings(X, cannot_link)
    model = make_embedding_clusterer(len(X), n_clusters=None if n_clusters is None else min(n_clusters, max(len(X), 1)),
                                     method=method, distance_threshold=distance_threshold, random_state=random_state)
    if len(X) == 0:
        return np.zeros(0, np.int64)
    return by_size(model.fit_predict(X, cannot_link=pairs))
