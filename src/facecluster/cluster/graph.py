"""Average linkage on a k-nearest-neighbour graph: clustering that grows about linearly with n.

The dense :class:`~facecluster.cluster.agglomerative.ConstrainedAgglomerative` keeps an
(n, n) matrix: fine for a video's tracks, hopeless for a photo library of 100,000
faces. Here only the edges of a k-nearest-neighbour graph are kept (each item's ``k``
nearest, both directions): O(n·k) memory.

**Linkage.** The distance between two clusters is the mean of the graph edges between
them (clusters with no edge between them are not compared). On a complete graph this
is exactly average linkage; on a kNN graph it averages the pairs close enough to be
measured. A merged cluster's distance to a third is a weighted mean of its parts'
distances, so the linkage is *reducible*: every pair of clusters that are each other's
nearest neighbour can be merged at once, in rounds, and the result is the same as
merging one closest pair at a time (Murtagh's reciprocal-nearest-neighbour argument).
Each round is a few sorts of the edge arrays in numpy.

**Stop.** At ``n_clusters`` (the closest reciprocal pairs first), or at a distance:
given, or ``'auto'``, calibrated on the data with the same rule as the dense path
(:func:`~facecluster.cluster.stop_rule.stop_distance_from`: nearest-neighbour distances,
a sample of typical distances, the cannot-linked pairs). With a distance, a cluster
whose every edge is longer is final and leaves the graph (its edges can only be
averaged with other edges longer than the stop), so rounds shrink quickly.

**Cannot-links.** Two clusters holding a cannot-linked pair are never merged: each
round the pairs are mapped to the current clusters and their edges removed (a merged
cluster inherits its parts' constraints, so a removed edge would never be used).

With ``n_clusters`` and a graph in several pieces, the pieces are joined by edges
between cluster means (nearest means, distance between means) until the number is
reached or only cannot-linked merges remain.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClusterMixin

from facecluster.cluster.knn import knn_approx, knn_exact
from facecluster.cluster.stop_rule import stop_distance_from
from facecluster.errors import ParameterError

EXACT_LIMIT = 20_000  # exact neighbours up to this many rows; faiss IVF beyond
COMPLETE_LIMIT = 1_500  # up to this many rows the graph is complete: exact average linkage
TYPICAL_PAIRS = 200_000  # random pairs sampled for the stop rule's typical distance


def _unique_sorted(keys: np.ndarray) -> np.ndarray:
    """The distinct values of (E,) int64 keys, sorted."""
    keys = np.sort(keys)
    first = np.ones(len(keys), bool)
    first[1:] = keys[1:] != keys[:-1]
    return keys[first]


class Graph:
    """Undirected edges between ``m`` clusters, each stored once with a < b: a, b (E,) int64."""

    def __init__(self, m: int, a: np.ndarray, b: np.ndarray) -> None:
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        keep = lo != hi
        uniq = _unique_sorted(lo[keep] * m + hi[keep])
        self.m = m
        self.a, self.b = uniq // m, uniq % m

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the (E,) edges where mask is True."""
        if not mask.all():
            self.a, self.b = self.a[mask], self.b[mask]

    def without_pairs(self, pairs: np.ndarray) -> None:
        """Remove the edges between the (p, 2) cluster pairs."""
        if len(pairs) and len(self.a):
            banned = np.minimum(pairs[:, 0], pairs[:, 1]) * self.m + np.maximum(pairs[:, 0], pairs[:, 1])
            self.keep(~np.isin(self.a * self.m + self.b, banned))

    def relabel(self, new_id: np.ndarray, m: int) -> "Graph":
        """The graph after merges: cluster c becomes new_id[c] (0..m-1); parallel edges become one."""
        return Graph(m, new_id[self.a], new_id[self.b])


class Clusters:
    """What the linkage needs of each of ``m`` clusters: sizes (m,), sums of the rows (m, d)
    and of their squared norms (m,), float64."""

    def __init__(self, X: np.ndarray) -> None:
        self.size = np.ones(len(X))
        self.sums = X.astype(np.float64)
        self.sq = np.einsum("ij,ij->i", self.sums, self.sums)

    def linkage(self, a: np.ndarray, b: np.ndarray, block: int = 1 << 16) -> np.ndarray:
        """Mean squared distance between the items of clusters a and b: (E,) for (E,) pairs.

        mean ||x - y||² over x in A, y in B = q_A + q_B - 2 μ_A·μ_B, with q the mean squared
        norm and μ the mean (exact, from the sums; O(d) a pair)."""
        out = np.empty(len(a))
        mean_sq = self.sq / self.size
        for start in range(0, len(a), block):
            ia, ib = a[start:start + block], b[start:start + block]
            dot = np.einsum("ij,ij->i", self.sums[ia], self.sums[ib]) / (self.size[ia] * self.size[ib])
            out[start:start + block] = mean_sq[ia] + mean_sq[ib] - 2.0 * dot
        return np.maximum(out, 0.0)

    def merge(self, target: np.ndarray, m: int) -> None:
        """Merge: cluster c becomes cluster target[c] of m."""
        self.size = np.bincount(target, weights=self.size, minlength=m)
        self.sq = np.bincount(target, weights=self.sq, minlength=m)
        sums = np.zeros((m, self.sums.shape[1]))
        np.add.at(sums, target, self.sums)
        self.sums = sums

    def means(self) -> np.ndarray:
        return (self.sums / self.size[:, None]).astype(np.float32)


