"""Re-implementations of the face-clustering recipes people use today, with each project's documented defaults.

Used by benchmarks/compare.py; sources and deviations are listed in the README
("Compared with the tools people use"). Every function takes descriptors as
(n, d) float arrays and returns (n,) int labels; noise (unclustered faces)
becomes one singleton cluster per face, as those tools leave such faces
unassigned.
"""
from __future__ import annotations

import numpy as np

# pyannote-video (pyannote/video/face/clustering.py, FaceClustering; the README's demo uses threshold=0.6)
PYANNOTE_THRESHOLD = 0.6
# face_recognition's documented clustering example / dlib's face_clustering.py: chinese_whispers_clustering(descriptors, 0.5)
CHINESE_WHISPERS_THRESHOLD = 0.5
# Immich: machine-learning facial recognition defaults, maxDistance 0.5 (cosine distance), minFaces 3
IMMICH_MAX_DISTANCE, IMMICH_MIN_FACES = 0.5, 3
# PhotoPrism: internal/ai/face/thresholds.go, ClusterDist 0.64 (Euclidean), ClusterCore 4
PHOTOPRISM_CLUSTER_DIST, PHOTOPRISM_CLUSTER_CORE = 0.64, 4


def _noise_to_singletons(labels: np.ndarray) -> np.ndarray:
    labels = labels.copy()
    noise = np.flatnonzero(labels < 0)
    labels[noise] = labels.max(initial=-1) + 1 + np.arange(len(noise))
    return labels


def _l2(X: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norms == 0, 1, norms)


def pyannote_face_clustering(
    track_faces: list[np.ndarray], cannot_link: np.ndarray, threshold: float = PYANNOTE_THRESHOLD
) -> np.ndarray:
    """pyannote-video's FaceClustering: agglomerative clustering of tracks.

    A cluster's model is the average descriptor of all its faces (weighted by face
    count when clusters merge); the first distance matrix is Euclidean between the
    raw track averages, later ones between L2-normalised averages (as in the
    source); clusters whose tracks co-occur never merge (``DoNotCooccur``);
    merging stops when the closest pair is farther than ``threshold``.
    track_faces: per track, its faces' descriptors (k_t, d); cannot_link: (m, 2)
    track pairs that co-occur. Returns (T,) track labels.
    """
    T = len(track_faces)
    means = [f.mean(axis=0) for f in track_faces]
    counts = [len(f) for f in track_faces]
    alive = list(range(T))
    members = {t: {t} for t in range(T)}
    forbidden = {(int(a), int(b)) for a, b in cannot_link} | {(int(b), int(a)) for a, b in cannot_link}
    X = np.stack(means) if T else np.zeros((0, 1))
    D = np.sqrt(((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)) if T else np.zeros((0, 0))
    dist = {(i, j): D[i, j] for i in range(T) for j in range(i + 1, T)}

    def blocked(a: int, b: int) -> bool:
        return any((x, y) in forbidden for x in members[a] for y in members[b])

    while len(alive) > 1:
        candidates = [(d, i, j) for (i, j), d in dist.items() if not blocked(i, j)]
        if not candidates:
            break
        d, i, j = min(candidates)
        if d > threshold:
            break
        new = max(members) + 1
        means.append(np.average([means[i], means[j]], axis=0, weights=[counts[i], counts[j]]))
        counts.append(counts[i] + counts[j])
        members[new] = members.pop(i) | members.pop(j)
        alive = [c for c in alive if c not in (i, j)]
        dist = {k: v for k, v in dist.items() if i not in k and j not in k}
        x = _l2(means[new][None])[0]
        for c in alive:
            dist[(c, new)] = float(np.linalg.norm(_l2(means[c][None])[0] - x))
        alive.append(new)
    labels = np.empty(T, np.int64)
    for k, c in enumerate(alive):
        labels[list(members[c])] = k
    return labels


def chinese_whispers(X: np.ndarray, threshold: float = CHINESE_WHISPERS_THRESHOLD) -> np.ndarray:
    """dlib.chinese_whispers_clustering on raw (not normalised) descriptors, edges where distance < threshold."""
    import dlib

    vectors = [dlib.vector(row.astype(np.float64).tolist()) for row in X]
    return np.asarray(dlib.chinese_whispers_clustering(vectors, threshold), np.int64)


def immich_dbscan(X: np.ndarray) -> np.ndarray:
    """DBSCAN with cosine distance ≤ 0.5 and at least 3 faces (Immich's defaults)."""
    from sklearn.cluster import DBSCAN

    labels = DBSCAN(eps=IMMICH_MAX_DISTANCE, min_samples=IMMICH_MIN_FACES, metric="cosine").fit_predict(X)
    return _noise_to_singletons(labels)


def photoprism_dbscan(X: np.ndarray) -> np.ndarray:
    """DBSCAN with Euclidean distance ≤ 0.64 on L2-normalised descriptors, cores of ≥ 4 faces (PhotoPrism's defaults)."""
    from sklearn.cluster import DBSCAN

    labels = DBSCAN(eps=PHOTOPRISM_CLUSTER_DIST, min_samples=PHOTOPRISM_CLUSTER_CORE).fit_predict(_l2(X))
    return _noise_to_singletons(labels)


def finch_plain(X: np.ndarray, level: int = 1) -> np.ndarray:
    """FINCH (Sarfraz et al. 2019) on L2-normalised descriptors, no constraints, partition ``level``."""
    from facecluster.cluster.finch import FINCH

    return np.asarray(FINCH(level=level).fit_predict(_l2(X)), np.int64)


def hog_faces(rgb: np.ndarray, detector, predictor) -> tuple[np.ndarray, np.ndarray]:
    """face_recognition's pipeline on one image: HOG boxes (upsample 1) and dlib chips cut
    from the 5-point landmarks found in each HOG box (face_recognition's ``model='small'``).
    Returns boxes (k, 4) float32 and chips (k, 150, 150, 3) uint8."""
    import dlib

    image = np.ascontiguousarray(rgb)
    rects = detector(image, 1)
    boxes = np.array([[r.left(), r.top(), r.right(), r.bottom()] for r in rects], np.float32).reshape(-1, 4)
    if not len(rects):
        return boxes, np.zeros((0, 150, 150, 3), np.uint8)
    shapes = dlib.full_object_detections()
    for r in rects:
        shapes.append(predictor(image, r))
    chips = dlib.get_face_chips(image, shapes, size=150, padding=0.25)
    return boxes, np.stack([np.asarray(c, np.uint8) for c in chips])


def face_recognition_recipe(images, workers: int = 1):
    """The whole face_recognition recipe over ``images``, an iterable of (key, RGB image):
    HOG faces, dlib descriptors of every face (the dlib backend, on ``workers`` processes),
    Chinese whispers at 0.5. Returns the key of each face (list), boxes (n, 4), descriptors
    (n, 128) and labels (n,)."""
    import dlib

    from facecluster.faces.align import model_file
    from facecluster.faces.embed import embed_chip_batches

    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(model_file("shape_predictor_5_face_landmarks.dat"))
    keys: list = []
    boxes: list = []

    def chips():
        for key, rgb in images:
            b, c = hog_faces(rgb, detector, predictor)
            keys.extend([key] * len(b))
            boxes.extend(b)
            if len(c):
                yield c

    X = np.concatenate(list(embed_chip_batches(chips(), workers=workers, embedder="dlib")) or [np.zeros((0, 128), np.float32)])
    return keys, np.asarray(boxes, np.float32).reshape(-1, 4), X, chinese_whispers(X)
