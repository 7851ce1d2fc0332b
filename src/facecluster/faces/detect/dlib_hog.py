"""dlib's HOG + linear SVM frontal face detector (package ``dlib-bin``)."""
from __future__ import annotations

import numpy as np

from facecluster.errors import MissingDependencyError
from facecluster.faces.detect.base import FaceDetector


def _dlib():
    try:
        import dlib
    except ImportError:
        raise MissingDependencyError("dlib is missing: pip install dlib-bin") from None
    return dlib


class DlibHogDetector(FaceDetector):
    """Frontal faces only, roughly 80 px and up at upsample 0 (40 px at upsample 1).

    upsample: times the image is doubled before detection; adjust_threshold: added to
    the SVM's threshold (lower finds more). Scores are the SVM margins passed through
    a logistic function so that they lie in [0, 1]. No landmarks (NaN).
    """

    name = "dlib-hog"

    def __init__(self, *, upsample: int = 1, adjust_threshold: float = 0.0) -> None:
        self.upsample = int(upsample)
        self.adjust_threshold = float(adjust_threshold)
        self._detector = _dlib().get_frontal_face_detector()

    @property
    def params(self) -> dict:
        return {"backend": self.name, "upsample": self.upsample, "adjust_threshold": self.adjust_threshold}

    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rects, margins, _ = self._detector.run(np.ascontiguousarray(rgb), self.upsample, self.adjust_threshold)
        h, w = rgb.shape[:2]
        boxes = np.array(
            [[max(r.left(), 0), max(r.top(), 0), min(r.right() + 1, w), min(r.bottom() + 1, h)] for r in rects],
            np.float32,
        ).reshape(-1, 4)
        scores = (1.0 / (1.0 + np.exp(-np.asarray(margins, np.float64)))).astype(np.float32)
        landmarks = np.full((len(boxes), 5, 2), np.nan, np.float32)
        return boxes, scores, landmarks
