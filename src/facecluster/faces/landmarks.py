"""Five landmarks of a detected face (eyes, nose tip, mouth corners; the image's left one of each pair first),
found again inside the face's own crop, for SFace's alignment.

A face's landmarks come from a small detector run on a square crop around its box (``CROP_SCALE`` × the box's
longer side, resized to ``CROP_SIDE`` pixels), whichever face there overlaps the box most. Three sources:

- ``centerface`` (the default): CenterFace's own landmark head, the detector facecluster finds faces with;
- ``yunet``: YuNet (MIT; shipped as ``faces/detect/models/face_detection_yunet_2023mar.onnx``) through
  ``cv2.FaceDetectorYN``;
- ``dlib``: dlib's 5-point shape model (eye corners and the base of the nose); eye centres are the means of
  their corners, the nose point stands for the nose tip, and the mouth corners are left out of the fit (NaN).

Where the crop's detector finds no face overlapping the box, the landmarks are the template's points laid on the
box (``BOX_LAYOUT``), as if the face were frontal and upright in it.
"""
from __future__ import annotations

import threading

import cv2
import numpy as np

from facecluster.boxes import box_iou
from facecluster.errors import ParameterError
from facecluster.faces import shipped_model
from facecluster.faces.warp import warp_area

SOURCES = ("yunet", "centerface", "dlib")
# Chosen on the dev suite's 18 labelled clips (benchmarks/bench_alignment.py → results/alignment.md): SFace on
# CenterFace's landmarks gave the best mean same/different AUC (0.941; YuNet 0.930, dlib 0.922, the box layout
# 0.901) and best-threshold B-cubed F (0.974; YuNet 0.959), for ~5 ms a face against YuNet's ~2.
DEFAULT_SOURCE = "centerface"
CROP_SCALE = 2.0  # crop side ÷ the box's longer side
CROP_SIDE = 160  # pixels: the crop as the landmark detector sees it (a face ~80 px wide)
MIN_OVERLAP = 0.3  # IoU between the crop detector's face and the box for its landmarks to count
# The crop detector's score threshold. Lower finds more landmarks (on the ground-truth faces of four hard dev clips,
# Joker, Queen's Gambit, London crowd, AP: 0.76 of faces at 0.5, 0.88 at 0.3, 0.99 at 0.15) but they align no better
# than the box layout does: same/different AUC 0.806/0.938/0.824/0.938 at 0.5, 0.804/0.937/0.817/0.938 at 0.3.
CROP_SCORE = 0.5
YUNET_FILE = "face_detection_yunet_2023mar.onnx"
# The 5 points as fractions of a detector box (x from its left, y from its top) on a frontal, upright face:
# the median over the dev suite's faces of CenterFace boxes and YuNet landmarks (benchmarks/bench_alignment.py).
BOX_LAYOUT = np.array([[0.27, 0.36], [0.72, 0.36], [0.485, 0.56], [0.31, 0.735], [0.68, 0.735]], np.float32)


def yunet_path() -> str:
    """Path of the YuNet ONNX file shipped inside this package."""
    return shipped_model("facecluster.faces.detect", YUNET_FILE, "YuNet model")


def box_landmarks(boxes: np.ndarray) -> np.ndarray:
    """``BOX_LAYOUT`` laid on each box (K, 4): (K, 5, 2) float32 pixels."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    size = (boxes[:, 2:] - boxes[:, :2])[:, None, :]
    return boxes[:, None, :2] + BOX_LAYOUT[None] * size


def crop_geometry(box: np.ndarray) -> tuple[float, float, float]:
    """(left, top, scale) of a box's square crop: crop pixel (u, v) is frame pixel (left + u·scale, top + v·scale)."""
    x1, y1, x2, y2 = (float(v) for v in box)
    side = CROP_SCALE * max(x2 - x1, y2 - y1, 1.0)
    return (x1 + x2 - side) / 2, (y1 + y2 - side) / 2, side / CROP_SIDE


