"""Nearest neighbours without an n×n matrix.

Exact search runs in row blocks (memory O(block × n)); above ``exact_limit`` rows
an approximate index from faiss (inverted lists over k-means cells, ``nprobe``
cells searched per query) is used. faiss was chosen over pynndescent: a single
wheel with no JIT compiler behind it, multi-threaded search, and an exact mode
to check the approximate one against.
"""
from __future__ import annotations

import numpy as np

from facecluster.errors import MissingDependencyError

BLOCK = 2048


def _faiss():
    try:
        import faiss
    except ImportError:
        raise MissingDependencyError("approximate neighbours need faiss: pip install faiss-cpu") from None
    return faiss


def knn_exact(X: np.ndarray, k: int, block: int = BLOCK) -> tuple[np.ndarray, np.ndarray]:
    """k nearest other rows of each row: indices (n, k) int64 and Euclidean distances (n, k) float32."""
    X = np.ascontiguousarray(X, np.float32)
    n = len(X)
    k = min(k, n - 1)
    sq = (X * X).sum(axis=1)
    idx = np.empty((n, k), np.int64)
    dist = np.empty((n, k), np.float32)
    for start in range(0, n, block):
        stop = min(start + block, n)
        d2 = sq[start:stop, None] + sq[None, :] - 2.0 * (X[start:stop] @ X.T)
        d2[np.arange(stop - start), np.arange(start, stop)] = np.inf
        part = np.argpartition(d2, k - 1, axis=1)[:, :k] if k < n - 1 else np.argsort(d2, axis=1)[:, :k]
        pd = np.take_along_axis(d2, part, axis=1)
        order = np.lexsort((part, pd), axis=1)
        idx[start:stop] = np.take_along_axis(part, order, axis=1)
        dist[start:stop] = np.sqrt(np.maximum(np.take_along_axis(pd, order, axis=1), 0))
    return idx, dist


def nearest_distances(X: np.ndarray, rows: np.ndarray, block: int = 32) -> np.ndarray:
    """Exact Euclidean distance (len(rows),) float64 from each of ``rows`` to its nearest other row of X (n, d).

    O(len(rows) · n · d) time, O(block · n) memory: for a sample of rows of a large X."""
    X = np.ascontiguousarray(X, np.float32)
    sq = (X * X).sum(axis=1)
    out = np.empty(len(rows))
    for start in range(0, len(rows), block):
        part = rows[start:start + block]
        d2 = sq[part, None] + sq[None, :] - 2.0 * (X[part] @ X.T)
        d2[np.arange(len(part)), part] = np.inf
        out[start:start + block] = np.sqrt(np.maximum(d2.min(axis=1), 0.0))
    return out


def knn_approx(X: np.ndarray, k: int, *, nprobe: int = 8, random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Approximate k nearest other rows with faiss IVF-Flat; same outputs as :func:`knn_exact`."""
    faiss = _faiss()
    X = np.ascontiguousarray(X, np.float32)
    n, d = X.shape
    nlist = int(max(1, min(4 * np.sqrt(n), n // 39)))
    quantizer = faiss.IndexFlatL2(d)
    index = faiss.IndexIVFFlat(quantizer, d, nlist)
    rng = np.random.default_rng(random_state)
    train = X[rng.choice(n, size=min(n, 64 * nlist), replace=False)]
    index.cp.seed = int(random_state)
    index.train(train)
    index.add(X)
    index.nprobe = nprobe
    d2, idx = index.search(X, k + 1)
    # Drop each row itself (usually the first hit, but duplicates may come first).
    out_i = np.empty((n, k), np.int64)
    out_d = np.empty((n, k), np.float32)
    for_self = idx == np.arange(n)[:, None]
    keep = ~for_self
    keep[keep.sum(axis=1) > k, -1] = False  # when self was not found, drop the last
    out_i[:] = idx[keep].reshape(n, k)
    out_d[:] = np.sqrt(np.maximum(d2[keep].reshape(n, k), 0))
    return out_i, out_d


def first_neighbours(
    X: np.ndarray, cannot_link: np.ndarray | None = None, *, exact_limit: int = 50_000, k: int = 10, random_state: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest allowed other row of each row: (n,) int64 (−1 where none) and (n,) float32 distance.

    cannot_link: (m, 2) pairs that may not be each other's neighbour; a row's
    neighbour is then the nearest allowed among its k nearest (−1 if all k are banned).
    """
    n = len(X)
    if n < 2:
        return np.full(n, -1, np.int64), np.full(n, np.inf, np.float32)
    kk = min(n - 1, k if cannot_link is not None and len(cannot_link) else 1)
    idx, dist = knn_exact(X, kk) if n <= exact_limit else knn_approx(X, kk, random_state=random_state)
    if cannot_link is None or not len(cannot_link):
        return idx[:, 0].copy(), dist[:, 0].copy()
    banned: dict[int, set[int]] = {}
    for a, b in np.asarray(cannot_link, np.int64).reshape(-1, 2):
        banned.setdefault(int(a), set()).add(int(b))
        banned.setdefault(int(b), set()).add(int(a))
    nb = idx[:, 0].copy()
    nd = dist[:, 0].copy()
    for i, bad in banned.items():
        allowed = [c for c in range(idx.shape[1]) if int(idx[i, c]) not in bad]
        if allowed:
            nb[i], nd[i] = idx[i, allowed[0]], dist[i, allowed[0]]
        else:
            nb[i], nd[i] = -1, np.inf
    return nb, nd