def reciprocal_pairs(graph: Graph, link: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of clusters that are each other's nearest over the graph's edges (link: (E,) each
    edge's linkage; ties broken by the lower id): (p,) a, (p,) b with a < b, and their (p,)
    linkage, sorted by linkage."""
    src = np.concatenate([graph.a, graph.b])
    dst = np.concatenate([graph.b, graph.a])
    dist = np.concatenate([link, link])
    order = np.lexsort((dst, dist, src))
    src, dst, dist = src[order], dst[order], dist[order]
    head = np.ones(len(src), bool)
    head[1:] = src[1:] != src[:-1]
    nearest = np.full(graph.m, -1, np.int64)
    nearest[src[head]] = dst[head]
    near_d = np.full(graph.m, np.inf)
    near_d[src[head]] = dist[head]
    a = np.flatnonzero(nearest >= 0)
    b = nearest[a]
    mutual = (nearest[b] == a) & (a < b)
    a, b = a[mutual], b[mutual]
    d = near_d[a]
    order = np.lexsort((a, d))
    return a[order], b[order], d[order]


class GraphAverageLinkage(ClusterMixin, BaseEstimator):
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
        k = n - 1 if n <= COMPLETE_LIMIT else min(self.n_neighbors, n - 1)
        if n <= EXACT_LIMIT:
            return knn_exact(X, k)
        return knn_approx(X, k, nprobe=16, random_state=self.random_state)

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
            self.distance_threshold_ = self._stop(X, dist[:, 0].astype(np.float64), pairs)
        del dist
        graph = Graph(n, np.repeat(np.arange(n, dtype=np.int64), idx.shape[1]), idx.ravel())
        del idx
        label = self._merge(X, graph, pairs)
        self.labels_ = _by_first_item(label)
        self.n_clusters_ = int(self.labels_.max()) + 1
        return self

    def _merge(self, X: np.ndarray, graph: Graph, pairs: np.ndarray) -> np.ndarray:
        """Cluster of each item after the rounds of reciprocal merges: (n,) int64."""
        n = len(X)
        label = np.arange(n, dtype=np.int64)  # item -> current cluster id
        clusters = Clusters(X)
        stop = None if self.distance_threshold_ is None else self.distance_threshold_ ** 2  # linkage is in squared distance
        target = self.n_clusters if self.n_clusters is not None else 1
        m = n
        joined_pieces = False
        while m > target:
            graph.without_pairs(label[pairs])
            link = clusters.linkage(graph.a, graph.b)
            if stop is not None and len(link):
                # A cluster with no edge under the stop is final: merges elsewhere only average
                # its edges with other edges over the stop. Its edges leave the graph.
                active = np.zeros(m, bool)
                close = link <= stop
                active[graph.a[close]] = True
                active[graph.b[close]] = True
                kept = active[graph.a] & active[graph.b]
                graph.keep(kept)
                link = link[kept]
            if not len(link):
                if self.n_clusters is None or joined_pieces:
                    break
                graph = _join_pieces(clusters.means(), self.n_neighbors)
                joined_pieces = True  # once per exhaustion: stop when joining brings no allowed merge
                continue
            a, b, d = reciprocal_pairs(graph, link)
            if stop is not None:
                a, b = a[d <= stop], b[d <= stop]
            a, b = a[: m - target], b[: m - target]
            if not len(a):
                break
            self.n_rounds_ += 1
            joined_pieces = False
            into = np.arange(m, dtype=np.int64)
            into[b] = a
            gone = np.zeros(m, bool)
            gone[b] = True
            new_id = (np.cumsum(~gone) - 1)[into]
            m -= len(a)
            clusters.merge(new_id, m)
            label = new_id[label]
            graph = graph.relabel(new_id, m)
        return label

    def fit_predict(self, X: np.ndarray, y=None, *, cannot_link: np.ndarray | None = None) -> np.ndarray:
        return self.fit(X, cannot_link=cannot_link).labels_


def _join_pieces(means: np.ndarray, k: int) -> Graph:
    """Edges from each of the m clusters to the k clusters with the nearest means."""
    m = len(means)
    kk = min(k, m - 1)
    idx, _ = knn_exact(means, kk) if m <= EXACT_LIMIT else knn_approx(means, kk, nprobe=16)
    return Graph(m, np.repeat(np.arange(m, dtype=np.int64), kk), idx.ravel())


def _by_first_item(label: np.ndarray) -> np.ndarray:
    """Relabel (n,) cluster ids as 0..k-1 in order of each cluster's first item."""
    _, first = np.unique(label, return_index=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    uniq_ids = np.unique(label)
    return rank[np.searchsorted(uniq_ids, label)]
