"""YuNet (Wu, Peng, Yu: "YuNet: A Tiny Millisecond-level Face Detector", Machine Intelligence Research 2023), run by
OpenCV's ``cv2.FaceDetectorYN``.

The ONNX file ships inside facecluster (``faces/detect/models/face_detection_yunet_2023mar.onnx``, MIT,
``LICENSE-yunet.txt`` beside it), byte-identical to the OpenCV model zoo's. Faces of about 10–300 pixels; 5
landmarks (eyes, nose tip, mouth corners). The network sees the image at its own size (OpenCV pads it to a multiple
of 32), so a window cut on the 32-pixel grid sees the pixels the whole frame does; near a window's edge the padding
differs, as for any detector searched in windows. One detector object is not thread-safe: calls run one at a time
(OpenCV threads inside each).
"""
from __future__ import annotations

import threading

import cv2
import numpy as np

from facecluster.errors import ParameterError
from facecluster.faces.detect.base import FaceDetector, nms


class YuNetDetector(FaceDetector):
    """YuNet on the whole image: boxes (K, 4), scores (K,) and landmarks (K, 5, 2), float32 pixels."""

    name = "yunet"
    grid = 32  # the network's largest stride
    code_version = 1

    def __init__(self, *, score_threshold: float = 0.5, min_size: float = 16.0, nms_iou: float = 0.3) -> None:
        if not 0.0 < score_threshold < 1.0:
            raise ParameterError(f"score_threshold must be in (0, 1) (here: score_threshold={score_threshold})")
        from facecluster.faces.landmarks import yunet_path

        self.score_threshold = float(score_threshold)
        self.min_size = float(min_size)
        self.nms_iou = float(nms_iou)
        # Faces down to 0.1 under the threshold come out of the network (detect_candidates); NMS here, in one place.
        self._net = cv2.FaceDetectorYN.create(yunet_path(), "", (320, 320), max(0.01, self.score_threshold - 0.1), 0.99, 5000)
        self._lock = threading.Lock()

    @property
    def params(self) -> dict:
        return {"backend": self.name, "score_threshold": self.score_threshold, "min_size": self.min_size,
                "nms_iou": self.nms_iou}

    def _raw(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        h, w = rgb.shape[:2]
        with self._lock:
            self._net.setInputSize((w, h))
            _, faces = self._net.detect(cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR))
        if faces is None or len(faces) == 0:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32)
        faces = np.asarray(faces, np.float32)
        boxes = np.concatenate([faces[:, :2], faces[:, :2] + faces[:, 2:4]], axis=1)
        boxes = np.clip(boxes, 0, [w, h, w, h]).astype(np.float32)
        return boxes, faces[:, 14].copy(), faces[:, 4:14].reshape(-1, 5, 2).copy()

    def _detect(self, rgb: np.ndarray, below: float, min_size: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        boxes, scores, points = self._raw(rgb)
        keep = scores >= self.score_threshold - below
        boxes, scores, points = boxes[keep], scores[keep], points[keep]
        if len(boxes):
            order = nms(boxes, scores, self.nms_iou)
            boxes, scores, points = boxes[order], scores[order], points[order]
            sides = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
            big = sides >= (self.min_size if min_size else 0.0)
            boxes, scores, points = boxes[big], scores[big], points[big]
        return boxes, scores, points

    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return self._detect(rgb, 0.0)

    def input_candidates(self, image: np.ndarray, below: float) -> tuple[np.ndarray, np.ndarray]:
        boxes, scores, _ = self._detect(image, min(below, 0.1), min_size=False)
        return boxes, scores

    def detect_input(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # A window: every box, whatever its size (the caller applies the minimum size in frame pixels).
        boxes, scores, _ = self._raw(image)
        keep = scores >= self.score_threshold
        boxes, scores = boxes[keep], scores[keep]
        if len(boxes):
            order = nms(boxes, scores, self.nms_iou)
            boxes, scores = boxes[order], scores[order]
        return boxes, scores
