"""Agglomerative clustering with cannot-link constraints (scikit-learn conventions).

Lance–Williams updates on a dense distance matrix: O(n²) memory and about
O(n³/…) time in the worst case, meant for track-level clustering (hundreds to a
few thousand items). Two items joined by a cannot-link — and, after merges, any
two clusters that contain such a pair — are never merged.
"""
from __future__ import annotations

import numpy as np

from facecluster.cluster.stop_rule import stop_distance
from facecluster.distances import pairwise
from facecluster.errors import ParameterError
from facecluster.estimator import ClusterMixin, Estimator

LINKAGES = ("average", "complete", "single", "ward")


class ConstrainedAgglomerative(ClusterMixin, Estimator):
    """Bottom-up merging until ``n_clusters`` remain or no pair is closer than
    ``distance_threshold`` (exactly one of the two must be given), never across a
    cannot-link. ``distance_threshold='auto'`` (average linkage): the stop distance is
    calibrated on the data being clustered (:func:`~facecluster.cluster.stop_rule.stop_distance`);
    the value used is ``distance_threshold_`` after :meth:`fit`; ``fallback_threshold``: the
    distance to use where the data hold too little evidence to calibrate on.

    linkage: ``average`` | ``complete`` | ``single`` | ``ward`` (ward merge heights as
    in scipy). metric: ``euclidean`` (X holds (n, d) features) or ``precomputed`` (X is
    an (n, n) symmetric distance matrix; not with ward). After :meth:`fit`: ``labels_`` (n,) int64 in
    0..k-1 numbered by first item, ``n_clusters_``, ``merge_heights_`` (merges,).
    With constraints, fewer merges than asked may be possible: ``n_clusters_`` can
    then exceed ``n_clusters``.
    """

    def __init__(
        self, *, n_clusters: int | None = None, distance_threshold: float | str | None = None, linkage: str = "average",
        metric: str = "euclidean", fallback_threshold: float | None = None,
    ) -> None:
        self.n_clusters = n_clusters
        self.distance_threshold = distance_threshold
        self.linkage = linkage
        self.metric = metric
        self.fallback_threshold = fallback_threshold

    def _check(self, n: int) -> None:
        if (self.n_clusters is None) == (self.distance_threshold is None):
            raise ParameterError(
                "give exactly one of n_clusters and distance_threshold "
                f"(here: n_clusters={self.n_clusters}, distance_threshold={self.distance_threshold})"
            )
        if self.n_clusters is not None and self.n_clusters < 1:
            raise ParameterError(f"n_clusters must be >= 1 (here: n_clusters={self.n_clusters})")
        if isinstance(self.distance_threshold, str) and (self.distance_threshold != "auto" or self.linkage != "average"):
            raise ParameterError("distance_threshold='auto' (the self-calibrating stop rule) is for average linkage "
                                 f"(here: distance_threshold={self.distance_threshold!r}, linkage={self.linkage!r})")
        if self.linkage not in LINKAGES:
            raise ParameterError(f"linkage must be one of {', '.join(LINKAGES)} (here: linkage={self.linkage!r})")
        if self.metric not in ("euclidean", "precomputed"):
            raise ParameterError(f"metric must be 'euclidean' or 'precomputed' (here: metric={self.metric!r})")
        if self.metric == "precomputed" and self.linkage == "ward":
            raise ParameterError("ward linkage needs metric='euclidean' (here: metric='precomputed')")

    def fit(self, X: np.ndarray, y=None, *, cannot_link: np.ndarray | None = None) -> "ConstrainedAgglomerative":
        """X: (n, d) features, or (n, n) distances with ``metric='precomputed'``;
        cannot_link: (m, 2) int pairs of item indices that must stay apart."""
        X = np.asarray(X, np.float64)
        n = X.shape[0]
        self._check(n)
        if self.metric == "precomputed" and X.shape != (n, n):
            raise ParameterError(f"metric='precomputed' needs a square distance matrix (here: shape {X.shape})")
        if n == 0:
            self.labels_ = np.zeros(0, np.int64)
            self.n_clusters_ = 0
            self.merge_heights_ = np.zeros(0)
            self.distance_threshold_ = None if self.distance_threshold == "auto" else self.distance_threshold
            return self
        ward = self.linkage == "ward"
        dist = X.copy() if self.metric == "precomputed" else pairwise(X, squared=ward)
        blocked = np.zeros((n, n), bool)
        if cannot_link is not None and len(cannot_link):
            pairs = np.asarray(cannot_link, np.int64).reshape(-1, 2)
            blocked[pairs[:, 0], pairs[:, 1]] = True
            blocked[pairs[:, 1], pairs[:, 0]] = True
        np.fill_diagonal(blocked, True)
        stop = self.distance_threshold
        if stop == "auto":
            pairs = np.asarray(cannot_link if cannot_link is not None else np.zeros((0, 2)), np.int64).reshape(-1, 2)
            stop = stop_distance(dist, pairs, self.fallback_threshold)
        self.distance_threshold_ = stop
        size = np.ones(n)
        alive = np.ones(n, bool)
        parent = np.arange(n)
        heights: list[float] = []
        work = np.where(blocked, np.inf, dist)
        target = self.n_clusters if self.n_clusters is not None else 1
        clusters = n
        while clusters > target:
            flat = int(np.argmin(work))
            i, j = divmod(flat, n)
            d = work[i, j]
            if not np.isfinite(d):
                break
            height = float(np.sqrt(d)) if ward else float(d)
            if stop is not None and height > stop:
                break
            heights.append(height)
            if i > j:
                i, j = j, i
            ni, nj = size[i], size[j]
            if self.linkage == "average":
                new = (ni * dist[i] + nj * dist[j]) / (ni + nj)
            elif self.linkage == "complete":
                new = np.maximum(dist[i], dist[j])
            elif self.linkage == "single":
                new = np.minimum(dist[i], dist[j])
            else:
                nk = size
                new = ((nk + ni) * dist[i] + (nk + nj) * dist[j] - nk * dist[i, j]) / (nk + ni + nj)
            dist[i, :] = new
            dist[:, i] = new
            blocked[i, :] |= blocked[j, :]
            blocked[:, i] = blocked[i, :]
            blocked[i, i] = True
            size[i] = ni + nj
            alive[j] = False
            parent[parent == j] = i
            blocked[j, :] = True
            blocked[:, j] = True
            row = np.where(blocked[i], np.inf, dist[i])
            work[i, :] = row
            work[:, i] = row
            work[j, :] = np.inf
            work[:, j] = np.inf
            clusters -= 1
        _, labels = np.unique(parent, return_index=False, return_inverse=True)
        # Number clusters by their first item, so labels do not depend on merge order.
        first = {}
        out = np.empty(n, np.int64)
        for idx, lab in enumerate(labels):
            out[idx] = first.setdefault(int(lab), len(first))
        self.labels_ = out
        self.n_clusters_ = len(first)
        self.merge_heights_ = np.asarray(heights)
        return self

    def fit_predict(self, X: np.ndarray, y=None, *, cannot_link: np.ndarray | None = None) -> np.ndarray:
        return self.fit(X, cannot_link=cannot_link).labels_