def cut_crop(rgb: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, float, float, float]:
    """The box's square crop at CROP_SIDE × CROP_SIDE (black beyond the frame), with its geometry."""
    left, top, scale = crop_geometry(box)
    matrix = np.array([[1 / scale, 0, -left / scale], [0, 1 / scale, -top / scale]])
    crop = warp_area(rgb, matrix, (CROP_SIDE, CROP_SIDE))  # (warpAffine takes INTER_AREA as bilinear)
    return crop, left, top, scale


class LandmarkFinder:
    """Landmarks of faces in a frame: ``find(rgb, boxes)`` → (K, 5, 2) float32 frame pixels (see the module)."""

    def __init__(self, source: str = DEFAULT_SOURCE) -> None:
        if source not in SOURCES:
            raise ParameterError(f"landmarks must be one of {', '.join(SOURCES)} (here: {source!r})")
        self.source = source
        self.found = 0  # faces whose landmarks came from the crop's detector (the rest: BOX_LAYOUT)
        self.asked = 0
        self._lock = threading.Lock()
        if source == "yunet":
            self._yunet = cv2.FaceDetectorYN.create(yunet_path(), "", (CROP_SIDE, CROP_SIDE), CROP_SCORE, 0.3, 20)
        elif source == "centerface":
            from facecluster.faces.detect.centerface import CenterFaceDetector

            self._centerface = CenterFaceDetector(threads=1, min_size=8.0, score_threshold=CROP_SCORE)
        else:
            from facecluster.faces.align import _dlib, model_file

            self._dlib = _dlib()
            self._predictor = self._dlib.shape_predictor(model_file("shape_predictor_5_face_landmarks.dat"))

    def find(self, rgb: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        out = box_landmarks(boxes)
        with self._lock:
            for i, box in enumerate(boxes):
                points = self._dlib_points(rgb, box) if self.source == "dlib" else self._crop_points(rgb, box)
                self.asked += 1
                if points is not None:
                    out[i] = points
                    self.found += 1
        return out

    def _crop_points(self, rgb: np.ndarray, box: np.ndarray) -> np.ndarray | None:
        crop, left, top, scale = cut_crop(rgb, box)
        if self.source == "yunet":
            _, faces = self._yunet.detect(cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))
            if faces is None or len(faces) == 0:
                return None
            found = np.asarray(faces, np.float32)
            found_boxes = np.concatenate([found[:, :2], found[:, :2] + found[:, 2:4]], axis=1)
            points = found[:, 4:14].reshape(-1, 5, 2)
        else:
            found_boxes, _, points = self._centerface.detect(crop)
            if len(found_boxes) == 0:
                return None
        in_crop = (np.asarray(box, np.float32) - np.array([left, top, left, top], np.float32)) / scale
        overlap = box_iou(in_crop[None], found_boxes)[0]
        best = int(np.argmax(overlap))
        if overlap[best] < MIN_OVERLAP:
            return None
        return points[best] * scale + np.array([left, top], np.float32)

    def _dlib_points(self, rgb: np.ndarray, box: np.ndarray) -> np.ndarray:
        from facecluster.faces.align import square_box

        dlib = self._dlib
        left, top, right, bottom = square_box(box, rgb.shape)
        shape = self._predictor(np.ascontiguousarray(rgb), dlib.rectangle(left, top, right, bottom))
        p = np.array([[shape.part(i).x, shape.part(i).y] for i in range(5)], np.float32)
        # dlib's 5 points: 0, 1 one eye's corners, 2, 3 the other's, 4 the base of the nose.
        eyes = sorted([p[0:2].mean(0), p[2:4].mean(0)], key=lambda e: e[0])
        nan = np.full(2, np.nan, np.float32)
        return np.stack([eyes[0], eyes[1], p[4], nan, nan]).astype(np.float32)
