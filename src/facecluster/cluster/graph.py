"""Average linkage on a k-nearest-neighbour graph: clustering that grows about linearly with n.

The dense :class:`~facecluster.cluster.agglomerative.ConstrainedAgglomerative` keeps an
(n, n) matrix: fine for a video's tracks, hopeless for a photo library of 100,000
faces. Here only the edges of a k-nearest-neighbour graph are kept (each item's ``k``
nearest, both directions): O(n·k) memory.

**Linkage.** The distance between two clusters is the mean *squared* distance between
their items, exact for any pair from each cluster's size, sum of rows and sum of squared
norms (O(d) a pair); the graph only says which pairs of clusters are compared. On a
complete graph this is exact average linkage of squared distances (on the labelled sets
within 0.002 B-cubed F of average linkage of distances). A merged cluster's distance to a
third is a weighted mean of its parts' distances, so the linkage is *reducible*: every
pair of clusters that are each other's nearest neighbour can be merged at once, in
rounds, and the result is the same as merging one closest pair at a time (Murtagh's
reciprocal-nearest-neighbour argument).

**Stop.** At ``n_clusters`` (the closest reciprocal pairs first), or at a distance:
given, or ``'auto'``, calibrated on the data with the same rule as the dense path
(:func:`~facecluster.cluster.stop_rule.stop_distance_from`: nearest-neighbour distances,
a sample of typical distances, the cannot-linked pairs). With a distance, a cluster
whose every edge is longer is final and leaves the graph (its edges can only be
averaged with other edges longer than the stop), so rounds shrink quickly.

**Cannot-links.** Two clusters holding a cannot-linked pair are never merged: each
round the pairs are mapped to the current clusters and their edges removed (a merged
cluster inherits its parts' constraints, so a removed edge would never be used).

When no pair is left to merge over the graph's edges (pieces of the graph, or pairs the
approximate index missed), every cluster is linked to the clusters with the nearest means
and merging goes on, with the same exact linkage and stop, up to ``MAX_RELINKS`` times
while that still brings merges.
"""
from __future__ import annotations

import numpy as np

from facecluster.cluster.knn import knn_approx, knn_exact, nearest_distances
from facecluster.cluster.stop_rule import stop_distance_from
from facecluster.errors import ParameterError
from facecluster.estimator import ClusterMixin, Estimator

EXACT_LIMIT = 20_000  # exact neighbours up to this many rows; faiss IVF beyond
COMPLETE_LIMIT = 1_500  # up to this many rows the graph is complete: exact average linkage
TYPICAL_PAIRS = 200_000  # random pairs sampled for the stop rule's typical distance
MAX_RELINKS = 5  # times the exhausted graph is relinked over cluster means
NEAREST_SAMPLE = 2_000  # above EXACT_LIMIT rows, the stop rule's nearest-neighbour distances are exact for this many
# sampled rows: the approximate index overestimates them (at 1M synthetic faces, nprobe 16 finds the true nearest
# for 54 % of rows, and the 90th percentile rose from 0.31 to 0.38)


