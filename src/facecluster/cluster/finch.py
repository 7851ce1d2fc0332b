"""FINCH: clustering by first-neighbour relations (Sarfraz, Sharma, Stiefelhagen, CVPR 2019).

Implemented from the paper. Each item is linked to its first (nearest) neighbour;
the connected components of those links are the clusters of the first partition.
The same step on the clusters' mean vectors gives the next, coarser partition,
and so on until one cluster remains (or nothing links any more): a hierarchy of
partitions with no parameter. For a required number of clusters K, the partition
with the fewest clusters ≥ K is refined by merging one pair at a time — the two
clusters whose mutual first-neighbour distance is smallest — until K remain.

Distances are Euclidean on L2-normalised rows (cosine order, as the paper uses).
Cannot-links: an item's first neighbour is its nearest item it may join, and the
links of a partition are added in order of distance with union-find, skipping any
that would put a cannot-linked pair in one cluster; with no constraints this gives
exactly the components above.

Nearest neighbours come from :mod:`facecluster.cluster.knn`: exact in blocks for up to
``exact_limit`` rows, approximate (faiss) beyond — nothing n×n is ever built there.
"""
from __future__ import annotations

import numpy as np

from facecluster.cluster.knn import first_neighbours
from facecluster.distances import l2_normalize
from facecluster.errors import ParameterError
from facecluster.estimator import ClusterMixin, Estimator


class _Constraints:
    """Cannot-link pairs between current clusters, kept as sets of partner ids."""

    def __init__(self, n: int, pairs: np.ndarray | None) -> None:
        self.partners: dict[int, set[int]] = {}
        if pairs is not None:
            for a, b in np.asarray(pairs, np.int64).reshape(-1, 2):
                if a != b:
                    self.partners.setdefault(int(a), set()).add(int(b))
                    self.partners.setdefault(int(b), set()).add(int(a))

    def __bool__(self) -> bool:
        return bool(self.partners)

    def as_pairs(self) -> np.ndarray:
        pairs = [(a, b) for a, s in self.partners.items() for b in s if a < b]
        return np.asarray(pairs, np.int64).reshape(-1, 2)

    def relabel(self, labels: np.ndarray) -> "_Constraints":
        out = _Constraints(0, None)
        for a, s in self.partners.items():
            la = int(labels[a])
            for b in s:
                lb = int(labels[b])
                out.partners.setdefault(la, set()).add(lb)
                out.partners.setdefault(lb, set()).add(la)
        return out


def _link(n: int, neighbour: np.ndarray, dist: np.ndarray, cons: _Constraints, max_links: int | None = None) -> np.ndarray:
    """Clusters (labels 0..k-1 by first member) from links i—neighbour[i] (−1: none),
    added by increasing distance; ``max_links`` stops after that many merges."""
    parent = np.arange(n)
    banned = {i: set(s) for i, s in cons.partners.items()}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    merges = 0
    for i in np.argsort(dist, kind="stable"):
        j = int(neighbour[i])
        if j < 0:
            continue
        ri, rj = find(int(i)), find(j)
        if ri == rj:
            continue
        if banned and (rj in banned.get(ri, ())):
            continue
        if max_links is not None and merges >= max_links:
            break
        parent[rj] = ri
        merges += 1
        if banned:
            moved = banned.pop(rj, set())
            for other in moved:
                s = banned.setdefault(other, set())
                s.discard(rj)
                s.add(ri)
            if moved:
                banned.setdefault(ri, set()).update(moved)
    roots = np.array([find(i) for i in range(n)])
    _, first_idx, inverse = np.unique(roots, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first_idx))
    return order[inverse].astype(np.int64)


def _means(X: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """(k, d) L2-normalised mean of each cluster's rows (a sparse sum, no n×k dense matrix)."""
    from scipy.sparse import csr_matrix

    member = csr_matrix((np.ones(len(labels), np.float32), (labels, np.arange(len(labels)))), shape=(k, len(labels)))
    return l2_normalize(np.asarray(member @ X))


class FINCH(ClusterMixin, Estimator):
    """First-neighbour clustering (scikit-learn conventions).

    n_clusters: a required number of clusters, or None to pick a level of the
    hierarchy: ``level`` (0 = the finest partition) — negative values count from
    the coarsest. exact_limit: rows up to which neighbours are computed exactly.
    After :meth:`fit`: ``labels_`` (n,), ``n_clusters_``, ``partitions_`` (list of
    (n,) label arrays, finest first).
    """

    def __init__(self, *, n_clusters: int | None = None, level: int = 0, exact_limit: int = 50_000, random_state: int = 0) -> None:
        self.n_clusters = n_clusters
        self.level = level
        self.exact_limit = exact_limit
        self.random_state = random_state

    def fit(self, X: np.ndarray, y=None, *, cannot_link: np.ndarray | None = None) -> "FINCH":
        if self.n_clusters is not None and self.n_clusters < 1:
            raise ParameterError(f"n_clusters must be >= 1 (here: n_clusters={self.n_clusters})")
        X = l2_normalize(np.asarray(X, np.float32)).astype(np.float32)
        n = len(X)
        if n <= 1:
            self.labels_ = np.zeros(n, np.int64)
            self.partitions_ = [self.labels_]
            self.n_clusters_ = n
            return self
        cons = _Constraints(n, cannot_link)
        partitions: list[np.ndarray] = []
        current = np.arange(n)  # item -> cluster of the latest partition
        points, level_cons = X, cons
        while True:
            nb, d = first_neighbours(points, level_cons.as_pairs() if level_cons else None,
                                     exact_limit=self.exact_limit, random_state=self.random_state)
            labels = _link(len(points), nb, d, level_cons)
            k = int(labels.max()) + 1
            if k == len(points):  # nothing linked any more
                break
            current = labels[current]
            partitions.append(current.copy())
            if k <= 1 or (self.n_clusters is not None and k <= self.n_clusters):
                break
            points = _means(X, current, k).astype(np.float32)
            level_cons = cons.relabel(current) if cons else cons
        if not partitions:
            partitions = [np.arange(n)]
        self.partitions_ = partitions
        if self.n_clusters is None:
            labels = partitions[self.level if -len(partitions) <= self.level < len(partitions) else -1]
        else:
            labels = self._refine(X, partitions, cons)
        self.labels_ = labels
        self.n_clusters_ = int(labels.max()) + 1
        return self

    def _refine(self, X: np.ndarray, partitions: list[np.ndarray], cons: _Constraints) -> np.ndarray:
        """From the partition with the fewest clusters >= K, merge one closest pair at a time."""
        above = [p for p in partitions if p.max() + 1 >= self.n_clusters]
        labels = above[-1] if above else np.arange(len(X))
        while labels.max() + 1 > self.n_clusters:
            k = int(labels.max()) + 1
            level_cons = cons.relabel(labels) if cons else cons
            nb, d = first_neighbours(_means(X, labels, k).astype(np.float32), level_cons.as_pairs() if level_cons else None,
                                     exact_limit=self.exact_limit, random_state=self.random_state)
            merged = _link(k, nb, d, level_cons, max_links=1)
            if merged.max() + 1 == k:  # constraints forbid any further merge
                break
            labels = merged[labels]
        return labels

    def fit_predict(self, X: np.ndarray, y=None, *, cannot_link: np.ndarray | None = None) -> np.ndarray:
        return self.fit(X, cannot_link=cannot_link).labels_
