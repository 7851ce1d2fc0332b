"""A stop distance that calibrates itself on each collection's own evidence.

No distance constant is tied to one face network: the scale comes from the
data being clustered. Two kinds of evidence, both in the same distances the
clustering uses:

- **pairs known to be different people** (cannot-links: tracks on screen
  together, faces of one photo, people of one video when linking): merging at a
  distance where a tenth of those pairs already lie would join different people,
  so where there are at least ``MIN_CANNOT_PAIRS`` of them the stop distance is
  their ``CANNOT_QUANTILE`` quantile (``COMBINE = "cannot"``).
- **nearest neighbours**, where fewer pairs are known to differ (photo collections
  of one face a photo, embedding files): where most people have several faces, an
  item's nearest neighbour is mostly the same person, so the upper range of
  nearest-neighbour distances (their ``NN_QUANTILE`` quantile) tells how far apart
  one person's faces can be. The stop distance is ``NN_FACTOR`` times that, and at
  most the cannot-link quantile where there is any such pair.
- **a floor**: never stop below ``SCALE_FLOOR`` times the median distance between
  two items. Near-duplicate faces (a still photograph filmed in several shots,
  one photo in several versions) make nearest neighbours tiny, and the first rule
  would then split one person at the first change of pose.

Until this round the smaller of the two terms was taken everywhere (``COMBINE =
"min"``). Where people recur (a TV scene whose characters have 10 or 20 tracks each),
nearest neighbours are pairs of one person, the nearest-neighbour term lands far
below the distances at which one person's tracks still lie (average linkage merges
at the mean distance between two clusters, not the nearest), and each character was
split into four or five. Chosen leave-one-set-out on the dev suite
(benchmarks/loso.py → benchmarks/results/dev_suite_loso.md): "cannot" with the 10 %
quantile, mean held-out B-cubed F over 24 sets 0.901 against 0.883 for "min" (at the
final defaults of that round, every-frame detection and no learner: 0.914 against 0.903).

The rule needs evidence: at least ``MIN_CANNOT_PAIRS`` pairs known to differ, or at
least ``MIN_ITEMS`` items (for a video's tracks, pairs known to differ only: ``TRACKS_MIN_ITEMS``).
With less (a clip of two shots, three people in two videos), nearest neighbours cannot
tell "everyone appears once" from "one person seen several times", and the caller's
``fallback`` distance is used: the face
network's own calibrated value (0.3 for tracks, 0.45 for single faces in dlib's units, times the network's
scale: ``facecluster.cluster.registry.fallback``).
"""
from __future__ import annotations

import numpy as np

NN_QUANTILE = 0.9
NN_FACTOR = 1.4
CANNOT_QUANTILE = 0.1
SCALE_FLOOR = 0.35
MIN_CANNOT_PAIRS = 10
MIN_ITEMS = 50
# A video's tracks never calibrate on nearest neighbours: below MIN_CANNOT_PAIRS pairs on screen together, the
# fallback, however many tracks there are. One person's tracks of one shot are near-duplicates, so the
# nearest-neighbour term says how alike a shot's tracks are, not how far apart one person's shots can be. Stopping
# there, the dev suite's 17 clips with two tracks or more would score a mean B-cubed F (faces alone) of 0.81 against
# 0.93 at the fallback (lower on 12 clips, higher on 3), and 6 of them scaled to 1080p 0.78 against 0.95
# (benchmarks/bench_track_stop.py → results/track_stop.md). supernatural_a scaled to 1080p has 54 tracks and 8 pairs
# on screen together (10 at its own size, where two faces score just above the detector's threshold): the
# nearest-neighbour term, 0.82, split its 6 people into 12.
TRACKS_MIN_ITEMS: int | None = None
# How the two kinds of evidence combine: "min", the smaller of the two stop distances; "cannot", the cannot-link
# quantile alone wherever there are MIN_CANNOT_PAIRS pairs known to differ (nearest neighbours otherwise).
COMBINE = "cannot"


def stop_distance(distances: np.ndarray, cannot_link: np.ndarray | None = None, fallback: float | None = None, *,
                  min_items: int | None = MIN_ITEMS) -> float:
    """The average-linkage stop distance for a symmetric (n, n) distance matrix and (m, 2) cannot-link pairs.

    ``fallback`` where the evidence is too thin (see above; None: use the rule anyway); ``min_items``: how many
    items make nearest neighbours evidence enough where fewer than ``MIN_CANNOT_PAIRS`` pairs are known to differ
    (None: never; a video's tracks, see :data:`TRACKS_MIN_ITEMS`); 0.0 for fewer than two items (nothing to merge)."""
    d = np.array(distances, np.float64)
    n = len(d)
    pairs = np.asarray(cannot_link if cannot_link is not None else np.zeros((0, 2)), np.int64).reshape(-1, 2)
    if n < 2:
        return float(fallback) if fallback is not None and len(pairs) < MIN_CANNOT_PAIRS else 0.0
    np.fill_diagonal(d, np.inf)
    return stop_distance_from(d.min(axis=1), d[np.triu_indices(n, 1)], d[pairs[:, 0], pairs[:, 1]], fallback=fallback,
                              min_items=min_items)


def stop_distance_from(nearest: np.ndarray, typical: np.ndarray, cannot: np.ndarray, *, fallback: float | None = None,
                       min_items: int | None = MIN_ITEMS) -> float:
    """The same rule from its evidence alone, for clusterings that never build an (n, n) matrix.

    nearest: (n,) each item's distance to its nearest other item; typical: (p,) distances
    between pairs of items (all pairs, or a random sample of them); cannot: (m,) distances
    of the cannot-linked pairs."""
    nearest = np.asarray(nearest, np.float64)
    n = len(nearest)
    if fallback is not None and len(cannot) < MIN_CANNOT_PAIRS and (min_items is None or n < min_items):
        return float(fallback)
    if n < 2:
        return 0.0
    floor = SCALE_FLOOR * float(np.median(typical))
    if COMBINE == "cannot" and len(cannot) >= MIN_CANNOT_PAIRS:
        return max(float(np.quantile(np.asarray(cannot, np.float64), CANNOT_QUANTILE)), floor)
    finite = nearest[np.isfinite(nearest)]
    threshold = max(NN_FACTOR * float(np.quantile(finite, NN_QUANTILE)), floor)
    if len(cannot):
        threshold = min(threshold, float(np.quantile(np.asarray(cannot, np.float64), CANNOT_QUANTILE)))
    return threshold