def neighbours(X: np.ndarray, k: int, random_state: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """k nearest other rows: (n, k) indices and distances, exact up to ``EXACT_LIMIT`` rows, faiss IVF beyond."""
    if len(X) <= EXACT_LIMIT:
        return knn_exact(X, k)
    return knn_approx(X, k, nprobe=16, random_state=random_state)


def edge_keys(a: np.ndarray, b: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Undirected edges as distinct (E,) pairs a < b between ids 0..n-1, sorted; self-loops dropped."""
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    keys = np.unique(lo[lo != hi] * n + hi[lo != hi])
    return keys // n, keys % n


def without_pairs(a: np.ndarray, b: np.ndarray, pa: np.ndarray, pb: np.ndarray, n: int) -> np.ndarray:
    """Mask (E,) of the edges a–b (a < b) that are not one of the (p,) pairs pa–pb."""
    if not len(pa) or not len(a):
        return np.ones(len(a), bool)
    banned = np.minimum(pa, pb) * n + np.maximum(pa, pb)
    return ~np.isin(a * n + b, banned)


class Clusters:
    """What the linkage needs of each cluster, under a stable id (the id of one of its items):
    size (n,), sums of its rows (n, d) and of their squared norms (n,), float64."""

    def __init__(self, X: np.ndarray) -> None:
        self.size = np.ones(len(X))
        self.sums = X.astype(np.float64)
        self.sq = np.einsum("ij,ij->i", self.sums, self.sums)

    def linkage(self, a: np.ndarray, b: np.ndarray, block: int = 1 << 16) -> np.ndarray:
        """Mean squared distance between the items of clusters a and b: (E,) for (E,) pairs.

        mean ||x - y||² over x in A, y in B = q_A + q_B - 2 μ_A·μ_B, with q the mean squared
        norm and μ the mean (exact, from the sums; O(d) a pair)."""
        out = np.empty(len(a))
        for start in range(0, len(a), block):
            ia, ib = a[start:start + block], b[start:start + block]
            na, nb = self.size[ia], self.size[ib]
            dot = np.einsum("ij,ij->i", self.sums[ia], self.sums[ib]) / (na * nb)
            out[start:start + block] = self.sq[ia] / na + self.sq[ib] / nb - 2.0 * dot
        return np.maximum(out, 0.0)

    def absorb(self, a: np.ndarray, b: np.ndarray) -> None:
        """Cluster b[i] joins cluster a[i] (disjoint pairs)."""
        self.sums[a] += self.sums[b]
        self.sq[a] += self.sq[b]
        self.size[a] += self.size[b]

    def means(self, ids: np.ndarray) -> np.ndarray:
        return (self.sums[ids] / self.size[ids, None]).astype(np.float32)


def reciprocal_pairs(a: np.ndarray, b: np.ndarray, link: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clusters that are each other's nearest over the (E,) edges a–b with linkage ``link`` (ties:
    the lower id): (p,) first, (p,) second with first < second, and their (p,) linkage, by linkage."""
    best = np.full(n, np.inf)
    np.minimum.at(best, a, link)
    np.minimum.at(best, b, link)
    nearest = np.full(n, n, np.int64)
    at_a, at_b = link == best[a], link == best[b]
    np.minimum.at(nearest, a[at_a], b[at_a])
    np.minimum.at(nearest, b[at_b], a[at_b])
    src = np.flatnonzero(nearest < n)
    dst = nearest[src]
    mutual = (nearest[dst] == src) & (src < dst)
    first, second = src[mutual], dst[mutual]
    d = best[first]
    order = np.lexsort((first, d))
    return first[order], second[order], d[order]


class GraphAverageLinkage(ClusterMixin, Estimator):
    """Constrained average linkage over a k-nearest-neighbour graph (see the module docstring).

    Give exactly one of ``n_clusters`` and ``distance_threshold`` (a distance, or
    ``'auto'`` for the self-calibrating rule, with ``fallback_threshold`` where the data
    hold too little evidence). ``n_neighbors``: edges per item; up to ``COMPLETE_LIMIT``
    items the graph is complete (exact average linkage). Distances are Euclidean on the
    rows of X as given (normalise them first for cosine order). ``random_state`` seeds the
    approximate neighbour index (above ``EXACT_LIMIT`` rows) and the stop rule's sample.

    After :meth:`fit`: ``labels_`` (n,) int64 numbered by first item, ``n_clusters_``,
    ``distance_threshold_`` (the stop distance used, None with n_clusters), ``n_rounds_``.
    """

    def __init__(self, *, n_clusters: int | None = None, distance_threshold: float | str | None = None, n_neighbors: int = 20,
                 fallback_threshold: float | None = None, random_state: int = 0) -> None:
        self.n_clusters = n_clusters
        self.distance_threshold = distance_threshold
        self.n_neighbors = n_neighbors
        self.fallback_threshold = fallback_threshold
        self.random_state = random_state

    def _check(self) -> None:
        if (self.n_clusters is None) == (self.distance_threshold is None):
            raise ParameterError("give exactly one of n_clusters and distance_threshold "
                                 f"(here: n_clusters={self.n_clusters}, distance_threshold={self.distance_threshold})")
        if self.n_clusters is not None and self.n_clusters < 1:
            raise ParameterError(f"n_clusters must be >= 1 (here: n_clusters={self.n_clusters})")
        if isinstance(self.distance_threshold, str) and self.distance_threshold != "auto":
            raise ParameterError(f"distance_threshold must be a number or 'auto' (here: {self.distance_threshold!r})")
        if self.n_neighbors < 1:
            raise ParameterError(f"n_neighbors must be >= 1 (here: n_neighbors={self.n_neighbors})")

    def _neighbours(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = len(X)
        return neighbours(X, n - 1 if n <= COMPLETE_LIMIT else min(self.n_neighbors, n - 1), self.random_state)

    def _stop(self, X: np.ndarray, nearest: np.ndarray, pairs: np.ndarray) -> float:
        n = len(X)
        rng = np.random.default_rng(self.random_state)
        if n * (n - 1) // 2 <= TYPICAL_PAIRS:
            i, j = np.triu_indices(n, 1)
        else:
            i, j = rng.integers(0, n, TYPICAL_PAIRS), rng.integers(0, n, TYPICAL_PAIRS)
            i, j = i[i != j], j[i != j]
        typical = np.linalg.norm(X[i] - X[j], axis=1)
        cannot = np.linalg.norm(X[pairs[:, 0]] - X[pairs[:, 1]], axis=1) if len(pairs) else np.zeros(0)
        return stop_distance_from(nearest, typical, cannot, fallback=self.fallback_threshold)

    def fit(self, X: np.ndarray, y=None, *, cannot_link: np.ndarray | None = None) -> "GraphAverageLinkage":
        """X: (n, d) features; cannot_link: (m, 2) int pairs of row indices that must stay apart."""
        self._check()
        X = np.ascontiguousarray(X, np.float32)
        if X.ndim != 2:
            raise ParameterError(f"X must be a 2-d array of shape (n, d) (here: shape {X.shape})")
        n = len(X)
        pairs = np.asarray(cannot_link if cannot_link is not None else np.zeros((0, 2)), np.int64).reshape(-1, 2)
        if len(pairs) and (pairs.min() < 0 or pairs.max() >= n):
            raise ParameterError(f"cannot_link holds indices outside 0..{n - 1}")
        pairs = pairs[pairs[:, 0] != pairs[:, 1]]
        self.distance_threshold_ = None if self.distance_threshold in (None, "auto") else float(self.distance_threshold)
        self.n_rounds_ = 0
        if n < 2:
            self.labels_ = np.zeros(n, np.int64)
            self.n_clusters_ = n
            return self
        idx, dist = self._neighbours(X)
        if self.distance_threshold == "auto":
            nearest = dist[:, 0].astype(np.float64)
            if n > EXACT_LIMIT:
                sample = np.random.default_rng(self.random_state).choice(n, size=min(n, NEAREST_SAMPLE), replace=False)
                nearest = nearest_distances(X, np.sort(sample))
            self.distance_threshold_ = self._stop(X, nearest, pairs)
        del dist
        a, b = edge_keys(np.repeat(np.arange(n, dtype=np.int64), idx.shape[1]), idx.ravel(), n)
        del idx
        label = self._merge(X, a, b, pairs)
        self.labels_ = _by_first_item(label)
        self.n_clusters_ = int(self.labels_.max()) + 1
        return self

    def _merge(self, X: np.ndarray, a: np.ndarray, b: np.ndarray, pairs: np.ndarray) -> np.ndarray:
        """Cluster of each item after the rounds of reciprocal merges, for the (E,) edges a–b: (n,) int64.

        A cluster keeps the id of one of its items, so a round touches only the merged
        clusters' rows and edges."""
        n = len(X)
        clusters = Clusters(X)
        parent = np.arange(n, dtype=np.int64)  # merged-into links; resolved at the end
        pa, pb = pairs[:, 0].copy(), pairs[:, 1].copy()  # cannot-links between current clusters
        keep = without_pairs(a, b, pa, pb, n)
        a, b = a[keep], b[keep]
        link = clusters.linkage(a, b)
        stop = None if self.distance_threshold_ is None else self.distance_threshold_ ** 2  # linkage is in squared distance
        target = self.n_clusters if self.n_clusters is not None else 1
        m = n
        relinks = 0
        merged_since_relink = True
        while m > target:
            if stop is not None and len(link):
                # A cluster with no edge under the stop is final (until the graph is relinked): merges
                # elsewhere only average its edges with other edges over the stop. Its edges leave the graph.
                close = link <= stop
                active = np.zeros(n, bool)
                active[a[close]] = True
                active[b[close]] = True
                keep = active[a] & active[b]
                if not keep.all():
                    a, b, link = a[keep], b[keep], link[keep]
            first, second, d = reciprocal_pairs(a, b, link, n) if len(link) else (np.zeros(0, np.int64),) * 3
            if stop is not None:
                first, second = first[d <= stop], second[d <= stop]
            first, second = first[: m - target], second[: m - target]
            if not len(first):
                # Nothing left to merge over these edges. The neighbour graph may have missed pairs that
                # the exact linkage would join (an approximate index, pieces of the graph): link every
                # cluster to those with the nearest means, and go on while that brings merges.
                if relinks >= MAX_RELINKS or not merged_since_relink or m < 2:
                    break
                new_a, new_b = _join_pieces(clusters, np.flatnonzero(parent == np.arange(n)), self.n_neighbors, n)
                a, b = edge_keys(np.concatenate([a, new_a]), np.concatenate([b, new_b]), n)
                keep = without_pairs(a, b, pa, pb, n)
                a, b = a[keep], b[keep]
                link = clusters.linkage(a, b)
                relinks += 1
                merged_since_relink = False
                continue
            self.n_rounds_ += 1
            merged_since_relink = True
            clusters.absorb(first, second)
            parent[second] = first
            m -= len(first)
            into = np.arange(n, dtype=np.int64)
            into[second] = first
            changed = np.zeros(n, bool)
            changed[first] = True
            changed[second] = True
            touched = changed[a] | changed[b]
            new_a, new_b = edge_keys(into[a[touched]], into[b[touched]], n)
            pa, pb = into[pa], into[pb]
            near = changed[pa] | changed[pb]
            keep = without_pairs(new_a, new_b, pa[near], pb[near], n)
            new_a, new_b = new_a[keep], new_b[keep]
            a = np.concatenate([a[~touched], new_a])
            b = np.concatenate([b[~touched], new_b])
            link = np.concatenate([link[~touched], clusters.linkage(new_a, new_b)])
        while True:  # follow the merged-into links to each item's cluster
            up = parent[parent]
            if np.array_equal(up, parent):
                return parent
            parent = up

    def fit_predict(self, X: np.ndarray, y=None, *, cannot_link: np.ndarray | None = None) -> np.ndarray:
        return self.fit(X, cannot_link=cannot_link).labels_


def _join_pieces(clusters: Clusters, ids: np.ndarray, k: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Edges (a < b) from each of the clusters ``ids`` to the k clusters with the nearest means."""
    means = clusters.means(ids)
    kk = min(k, len(ids) - 1)
    idx, _ = neighbours(means, kk)
    return edge_keys(np.repeat(ids, kk), ids[idx.ravel()], n)


def _by_first_item(label: np.ndarray) -> np.ndarray:
    """Relabel (n,) cluster ids as 0..k-1 in order of each cluster's first item."""
    _, first = np.unique(label, return_index=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    uniq_ids = np.unique(label)
    return rank[np.searchsorted(uniq_ids, label)]
