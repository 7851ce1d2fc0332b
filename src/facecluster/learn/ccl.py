"""CCL: clustering-based contrastive learning (Sharma, Tapaswi, Sarfraz, Stiefelhagen, FG 2020).

The authors' follow-up to SSiam/TSiam: pseudo-labels come from a clustering of the
video's own tracks (FINCH's first partition in the paper), and a projection is
trained contrastively on pairs drawn from them: two faces of one pseudo-cluster
are similar; faces of two pseudo-clusters are not, and neither are faces of two
tracks on screen together.

What differs from the paper, each measured in ``benchmarks/bench_learn.py``:

- **pseudo-labels** (``pseudo_labels``): ``finch`` is the paper's first partition,
  which links every track to its nearest one — in a video where most people appear
  once, that pairs different people. ``confident`` keeps only the first-neighbour
  links closer than the stop distance the video calibrates on its own tracks
  (:mod:`facecluster.cluster.stop_rule`), so a person seen once stays alone;
  ``mutual`` (the default) only those of them where each track is the other's
  nearest (measured best on the clips joined: 0.941 vs 0.923 B-cubed F, K given).
- **a projection with a known scale**: ``x ↦ normalise(x + W₂ relu(W₁ x))`` on
  L2-normalised inputs, with W₂ starting at zero: training starts from the base
  space itself and ends on the unit sphere, where the self-calibrating stop rule
  applies unchanged; the margin is calibrated on the video too (the median base
  distance between pseudo-clusters).
- **output** (``output``): ``learned`` (the projection) or ``combined`` (base and
  learned vectors side by side, each L2-normalised and weighted 1/√2: squared
  distances are the mean of the two spaces').
- **the scale of the output, measured** (``distance_scale_``): training pulls each
  pseudo-cluster together, and the projection, a smooth function, draws nearby
  faces of *different* pseudo-clusters closer as well. ``distance_scale_`` is that
  shrinkage, measured on the video itself: the median, over its tracks, of the
  output distance to the nearest track of another pseudo-cluster (nearest in the
  base space) divided by their base distance. A stop distance calibrated on the
  base vectors, times ``distance_scale_``, applies to the output: pairs the
  pseudo-labels did not join are judged as in the base space, while pairs drawn
  together more than the typical shrinkage (one person's tracks, linked through
  others) still come under it. Without it, on Sweden (K estimated) two people whose
  base distance was 1.09× the stop came to 0.97× of it and merged in two seeds of three.
"""
from __future__ import annotations

import math

import numpy as np

from facecluster.cluster.stop_rule import MIN_CANNOT_PAIRS, MIN_ITEMS
from facecluster.distances import l2_normalize
from facecluster.errors import ParameterError
from facecluster.estimator import Estimator, TransformerMixin
from facecluster.learn.estimators import check_features

PSEUDO_LABELS = ("finch", "confident", "mutual")
OUTPUTS = ("learned", "combined")


def _unit(X: np.ndarray) -> np.ndarray:
    return l2_normalize(X).astype(np.float32)


