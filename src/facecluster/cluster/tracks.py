"""Track-level quantities for clustering: a track's feature (mean of its faces) and people ordered by screen time."""
from __future__ import annotations

import numpy as np

from facecluster.distances import l2_normalize
from facecluster.types import Embeddings, Tracks


def track_means(tracks: Tracks, emb: Embeddings) -> np.ndarray:
    """(T, D) float32: mean descriptor of each track's embedded faces, L2-normalised."""
    T = tracks.num_tracks
    dim = emb.vectors.shape[1] if emb.vectors.ndim == 2 else 128
    sums = np.zeros((T, dim), np.float64)
    counts = np.zeros(T)
    tids = tracks.track_ids[emb.rows]
    np.add.at(sums, tids, emb.vectors)
    np.add.at(counts, tids, 1)
    return l2_normalize(sums / np.maximum(counts, 1)[:, None]).astype(np.float32)


def order_by_screen_time(labels: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Relabel clusters 0..P-1 by falling screen time (frames covered), ties by first appearance."""
    people = np.unique(labels)
    keys = []
    for p in people:
        members = labels == p
        covered = sum(int(l - f + 1) for f, l in zip(first[members], last[members]))
        keys.append((-covered, int(first[members].min()), int(p)))
    order = [k[2] for k in sorted(keys)]
    mapping = {old: new for new, old in enumerate(order)}
    return np.asarray([mapping[int(l)] for l in labels], np.int64)
