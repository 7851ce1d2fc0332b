"""Where a clustering is least sure: tracks far from their person, and pairs of people that may be one."""
from __future__ import annotations

import numpy as np

from facecluster.pipeline.photos import PhotoFaces
from facecluster.pipeline.video import VideoResult
from facecluster.video.tracking import overlapping_pairs, track_spans


def uncertainty(result: VideoResult, max_items: int = 6) -> tuple[list[dict], list[dict]]:
    """Where the clustering is least sure: (far tracks, close pairs of people).

    far tracks: tracks whose feature is farthest (Euclidean, L2-normalised) from the
    mean of the other tracks of their person; close pairs: pairs of people never on
    screen together whose mean features are closest.
    """
    F = result.track_features.astype(np.float64)
    P = result.num_people
    if P == 0 or len(F) == 0:
        return [], []
    first, last = track_spans(result.tracks, result.detections)
    far = []
    for t in range(len(F)):
        p = result.track_person[t]
        if p < 0:  # not a face: listed on its own
            continue
        others = np.flatnonzero((result.track_person == p) & (np.arange(len(F)) != t))
        if len(others):
            centre = F[others].mean(axis=0)
            centre /= max(np.linalg.norm(centre), 1e-12)
            far.append({"track_id": int(t), "person": int(p), "distance": round(float(np.linalg.norm(F[t] - centre)), 4)})
    far.sort(key=lambda d: (-d["distance"], d["track_id"]))
    means = np.stack([F[result.track_person == p].mean(axis=0) for p in range(P)])
    means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
    together = np.zeros((P, P), bool)
    for a, b in overlapping_pairs(first, last):
        pa, pb = result.track_person[a], result.track_person[b]
        if pa >= 0 and pb >= 0:
            together[pa, pb] = together[pb, pa] = True
    pairs = []
    for a in range(P):
        for b in range(a + 1, P):
            if not together[a, b]:
                pairs.append({"people": [a, b], "distance": round(float(np.linalg.norm(means[a] - means[b])), 4)})
    pairs.sort(key=lambda d: (d["distance"], d["people"]))
    return far[:max_items], pairs[:max_items]


def close_people(faces: PhotoFaces, person: np.ndarray, chips: dict[int, list[str]], max_pairs: int = 6) -> list[dict]:
    """Pairs of people never in one photo whose mean faces are closest — perhaps one person split in two."""
    from facecluster.distances import l2_normalize

    P = int(person.max()) + 1 if len(person) else 0
    if P < 2:
        return []
    X = l2_normalize(faces.vectors)
    means = l2_normalize(np.stack([X[person == p].mean(axis=0) for p in range(P)]))
    photos = [set(faces.face_file[person == p].tolist()) for p in range(P)]
    pairs = []
    for a in range(P):
        for b in range(a + 1, P):
            if not photos[a] & photos[b]:
                d = float(np.linalg.norm(means[a] - means[b]))
                pairs.append({"people": [a, b], "distance": round(d, 4), "chips": chips.get(a, [])[:1] + chips.get(b, [])[:1]})
    pairs.sort(key=lambda d: (d["distance"], d["people"]))
    return pairs[:max_pairs]
