"""A stop distance that calibrates itself on each collection's own evidence.

No distance constant is tied to one face network: the scale comes from the
data being clustered. Two kinds of evidence, both in the same distances the
clustering uses:

- **nearest neighbours**: where most people have several faces (photo
  collections, embeddings, videos where people come back), an item's nearest
  neighbour is mostly the same person, so the upper range of nearest-neighbour
  distances (their ``NN_QUANTILE`` quantile) tells how far apart one person's
  faces can be. The stop distance is ``NN_FACTOR`` times that.
- **pairs known to be different people** (cannot-links: tracks on screen
  together, faces of one photo): merging at a distance where a tenth of those
  pairs already lie would join different people, so, given at least
  ``MIN_CANNOT_PAIRS`` of them, the stop distance is at most their
  ``CANNOT_QUANTILE`` quantile. This matters where most people appear once (a
  street-interview video), when nearest neighbours are mostly other people.

Measured (benchmarks/bench_stop_rule.py → benchmarks/results/stop_rule.md) with
dlib and FaceNet-128 descriptors alike; the constants are dimensionless.
"""
from __future__ import annotations

import numpy as np

NN_QUANTILE = 0.9
NN_FACTOR = 1.4
CANNOT_QUANTILE = 0.1
MIN_CANNOT_PAIRS = 10


def stop_distance(distances: np.ndarray, cannot_link: np.ndarray | None = None) -> float:
    """The average-linkage stop distance for a symmetric (n, n) distance matrix and (m, 2) cannot-link pairs.

    0.0 for fewer than two items (nothing to merge)."""
    d = np.array(distances, np.float64)
    n = len(d)
    if n < 2:
        return 0.0
    np.fill_diagonal(d, np.inf)
    nearest = d.min(axis=1)
    threshold = NN_FACTOR * float(np.quantile(nearest[np.isfinite(nearest)], NN_QUANTILE))
    pairs = np.asarray(cannot_link if cannot_link is not None else np.zeros((0, 2)), np.int64).reshape(-1, 2)
    if len(pairs) >= MIN_CANNOT_PAIRS:
        threshold = min(threshold, float(np.quantile(d[pairs[:, 0], pairs[:, 1]], CANNOT_QUANTILE)))
    return threshold
