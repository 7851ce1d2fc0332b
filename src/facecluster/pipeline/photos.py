"""Photo collections: detect, align, embed and cluster every face in a folder of photos.

Photos have no tracks: faces are clustered one by one, with cannot-links between
faces of the same photo. Unreadable files are skipped with a warning and counted;
they never stop the run.
"""
from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from facecluster.errors import InputError

PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}
MAX_PIXELS = 120_000_000  # refuse larger images (decompression bombs)
SMALL_PHOTO = 400  # photos whose shorter side is below this are padded before detection
CHIP_BATCH = 16  # chips embedded together


@dataclass
class PhotoFaces:
    """Faces of a photo collection, one row per face.

    files: (P,) photo paths relative to the root; face_file: (N,) index into files;
    face_index: (N,) number of the face within its photo; boxes (N, 4); scores (N,);
    vectors (N, 128) descriptors of ``network`` (sface, dlib); skipped: [(path, reason)].
    """

    root: Path
    files: list[str]
    face_file: np.ndarray
    face_index: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    vectors: np.ndarray
    skipped: list[tuple[str, str]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    network: str = "sface"


def list_photos(root: str | Path) -> list[Path]:
    """Photo files under ``root`` (recursive, sorted; symbolic links to folders not followed)."""
    root = Path(root)
    if not root.exists():
        raise InputError(root, "no such folder")
    if not root.is_dir():
        raise InputError(root, "is not a folder of photos")
    found = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            if Path(name).suffix.lower() in PHOTO_SUFFIXES:
                found.append(Path(dirpath) / name)
    return found


def load_photo(path: Path) -> np.ndarray:
    """(H, W, 3) uint8 RGB, EXIF orientation applied; greyscale, CMYK, RGBA and 16-bit converted.

    Raises InputError naming the file when it cannot be read as an image.
    """
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                if img.width * img.height > MAX_PIXELS:
                    raise InputError(path, f"image too large ({img.width}×{img.height} pixels)")
                img.load()
                img = ImageOps.exif_transpose(img)
                if img.mode in ("I;16", "I;16B", "I;16L", "I"):
                    arr = np.asarray(img, np.float64)
                    arr = (255.0 * arr / max(arr.max(), 1.0)).astype(np.uint8)
                    return np.stack([arr] * 3, axis=2)
                return np.asarray(img.convert("RGB"), np.uint8)
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(path, "image too large (decompression bomb guard)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(path, f"not a readable image ({str(exc).splitlines()[0][:80]})") from None


def detect_and_align(rgb: np.ndarray, detector, aligner) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Faces of one photo: boxes (K, 4) in photo pixels, scores (K,), chips (K, S, S, 3) (S: the aligner's chip side)."""
    import cv2

    pad = max(rgb.shape[:2]) // 2 if min(rgb.shape[:2]) < SMALL_PHOTO else 0
    work = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0)) if pad else rgb
    boxes, scores, _ = detector.detect(work)
    chips = aligner.chips(work, boxes)
    boxes = boxes - np.array([pad, pad, pad, pad], np.float32)
    h, w = rgb.shape[:2]
    boxes = np.clip(boxes, 0, [w, h, w, h]).astype(np.float32)
    return boxes, scores, chips


def embed_photos(root: str | Path, *, workers: int = 1, network: str = "sface", embedder: str = "auto", cache_dir: str | Path | None = None,
                 force: bool = False, hook=None, warn=None) -> PhotoFaces:
    """Detect, align and embed every face in the photos under ``root``.

    Photos stream through: memory holds a batch of chips and the collection's vectors,
    never the images. With ``cache_dir``, each photo's faces are cached by file
    (:mod:`facecluster.pipeline.photo_cache`): a rerun embeds only new or changed photos,
    an interrupted run resumes; ``force`` ignores what is cached."""
    from collections import deque

    from facecluster.faces.detect import make_detector
    from facecluster.faces.embed import CODE_VERSION as EMBED_VERSION
    from facecluster.faces.embed import embed_chip_batches, make_aligner, network_id, output_params, resolve_embedder
    from facecluster.pipeline.photo_cache import PhotoCache, PhotoEntry, photo_key

    root = Path(root)
    paths = list_photos(root)
    cache = PhotoCache(cache_dir, reuse=not force)
    backend = resolve_embedder(embedder, network=network)
    params = {"detector": "centerface", "network": network_id(network), "embedder": backend, "embed_code": EMBED_VERSION,
              "pad_below": SMALL_PHOTO, **output_params(embedder, network=network)}
    keys = [photo_key(root, p, params) for p in paths]
    detector = aligner = None
    skipped: list[tuple[str, str]] = []
    waiting: deque = deque()  # (key, boxes, scores, faces) of photos whose chips are being embedded, in order
    detect_s = [0.0]

    def chip_batches():
        """Chips of the photos not in the cache, in batches of ``CHIP_BATCH`` as photos are read."""
        nonlocal detector, aligner
        pending: list[np.ndarray] = []
        for n, (path, key) in enumerate(zip(paths, keys)):
            if hook:
                hook("detect", n + 1, len(paths))
            if cache.get(key) is not None:
                continue
            t0 = time.perf_counter()
            try:
                rgb = load_photo(path)
            except InputError as exc:
                skipped.append((str(path.relative_to(root)), exc.problem))
                if warn:
                    warn(str(exc))
                continue
            if detector is None:
                detector, aligner = make_detector("centerface"), make_aligner(network)
            b, s, c = detect_and_align(rgb, detector, aligner)
            waiting.append((key, b, s, len(c)))
            pending.extend(c)
            detect_s[0] += time.perf_counter() - t0
            while len(pending) >= CHIP_BATCH:
                yield np.stack(pending[:CHIP_BATCH])
                pending = pending[CHIP_BATCH:]
        if pending:
            yield np.stack(pending)

    def settle(vectors: np.ndarray) -> np.ndarray:
        """Give the waiting photos, in order, their vectors; return what is left over."""
        while waiting and len(vectors) >= waiting[0][3]:
            key, b, s, k = waiting.popleft()
            cache.add(key, PhotoEntry(b, s, vectors[:k]))
            vectors = vectors[k:]
        return vectors

    t0 = time.perf_counter()
    left = np.zeros((0, 128), np.float32)
    for out in embed_chip_batches(chip_batches(), workers=workers, embedder=embedder, network=network):
        left = settle(np.concatenate([left, out]))
    settle(left)  # photos with no face after the last batch
    cache.flush()
    total = time.perf_counter() - t0
    files, face_file, face_index, boxes, scores, vectors = [], [], [], [], [], []
    for path, key in zip(paths, keys):
        entry = cache.get(key)
        if entry is None:
            continue  # unreadable: skipped above
        face_file.extend([len(files)] * len(entry.boxes))
        face_index.extend(range(len(entry.boxes)))
        files.append(str(path.relative_to(root)))
        boxes.append(entry.boxes)
        scores.append(entry.scores)
        vectors.append(entry.vectors)
    return PhotoFaces(
        root=root,
        files=files,
        face_file=np.asarray(face_file, np.int64),
        face_index=np.asarray(face_index, np.int64),
        boxes=np.concatenate(boxes).reshape(-1, 4).astype(np.float32) if boxes else np.zeros((0, 4), np.float32),
        scores=np.concatenate(scores).astype(np.float32) if scores else np.zeros(0, np.float32),
        vectors=np.concatenate(vectors).reshape(-1, 128).astype(np.float32) if vectors else np.zeros((0, 128), np.float32),
        skipped=skipped,
        timings={"detect": detect_s[0], "embed": total - detect_s[0]},  # embedding overlaps detection with workers
        network=network,
    )


def same_photo_pairs(face_file: np.ndarray) -> np.ndarray:
    """Cannot-links between the faces of each photo: (m, 2) int64 row pairs, for (N,) photo of each face."""
    face_file = np.asarray(face_file, np.int64)
    order = np.argsort(face_file, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(face_file[order])) + 1) if len(order) else []
    pairs = [(int(g[a]), int(g[b])) for g in groups if len(g) > 1 for a in range(len(g)) for b in range(a + 1, len(g))]
    return np.asarray(pairs, np.int64).reshape(-1, 2)


