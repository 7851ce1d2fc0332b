"""Faces and clothing combined into one distance between tracks, calibrated per video without labels.

Clothing says something only within a scene (people change clothes between
scenes), so it enters only for two tracks of the same scene that both show a
torso; everywhere else the distance is the face distance alone.

How much clothing is worth is measured on pairs the video provides:

- *same person*: two tracks of one scene, in different shots, whose faces are
  very close (face distance < ``CONFIDENT_SAME``), and the two halves of every
  long track;
- *different people*: two tracks on screen at the same time (the cannot-links).

If clothing separates these two sets well (area under the ROC curve of the
clothing distance, AUC), its weight is ``MAX_WEIGHT × (2·AUC − 1)``; if not
(AUC ≤ 0.5, or fewer than ``MIN_PAIRS`` of either), the weight is 0 and the
result is the face distance. The combined distance of a same-scene pair is::

    d = d_face + clip(weight × (d_clothing − midpoint), −CAP, +CAP)

where ``midpoint`` lies halfway between the two sets' median clothing distances.
The face distance keeps its meaning (the calibrated stop distance still
applies), and clothing can move a pair by at most ``CAP`` either way: it can
join a blurred face to its person in the same scene, or split two similar faces
in different clothes, but never overrule strong face evidence.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facecluster.distances import distance_scale, pairwise
from facecluster.types import Detections, Embeddings, Shots, Tracks
from facecluster.video import scenes
from facecluster.video.tracking import track_spans

CONFIDENT_SAME = 0.25  # face distance (L2-normalised track means) taken as "same person" for calibration
MIN_PAIRS = 5
# In dlib's distance units (times the network's scale, facecluster.distances.distance_scale), per network,
# each chosen leave-one-set-out on the dev suite (benchmarks/loso.py --family clothing → results/
# dev_suite_loso_clothing_dlib.md for dlib, dev_suite_loso_clothing.md for SFace: 0.3 and 0.1 chosen for 17 of 18
# clips, held out 0.940 against 0.936 with dlib's 0.6 and 0.2: SFace's faces need less help). A network without its
# own (vectors of unknown origin) gets dlib's.
MAX_WEIGHT = {"dlib": 0.6, "sface": 0.3}
CAP = {"dlib": 0.2, "sface": 0.1}


def limits(network: str | None) -> tuple[float, float, float]:
    """(confident-same distance, largest weight, cap) for ``network``'s distances."""
    scale = distance_scale(network)
    key = network if network in MAX_WEIGHT else "dlib"
    return CONFIDENT_SAME * scale, MAX_WEIGHT[key] * scale, CAP[key] * scale


@dataclass
class ClothingCalibration:
    """What the video said about clothing: its weight (0 = ignored), the neutral
    clothing distance, the AUC it reached, and how many pairs of each kind were used."""

    weight: float
    midpoint: float
    auc: float
    same_pairs: int
    different_pairs: int


def average_ranks(values: np.ndarray) -> np.ndarray:
    """(n,) ranks 1..n of ``values`` (n,), ties given their average rank (as ``scipy.stats.rankdata``, whose
    import takes ~0.5 s of CPU on 2 cores)."""
    values = np.asarray(values).ravel()
    order = np.argsort(values, kind="mergesort")
    inverse = np.empty(len(values), np.intp)
    inverse[order] = np.arange(len(values))
    ordered = values[order]
    starts = np.r_[True, ordered[1:] != ordered[:-1]]
    group = np.cumsum(starts)[inverse]  # 1-based tie group of each value
    bounds = np.r_[np.flatnonzero(starts), len(values)]
    return 0.5 * (bounds[group] + bounds[group - 1] + 1)


def auc(positive: np.ndarray, negative: np.ndarray) -> float:
    """P(a random *different* pair has a larger clothing distance than a random *same* pair)."""
    if len(positive) == 0 or len(negative) == 0:
        return 0.5
    ranks = average_ranks(np.concatenate([positive, negative]))  # ties get their average rank
    r_neg = ranks[len(positive):].sum()
    n_pos, n_neg = len(positive), len(negative)
    return float((r_neg - n_neg * (n_neg + 1) / 2) / (n_pos * n_neg))


