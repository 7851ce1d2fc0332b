"""The clustering methods the pipeline offers, by name, with their stopping rules.

Every method here honours cannot-links. With ``n_clusters`` given, each stops at
that number (or earlier, where only cannot-linked merges remain); without it:

- ``average`` (the default): stop at a distance calibrated on the data itself
  (``'auto'``, :mod:`facecluster.cluster.stop_rule`), for any face network;
- ``complete``, ``single``, ``ward``: stop at a distance threshold on L2-normalised
  features: a network's own where measured (``NETWORK_DEFAULTS``, SFace's chosen on the dev
  suite), else dlib's (``DEFAULTS``; calibrated with benchmarks/calibrate_threshold.py and
  benchmarks/bench_cluster.py on the labelled data in ../shared/data) times the network's scale;
- ``finch``: the partition at hierarchy level ``DEFAULTS['finch']`` (0 = finest).
"""
from __future__ import annotations

from facecluster.distances import distance_scale
from facecluster.errors import ParameterError

METHODS = ("average", "complete", "single", "ward", "finch")
CONSTRAINED_METHODS = ("average", "complete", "ward", "finch")  # the ones benchmarked
# average: the self-calibrating stop rule. The others: stop distances on L2-normalised dlib
# features, each the best compromise of its method over Jurassic Park, celebs11 and the two
# clips' tracks (sweep in the README's "Calibration"); FINCH: the hierarchy level.
DEFAULTS: dict[str, float | str] = {"average": "auto", "complete": 0.5, "single": 0.3, "ward": 1.2, "finch": 1}
# Where a video or collection is too small to calibrate on (stop_rule.MIN_ITEMS / MIN_CANNOT_PAIRS), average
# linkage falls back to these stop distances of dlib's descriptors (L2-normalised). Tracks: chosen leave-one-set-out
# on the dev suite (benchmarks/loso.py → results/dev_suite_loso.md; 0.4 before, which merged the few people of short
# news and meeting clips); faces: chosen leave-one-set-out on the dev suite's photo sets dealt into albums of 40 photos
# (benchmarks/loso.py --family small_albums → results/dev_suite_loso_small_albums.md: 0.3 held out for all four sets,
# mean B-cubed F 0.912; 0.45 before, which with SFace's scale merged an album of 5 people into 2, of 11 into 1: 0.368).
FALLBACK = {"tracks": 0.3, "faces": 0.3}
# A network's own stop distances for the fixed-distance linkages, where dlib's times the network's scale do not carry
# over: SFace's distances crowd towards 2 (unit vectors), so complete linkage's 0.5 × 3.9 = 1.95 merged nearly every
# person (Sweden: 7 people for 31). Chosen leave-one-set-out on the dev suite's 18 clips and 4 photo sets
# (benchmarks/loso.py --family complete|single|ward → results/dev_suite_loso_<method>.md): mean B-cubed F held out
# complete 0.886 (0.738 at 1.95), single 0.920 (0.793 at 1.17). Ward: no held-out gain (0.783 held out against 0.798
# for dlib's 1.2 × 3.9), so it keeps that value.
NETWORK_DEFAULTS: dict[str, dict[str, float]] = {"sface": {"complete": 1.3, "single": 1.0, "ward": 4.68}}
# Every other fixed distance above (and the clothing cue's, the linking distance and fallback) is in units of dlib's
# L2-normalised descriptors; another network's are these times its scale (facecluster.distances.NETWORK_SCALE).


def fallback(items: str, network: str | None = None) -> float:
    """The stop distance average linkage falls back to on too little evidence (``items``: tracks or faces)."""
    return FALLBACK[items] * distance_scale(network)


def fixed_distance(method: str, network: str | None = None) -> float:
    """The stop distance of a fixed-distance linkage (complete, single, ward) in ``network``'s units: its own where
    measured (``NETWORK_DEFAULTS``), else dlib's times the network's scale."""
    own = NETWORK_DEFAULTS.get(network or "dlib", {})
    return float(own[method]) if method in own else float(DEFAULTS[method]) * distance_scale(network)


def make_clusterer(method: str, *, n_clusters: int | None = None, threshold: float | str | None = None, metric: str = "euclidean",
                   items: str = "tracks", network: str | None = None):
    """An unfitted clusterer with ``fit_predict(X, cannot_link=pairs)``; ``metric='precomputed'``
    (agglomerative methods but ward): X is then an (n, n) distance matrix. ``items``: ``tracks`` or
    ``faces``, which fallback distance the self-calibrating rule uses on too little evidence; ``network``: whose
    distances these are (:func:`distance_scale` scales the fixed distances; None: dlib's units)."""
    # Imported here: scikit-learn (behind both) takes about a second to import, which a run need not wait for at start-up.
    from facecluster.cluster.agglomerative import ConstrainedAgglomerative
    from facecluster.cluster.finch import FINCH

    if method in ("average", "complete", "single", "ward"):
        if n_clusters is not None:
            return ConstrainedAgglomerative(n_clusters=n_clusters, linkage=method, metric=metric)
        if threshold is None:
            threshold = DEFAULTS[method] if method == "average" else fixed_distance(method, network)
        return ConstrainedAgglomerative(distance_threshold=threshold, linkage=method, metric=metric,
                                        fallback_threshold=fallback(items, network) if threshold == "auto" else None)
    if metric != "euclidean":
        raise ParameterError(f"{method} works on features only (here: metric={metric!r})")
    if method == "finch":
        if n_clusters is not None:
            return FINCH(n_clusters=n_clusters)
        return FINCH(level=int(DEFAULTS["finch"] if threshold is None else threshold))
    raise ParameterError(f"unknown clustering method {method!r} (choose from: average, complete, single, ward, finch)")