def cluster_photo_faces(faces: PhotoFaces, *, num_people: int | None = None, method: str = "average",
                        threshold: float | None = None, learn: str = "none", seed: int = 0,
                        network: str = "sface") -> np.ndarray:
    """Person of each face (N,), 0 = the person with most faces; faces of one photo are never joined.

    ``average`` (the default) is exact average linkage up to a few thousand faces and average
    linkage on a nearest-neighbour graph beyond (:func:`facecluster.cluster.embeddings.make_embedding_clusterer`),
    so a library of 100,000 faces clusters in about linear time; ``graph`` forces the latter."""
    from facecluster.cluster.embeddings import by_size, make_embedding_clusterer
    from facecluster.cluster.registry import fallback, make_clusterer
    from facecluster.distances import l2_normalize

    n = len(faces.vectors)
    if n == 0:
        return np.zeros(0, np.int64)
    X = faces.vectors
    if learn == "ssiam" and n >= 2:
        from facecluster.learn.variants import make_learner

        X = make_learner("ssiam", "tuned", seed).fit_transform(X)
    k = None if num_people is None else min(num_people, n)
    if method in ("average", "graph"):
        model = make_embedding_clusterer(n, n_clusters=k, method="auto" if method == "average" else "graph",
                                         distance_threshold="auto" if threshold is None else threshold,
                                         fallback_threshold=fallback("faces", network), random_state=seed)
    else:
        model = make_clusterer(method, n_clusters=k, threshold=threshold, items="faces", network=network)
    return by_size(model.fit_predict(l2_normalize(X), cannot_link=same_photo_pairs(faces.face_file)))