def calibrate(same: np.ndarray, different: np.ndarray, network: str | None = None) -> ClothingCalibration:
    """Weight of clothing from clothing distances of same-person (k,) and different-people (m,) pairs, for the face
    distances of ``network`` (None: dlib's units)."""
    if len(same) < MIN_PAIRS or len(different) < MIN_PAIRS:
        return ClothingCalibration(0.0, 0.0, 0.5, len(same), len(different))
    area = auc(same, different)
    weight = limits(network)[1] * max(0.0, 2.0 * area - 1.0)
    midpoint = float((np.median(same) + np.median(different)) / 2)
    return ClothingCalibration(weight, midpoint, area, len(same), len(different))




def combined_distances(
    face: np.ndarray,
    clothing: np.ndarray,
    clothing_valid: np.ndarray,
    scene: np.ndarray,
    shot: np.ndarray,
    cannot_link: np.ndarray,
    half_pairs: np.ndarray | None = None,
    network: str | None = None,
) -> tuple[np.ndarray, ClothingCalibration]:
    """Track × track distances from faces and clothing, and the calibration used.

    face: (T, D) L2-normalised track face features; clothing: (T, C) track clothing
    descriptors; clothing_valid: (T,) bool; scene, shot: (T,) int scene and shot of
    each track; cannot_link: (m, 2) co-occurring track pairs; half_pairs: (h,)
    clothing distances between the two halves of long tracks (same person); network: whose face distances these
    are (:func:`limits`; None: dlib's).
    """
    T = len(face)
    confident_same, _, cap = limits(network)
    d_face = pairwise(face)
    if T < 2:
        return d_face, ClothingCalibration(0.0, 0.0, 0.5, 0, 0)
    d_cloth = pairwise(clothing)
    usable = (scene[:, None] == scene[None, :]) & clothing_valid[:, None] & clothing_valid[None, :]
    np.fill_diagonal(usable, False)
    upper = np.triu(np.ones((T, T), bool), 1)
    confident = usable & upper & (d_face < confident_same) & (shot[:, None] != shot[None, :])
    same = d_cloth[confident]
    if half_pairs is not None and len(half_pairs):
        same = np.concatenate([same, np.asarray(half_pairs, np.float64)])
    links = np.asarray(cannot_link, np.int64).reshape(-1, 2)
    keep = usable[links[:, 0], links[:, 1]] if len(links) else np.zeros(0, bool)
    different = d_cloth[links[keep, 0], links[keep, 1]] if len(links) else np.zeros(0)
    calibration = calibrate(same, different, network)
    if calibration.weight == 0.0:
        return d_face, calibration
    shift = np.clip(calibration.weight * (d_cloth - calibration.midpoint), -cap, cap)
    d = np.where(usable, np.maximum(d_face + shift, 0.0), d_face)
    np.fill_diagonal(d, 0.0)
    return d, calibration


def track_distances_with_clothing(features: np.ndarray, tracks: Tracks, detections: Detections, emb: Embeddings,
                                  shots: Shots, described: dict, cannot: np.ndarray, network: str | None = None):
    """(T, T) face + clothing distances between tracks and the calibration; ``described``: the clothing
    stage's output (:func:`facecluster.clothing.descriptors.describe_video`); ``network``: see :func:`combined_distances`."""
    T = tracks.num_tracks
    tids = tracks.track_ids[emb.rows]
    cloth, valid = described["clothing"], described["valid"].astype(bool)
    sums = np.zeros((T, cloth.shape[1]))
    counts = np.zeros(T)
    np.add.at(sums, tids[valid], cloth[valid])
    np.add.at(counts, tids[valid], 1)
    track_cloth = sums / np.maximum(counts, 1)[:, None]
    halves = []
    for t in range(T):
        rows = np.flatnonzero((tids == t) & valid)  # in frame order
        if len(rows) >= 4:
            half = len(rows) // 2
            halves.append(float(np.linalg.norm(cloth[rows[:half]].mean(0) - cloth[rows[half:]].mean(0))))
    first, _ = track_spans(tracks, detections)
    shot = shots.shot_of(first)
    scene_of_shot = scenes.group_shots(described["background"])
    scene = scene_of_shot[shot] if len(scene_of_shot) else np.zeros(T, np.int64)
    d, calibration = combined_distances(features, track_cloth, counts > 0, scene, shot, cannot, np.asarray(halves), network)
    return d, {**calibration.__dict__, "scenes": int(scene_of_shot.max(initial=-1) + 1)}
