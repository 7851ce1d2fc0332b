"""Track-level quantities for clustering: a track's feature (mean of its faces), the tracks that are
probably not a face, and people ordered by screen time."""
from __future__ import annotations

import numpy as np

from facecluster.distances import l2_normalize, pairwise
from facecluster.types import Embeddings, Tracks

# A track's descriptor weighs each face by its detector score to this power: a sharp, frontal face scores
# near 1, a blurred or turned one lower. Measured on the dev clips (score^p, p in 2..16; benchmarks/results/learn.md):
# p from 3 to 8 gave the same gain (Sweden 0.981 -> 1.000, the two clips joined 0.897 -> 0.911, K estimated,
# faces alone), Hamilton unchanged; p = 2 gained nothing, p = 16 lost on Sweden. In-sample: both clips chose it.
QUALITY_POWER = 4


def track_means(tracks: Tracks, emb: Embeddings, scores: np.ndarray | None = None) -> np.ndarray:
    """(T, D) float32: L2-normalised mean of each track's L2-normalised embedded faces.

    scores: (N,) detector score of every detection (indexed by ``emb.rows``); where given,
    each face is weighted by ``score ** QUALITY_POWER``."""
    T = tracks.num_tracks
    dim = emb.vectors.shape[1] if emb.vectors.ndim == 2 else 128
    sums = np.zeros((T, dim), np.float64)
    tids = tracks.track_ids[emb.rows]
    if len(emb.rows):
        faces = l2_normalize(np.asarray(emb.vectors, np.float64))
        if scores is not None:
            faces = faces * (np.clip(np.asarray(scores, np.float64)[emb.rows], 1e-3, 1.0) ** QUALITY_POWER)[:, None]
        np.add.at(sums, tids, faces)
    return l2_normalize(sums).astype(np.float32)


def track_scores(tracks: Tracks, scores: np.ndarray) -> np.ndarray:
    """(T,) median detector score of each track's faces; scores: (N,) of every detection."""
    out = np.zeros(tracks.num_tracks, np.float64)
    order = np.argsort(tracks.track_ids, kind="stable")
    ids = tracks.track_ids[order]
    starts = np.searchsorted(ids, np.arange(tracks.num_tracks + 1))
    for t in range(tracks.num_tracks):
        out[t] = float(np.median(scores[order[starts[t] : starts[t + 1]]])) if starts[t + 1] > starts[t] else 0.0
    return out


def not_a_face_tracks(scores: np.ndarray, features: np.ndarray, cannot_link: np.ndarray, *, low_score: float = 0.6) -> np.ndarray:
    """(T,) bool: tracks that are probably not a face (a title card, a poster, a statue).

    Two kinds of evidence must agree, each measured on this very video: the detector was
    unsure over the whole track (median score ``scores`` (T,) below ``low_score``), and the
    track's face (``features`` (T, D), L2-normalised) is farther from every confident track
    than the two farthest-apart people on screen together are from each other (the largest
    cannot-link distance; ``cannot_link`` (m, 2)). Without pairs on screen together or
    without confident tracks there is no yardstick, and no track is set aside.
    """
    T = len(scores)
    flagged = np.zeros(T, bool)
    confident = np.asarray(scores) >= low_score
    if T < 2 or len(cannot_link) == 0 or not confident.any() or confident.all():
        return flagged
    d = pairwise(features)
    different = float(d[cannot_link[:, 0], cannot_link[:, 1]].max())
    nearest_confident = d[:, confident].min(axis=1)
    return ~confident & (nearest_confident > different)


def order_by_screen_time(labels: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Relabel clusters 0..P-1 by falling screen time (frames covered), ties by first appearance;
    label -1 (not a face) stays -1."""
    people = np.unique(labels[labels >= 0])
    keys = []
    for p in people:
        members = labels == p
        covered = sum(int(l - f + 1) for f, l in zip(first[members], last[members]))
        keys.append((-covered, int(first[members].min()), int(p)))
    order = [k[2] for k in sorted(keys)]
    mapping = {old: new for new, old in enumerate(order)}
    mapping[-1] = -1
    return np.asarray([mapping[int(l)] for l in labels], np.int64)