def _groups(n: int, track_ids: np.ndarray | None, frames: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(n,) group of each face (its track, or itself) and (m, 2) pairs of groups on screen together."""
    if track_ids is None:
        return np.arange(n), np.zeros((0, 2), np.int64)
    from facecluster.learn.mining import TrackPairs

    _, group = np.unique(np.asarray(track_ids), return_inverse=True)
    try:
        pairs = TrackPairs(group, np.asarray(frames)).cooccurring
    except ValueError:  # every track holds one face: no track evidence beyond the faces themselves
        pairs = np.zeros((0, 2), np.int64)
    return group.astype(np.int64), pairs


def pseudo_labels(means: np.ndarray, cannot: np.ndarray, how: str) -> np.ndarray:
    """(G,) pseudo-cluster of each group, from (G, d) L2-normalised group means.

    ``finch``: FINCH's first partition (each group linked to its nearest allowed one);
    ``confident``: the same links, only those shorter than the self-calibrated stop distance;
    ``mutual``: of those, only links between two groups that are each other's nearest."""
    from facecluster.cluster.finch import _Constraints, _link
    from facecluster.cluster.knn import first_neighbours
    from facecluster.cluster.stop_rule import stop_distance
    from facecluster.distances import pairwise

    G = len(means)
    if G < 2:
        return np.zeros(G, np.int64)
    cons = _Constraints(G, cannot)
    neighbour, dist = first_neighbours(means, cons.as_pairs() if cons else None)
    neighbour = np.asarray(neighbour).copy()
    if how in ("confident", "mutual"):
        limit = stop_distance(pairwise(means), cannot) if G <= 4000 else float(np.quantile(dist[neighbour >= 0], 0.5))
        neighbour[np.asarray(dist) > limit] = -1
    if how == "mutual":
        linked = neighbour >= 0
        back = np.full(G, -1)
        back[linked] = neighbour[neighbour[linked]]
        neighbour[back != np.arange(G)] = -1
    return _link(G, neighbour, np.asarray(dist), cons)


SCALE_QUERIES = 2000  # groups whose nearest other pseudo-cluster is looked up (a sample, on large videos)


def distance_scale(base: np.ndarray, output: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> float:
    """How much a learned space shrinks the distances between pseudo-clusters, measured on one video.

    base (G, d) and output (G, e): L2-normalised mean of each group (track) in the base and the
    learned space; labels (G,) their pseudo-labels. For each group (a sample of ``SCALE_QUERIES``
    on larger videos), its nearest group of another pseudo-label in the base space; returns the
    median of output distance ÷ base distance over those pairs (1.0 where there are none)."""
    G = len(base)
    queries = np.arange(G) if G <= SCALE_QUERIES else np.sort(rng.choice(G, SCALE_QUERIES, replace=False))
    ratios = []
    for start in range(0, len(queries), 512):
        q = queries[start : start + 512]
        d = np.sqrt(np.maximum(2.0 - 2.0 * (base[q].astype(np.float64) @ base.T.astype(np.float64)), 0.0))
        d[labels[q][:, None] == labels[None, :]] = np.inf  # the group itself and its own pseudo-cluster
        j = d.argmin(axis=1)
        near = d[np.arange(len(q)), j]
        ok = np.isfinite(near) & (near > 1e-6)
        far = np.linalg.norm(output[q[ok]].astype(np.float64) - output[j[ok]].astype(np.float64), axis=1)
        ratios.append(far / near[ok])
    ratios = np.concatenate(ratios) if ratios else np.zeros(0)
    return float(np.median(ratios)) if len(ratios) else 1.0


class _Members:
    """The rows of each of k labels, as one array sorted by label with offsets (no per-label Python lists)."""

    def __init__(self, labels: np.ndarray, k: int) -> None:
        self.rows = np.argsort(labels, kind="stable")
        self.sizes = np.bincount(labels, minlength=k)
        self.starts = np.r_[0, np.cumsum(self.sizes)[:-1]]

    def draw(self, rng: np.random.Generator, which: np.ndarray) -> np.ndarray:
        """One random row of each label in ``which`` (m,) → (m,)."""
        return self.rows[self.starts[which] + rng.integers(0, self.sizes[which])]

    def draw_two(self, rng: np.random.Generator, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Two different random rows of each label in ``which`` (labels of >= 2 rows)."""
        size = self.sizes[which]
        i = rng.integers(0, size)
        j = (i + rng.integers(1, size)) % size
        return self.rows[self.starts[which] + i], self.rows[self.starts[which] + j]


class _PairSampler:
    """Batches of (first, second, similar) face indices: half positives (two faces of one
    pseudo-cluster), half negatives (faces of two groups on screen together, for half of
    them where there are such groups; the rest random faces of two pseudo-clusters)."""

    def __init__(self, labels: np.ndarray, group: np.ndarray, cannot_groups: np.ndarray) -> None:
        _, labels = np.unique(labels, return_inverse=True)
        self.labels = labels
        self.clusters = _Members(labels, int(labels.max()) + 1)
        self.multi = np.flatnonzero(self.clusters.sizes >= 2)
        self.groups = _Members(group, int(group.max()) + 1)
        self.cannot = cannot_groups
        self.n = len(labels)

    def __call__(self, rng: np.random.Generator, batch_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        half = batch_size // 2 if len(self.multi) else 0
        pos_a, pos_b = self.clusters.draw_two(rng, self.multi[rng.integers(0, max(len(self.multi), 1), size=half)])
        n_neg = batch_size - half
        n_certain = n_neg // 2 if len(self.cannot) else 0
        picked = self.cannot[rng.integers(0, max(len(self.cannot), 1), size=n_certain)]
        certain_a, certain_b = self.groups.draw(rng, picked[:, 0]), self.groups.draw(rng, picked[:, 1])
        a = rng.integers(0, self.n, size=n_neg - n_certain)
        b = rng.integers(0, self.n, size=n_neg - n_certain)
        keep = self.labels[a] != self.labels[b]
        first = np.concatenate([pos_a, certain_a, a[keep]]).astype(np.int64)
        second = np.concatenate([pos_b, certain_b, b[keep]]).astype(np.int64)
        return first, second, np.r_[np.ones(half, np.int64), np.zeros(len(first) - half, np.int64)]


class CCL(TransformerMixin, Estimator):
    """Clustering-based contrastive learning on one video's faces (scikit-learn conventions; NumPy inside:
    the projection is small, :mod:`facecluster.learn.projection`).

    ``fit(X, track_ids=None, frames=None)``: X (n, d) base face vectors, any network;
    track_ids and frames (n,) where the faces come from tracks (without them each face
    is its own group). ``transform(X)`` → (n, d) learned unit vectors, or (n, 2d) with
    ``output="combined"``. After fit: ``model_`` (the :class:`~facecluster.learn.projection.ResidualProjection`),
    ``pseudo_labels_`` (n,), ``margin_``, ``loss_history_``,
    ``distance_scale_`` (multiply a stop distance calibrated on the base vectors by it to use it on
    the output; 1.0 where nothing was trained), ``trained_``
    (False where the video has too little evidence — fewer than the stop rule's ``MIN_CANNOT_PAIRS``
    pairs on screen together and ``MIN_ITEMS`` tracks —, or where there are no tracks at all and
    ``train_without_tracks`` is False: the projection then stays the identity).

    train_without_tracks: also train on faces without tracks (photos, a bare set of vectors),
    from pseudo-labels alone. Off by default: measured on the four labelled face sets it gains
    where K is given on one and loses on celebs11 by 0.02–0.05 B-cubed F (benchmarks/results/learn.md),
    so with nothing on screen together to check the pseudo-labels against, CCL leaves the base
    vectors as they are.
    """

    def __init__(
        self,
        *,
        pseudo_labels: str = "mutual",
        output: str = "combined",
        hidden: int = 128,
        margin: float | str = "auto",
        lr: float = 0.001,
        weight_decay: float = 0.0,
        batch_size: int = 256,
        epochs: int = 20,
        train_without_tracks: bool = False,
        random_state: int | None = None,
    ) -> None:
        self.pseudo_labels = pseudo_labels
        self.output = output
        self.hidden = hidden
        self.margin = margin
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.epochs = epochs
        self.train_without_tracks = train_without_tracks
        self.random_state = random_state

    def _check(self, X: np.ndarray) -> np.ndarray:
        if self.pseudo_labels not in PSEUDO_LABELS:
            raise ParameterError(f"pseudo_labels must be one of {', '.join(PSEUDO_LABELS)} (here: {self.pseudo_labels!r})")
        if self.output not in OUTPUTS:
            raise ParameterError(f"output must be one of {', '.join(OUTPUTS)} (here: {self.output!r})")
        for name in ("hidden", "epochs"):
            if getattr(self, name) < 1:
                raise ParameterError(f"{name} must be >= 1 (here: {name}={getattr(self, name)})")
        if self.batch_size < 4:
            raise ParameterError(f"batch_size must be >= 4 (here: batch_size={self.batch_size})")
        if self.lr <= 0 or (self.margin != "auto" and not (isinstance(self.margin, (int, float)) and self.margin > 0)):
            raise ParameterError(f"lr must be > 0 and margin 'auto' or > 0 (here: lr={self.lr}, margin={self.margin!r})")
        return _unit(check_features(X))

    def fit(self, X: np.ndarray, track_ids: np.ndarray | None = None, frames: np.ndarray | None = None) -> "CCL":
        from facecluster.learn.projection import Adam, ResidualProjection, contrastive_pairs_loss

        X = self._check(X)
        if (track_ids is None) != (frames is None) or (track_ids is not None and (len(track_ids) != len(X) or len(frames) != len(X))):
            raise ValueError(f"track_ids and frames go together, one entry per row of X ({len(X)})")
        group, cannot = _groups(len(X), track_ids, frames)
        G = int(group.max()) + 1
        sums = np.zeros((G, X.shape[1]), np.float64)
        np.add.at(sums, group, X)
        means = _unit(sums)
        # Too little evidence to tell "everyone appears once" from "one person seen several times" (the stop
        # rule's own limit): no pair of tracks can be trusted, so the projection stays the identity.
        # Faces without tracks: nothing to check the pseudo-labels against (see train_without_tracks).
        self.trained_ = (len(cannot) >= MIN_CANNOT_PAIRS or G >= MIN_ITEMS) and (track_ids is not None or self.train_without_tracks)
        labels = pseudo_labels(means, cannot, self.pseudo_labels)[group] if self.trained_ else group
        sampler = _PairSampler(labels, group, cannot)
        self.pseudo_labels_ = labels
        rng = np.random.default_rng(self.random_state)
        if self.margin == "auto":
            a, b = rng.integers(0, len(X), size=(2, 4000))
            apart = labels[a] != labels[b]
            d = np.linalg.norm(X[a[apart]] - X[b[apart]], axis=1)
            self.margin_ = float(np.median(d)) if len(d) else 1.0
        else:
            self.margin_ = float(self.margin)

        model = ResidualProjection(X.shape[1], self.hidden, np.random.default_rng(int(rng.integers(0, 2**31 - 1))))
        opt = Adam(model.params, lr=self.lr, weight_decay=self.weight_decay)
        steps = math.ceil(len(X) / self.batch_size)
        history = []
        for _ in range(self.epochs if self.trained_ else 0):
            total = 0.0
            for _ in range(steps):
                first, second, similar = sampler(rng, self.batch_size)
                if not len(first):  # one face group and one pseudo-cluster: nothing to learn from
                    continue
                loss, grads = model.forward_backward(X[np.concatenate([first, second])],
                                                     lambda out: contrastive_pairs_loss(out, similar, self.margin_))
                opt.step(grads)
                total += loss
            history.append(total / steps)
        self.model_ = model
        self.loss_history_ = np.asarray(history)
        self.n_features_in_ = X.shape[1]
        self.distance_scale_ = 1.0
        if self.trained_:
            out = l2_normalize(self.transform(X).astype(np.float64))
            out_sums = np.zeros((G, out.shape[1]), np.float64)
            np.add.at(out_sums, group, out)
            group_labels = np.zeros(G, np.int64)
            group_labels[group] = labels
            self.distance_scale_ = distance_scale(means, _unit(out_sums), group_labels, rng)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        """(n, d) base vectors → (n, d) learned unit vectors ((n, 2d) with ``output="combined"``)."""
        if not hasattr(self, "model_"):
            raise ValueError("this CCL is not fitted yet; call fit first")
        X = np.asarray(X, np.float32)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"X must have {self.n_features_in_} columns (here: shape {X.shape})")
        X = _unit(X)
        learned = np.concatenate([self.model_(X[i : i + 4096]) for i in range(0, len(X), 4096)] or [X[:0]])
        if self.output == "combined":
            return np.hstack([X, learned]) / np.float32(math.sqrt(2.0))
        return learned

    def fit_transform(self, X: np.ndarray, track_ids: np.ndarray | None = None, frames: np.ndarray | None = None) -> np.ndarray:
        return self.fit(X, track_ids, frames).transform(X)
