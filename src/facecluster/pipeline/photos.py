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


@dataclass
class PhotoFaces:
    """Faces of a photo collection, one row per face.

    files: (P,) photo paths relative to the root; face_file: (N,) index into files;
    face_index: (N,) number of the face within its photo; boxes (N, 4); scores (N,);
    vectors (N, 128) dlib descriptors; skipped: [(path, reason)].
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
    """Faces of one photo: boxes (K, 4) in photo pixels, scores (K,), chips (K, 150, 150, 3)."""
    import cv2

    pad = max(rgb.shape[:2]) // 2 if min(rgb.shape[:2]) < SMALL_PHOTO else 0
    work = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0)) if pad else rgb
    boxes, scores, _ = detector.detect(work)
    chips = aligner.chips(work, boxes) if len(boxes) else np.zeros((0, 150, 150, 3), np.uint8)
    boxes = boxes - np.array([pad, pad, pad, pad], np.float32)
    h, w = rgb.shape[:2]
    boxes = np.clip(boxes, 0, [w, h, w, h]).astype(np.float32)
    return boxes, scores, chips


def embed_photos(root: str | Path, *, workers: int = 1, embedder: str = "torch", hook=None, warn=None) -> PhotoFaces:
    """Detect, align and embed every face in the photos under ``root``."""
    from facecluster.faces.align import FaceAligner
    from facecluster.faces.detect import make_detector
    from facecluster.faces.embed import embed_chip_batches

    root = Path(root)
    paths = list_photos(root)
    detector, aligner = make_detector("centerface"), FaceAligner()
    files, face_file, face_index, boxes, scores, skipped = [], [], [], [], [], []
    detect_s = [0.0]

    def chip_batches():
        """Chips in batches of 16 as photos are read, so memory holds one batch, not the collection."""
        pending: list[np.ndarray] = []
        for n, path in enumerate(paths):
            t0 = time.perf_counter()
            rel = str(path.relative_to(root))
            try:
                rgb = load_photo(path)
            except InputError as exc:
                skipped.append((rel, exc.problem))
                if warn:
                    warn(str(exc))
                continue
            b, s, c = detect_and_align(rgb, detector, aligner)
            k = len(files)
            files.append(rel)
            face_file.extend([k] * len(b))
            face_index.extend(range(len(b)))
            boxes.append(b)
            scores.append(s)
            pending.extend(c)
            detect_s[0] += time.perf_counter() - t0
            if hook:
                hook("detect", n + 1, len(paths))
            while len(pending) >= 16:
                yield np.stack(pending[:16])
                pending = pending[16:]
        if pending:
            yield np.stack(pending)

    t0 = time.perf_counter()
    vectors = np.concatenate(list(embed_chip_batches(chip_batches(), workers=workers, embedder=embedder)) or [np.zeros((0, 128), np.float32)])
    total = time.perf_counter() - t0
    return PhotoFaces(
        root=root,
        files=files,
        face_file=np.asarray(face_file, np.int64),
        face_index=np.asarray(face_index, np.int64),
        boxes=np.concatenate(boxes).reshape(-1, 4) if boxes else np.zeros((0, 4), np.float32),
        scores=np.concatenate(scores) if scores else np.zeros(0, np.float32),
        vectors=vectors,
        skipped=skipped,
        timings={"detect": detect_s[0], "embed": total - detect_s[0]},  # embedding overlaps detection with workers
    )


def cluster_photo_faces(faces: PhotoFaces, *, num_people: int | None = None, method: str = "average",
                        threshold: float | None = None, learn: str = "none", seed: int = 0) -> np.ndarray:
    """Person of each face (N,), 0 = the person with most faces; faces of one photo are never joined."""
    from facecluster.cluster.registry import make_clusterer
    from facecluster.distances import l2_normalize

    n = len(faces.vectors)
    if n == 0:
        return np.zeros(0, np.int64)
    X = faces.vectors
    if learn == "ssiam" and n >= 2:
        from facecluster.learn.variants import make_learner

        X = make_learner("ssiam", "tuned", seed).fit_transform(X)
    pairs = [(i, j) for f in np.unique(faces.face_file) for idx in [np.flatnonzero(faces.face_file == f)]
             for a, i in enumerate(idx) for j in idx[a + 1 :]]
    model = make_clusterer(method, n_clusters=None if num_people is None else min(num_people, n), threshold=threshold, items="faces")
    labels = model.fit_predict(l2_normalize(X), cannot_link=np.asarray(pairs, np.int64).reshape(-1, 2))
    sizes = np.bincount(labels)
    order = sorted(range(len(sizes)), key=lambda p: (-sizes[p], int(np.flatnonzero(labels == p)[0])))
    mapping = {old: new for new, old in enumerate(order)}
    return np.asarray([mapping[int(l)] for l in labels], np.int64)
