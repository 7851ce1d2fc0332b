"""The detector interface and helpers shared by backends."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TypeVar

import cv2
import numpy as np

from facecluster.boxes import box_iou

T = TypeVar("T")


class FaceDetector(ABC):
    """One required method: :meth:`detect`. ``params`` identify the result for caching."""

    name: str = "detector"
    threads: int = 1  # images :meth:`detect_many` works on at once
    code_version: int = 1  # bump in a backend when a change alters its output
    grid: int = 1  # parts of the network input aligned to this many pixels give the same results as the whole input

    @property
    @abstractmethod
    def params(self) -> dict:
        """Everything that changes the output, as JSON-able values."""

    @abstractmethod
    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Faces in one frame: boxes (K, 4), scores (K,), landmarks (K, 5, 2), float32."""

    def detect_many(self, images: Sequence[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """:meth:`detect` of each image, in order; a backend may run them side by side (same results)."""
        return self.map(self.detect, images)

    def detect_candidates(self, rgb: np.ndarray, below: float, max_side: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Faces in one frame down to ``below`` under the detector's own threshold: boxes (K, 4), scores (K,), in
        frame pixels. The faces at or above the threshold are exactly :meth:`detect`'s; a backend without a score
        threshold returns :meth:`detect`'s alone. ``max_side``: search the frame with its longer side scaled
        down to this many pixels (if longer), as :meth:`network_input` does; the minimum size stays in frame pixels."""
        image, sx, sy = self.network_input(rgb, max_side)
        boxes, scores = self.input_candidates(image, below)
        boxes = (boxes / np.array([sx, sy, sx, sy], np.float32)).astype(np.float32)
        return keep_min_size(boxes, scores, float(getattr(self, "min_size", 0.0)))

    def input_candidates(self, image: np.ndarray, below: float) -> tuple[np.ndarray, np.ndarray]:
        """Faces in a whole network input (:meth:`network_input`'s image) down to ``below`` under the threshold, in
        its pixels, before the minimum size: boxes (K, 4), scores (K,). By default :meth:`detect`'s faces."""
        boxes, scores, _ = self.detect(image)
        return boxes, scores

    def map(self, fn: Callable[[np.ndarray], T], images: Sequence[np.ndarray]) -> list[T]:
        """``fn`` of each image, in order (a backend with ``threads`` > 1 runs them side by side)."""
        return [fn(image) for image in images]

    # Searching parts of a frame (facecluster.faces.detect.windows): a detector that scales frames before its network
    # says how (network_input, grid), so that a part can be cut from exactly the pixels the network sees for the whole frame.
    def network_input(self, rgb: np.ndarray, max_side: int | None = None) -> tuple[np.ndarray, float, float]:
        """The frame as the network sees it: (image, sx, sy), sx × sy image pixels to a frame pixel; with
        ``max_side``, at most that many pixels on the longer side."""
        h, w = rgb.shape[:2]
        scale = input_scale(h, w, max_side)
        if scale == 1.0:
            return rgb, 1.0, 1.0
        in_w, in_h = max(1, round(w * scale)), max(1, round(h * scale))
        return cv2.resize(rgb, (in_w, in_h), interpolation=cv2.INTER_AREA), in_w / w, in_h / h

    def input_side(self, height: int, width: int, max_side: int | None = None) -> int:
        """The longer side, in pixels, of :meth:`network_input`'s image for a frame of this size."""
        return round(max(height, width) * input_scale(height, width, max_side))

    def detect_input(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Faces in (a part of) a network input, in its pixels, before the minimum size: boxes (K, 4), scores (K,)."""
        boxes, scores, _ = self.detect(image)
        return boxes, scores

    def close(self) -> None:
        """Release threads or sessions the backend holds (a no-op unless it holds some)."""


def input_scale(height: int, width: int, max_side: int | None) -> float:
    """The factor that brings a frame's longer side down to ``max_side`` pixels (1.0 if it is no longer, or None)."""
    return 1.0 if max_side is None else min(1.0, max_side / max(height, width))


def keep_min_size(boxes: np.ndarray, scores: np.ndarray, min_size: float) -> tuple[np.ndarray, np.ndarray]:
    """The boxes (K, 4) and scores (K,) whose shorter side is at least ``min_size`` pixels."""
    if not len(boxes):
        return boxes.reshape(-1, 4).astype(np.float32), scores.astype(np.float32)
    big = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) >= min_size
    return boxes[big].astype(np.float32), scores[big].astype(np.float32)


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression: indices kept, highest score first.

    A box is suppressed when its IoU with a kept, higher-scoring box is >= iou_threshold.
    """
    order = np.argsort(-np.asarray(scores), kind="stable")
    iou = box_iou(boxes, boxes)
    suppressed = np.zeros(len(order), bool)
    keep: list[int] = []
    for i in order:
        if suppressed[i]:
            continue
        keep.append(int(i))
        suppressed |= iou[i] >= iou_threshold
    return np.asarray(keep, np.int64)
