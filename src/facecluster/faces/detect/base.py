"""The detector interface and helpers shared by backends."""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from facecluster.boxes import box_iou


class FaceDetector(ABC):
    """One required method: :meth:`detect`. ``params`` identify the result for caching."""

    name: str = "detector"
    threads: int = 1  # images :meth:`detect_many` works on at once
    code_version: int = 1  # bump in a backend when a change alters its output

    @property
    @abstractmethod
    def params(self) -> dict:
        """Everything that changes the output, as JSON-able values."""

    @abstractmethod
    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Faces in one frame: boxes (K, 4), scores (K,), landmarks (K, 5, 2), float32."""

    def detect_many(self, images: Sequence[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """:meth:`detect` of each image, in order; a backend may run them side by side (same results)."""
        return [self.detect(image) for image in images]

    def close(self) -> None:
        """Release threads or sessions the backend holds (a no-op unless it holds some)."""


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
