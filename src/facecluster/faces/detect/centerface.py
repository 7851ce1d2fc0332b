"""CenterFace (Xu et al. 2019), run through onnxruntime (default) or OpenCV's dnn module.

The ONNX file ships inside facecluster (``faces/detect/models/centerface.onnx``,
MIT licence; ``models/LICENSE`` says where it comes from and how it was changed: its
input and output shapes are declared dynamic, see ``tools/centerface_dynamic.py``). The
network maps an RGB image (sides multiples of 32, pixel values 0..255) to four maps at
1/4 resolution: a face-centre heatmap (1 channel), log box sizes (2: height, width),
centre offsets (2: y, x) and landmark offsets (10: y, x of the eyes, nose tip and mouth
corners, relative to the box corner in units of the box size). The decoder below turns
those maps into boxes.

Speed (benchmarks/results/detector.md, 2 cores, 640×384 input): onnxruntime with one
thread per frame and two frames at once runs ~1.7× as many frames a second as OpenCV's
dnn with two threads on one frame; the two backends' maps agree to 1e-6.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np

from facecluster.errors import MissingDependencyError, ParameterError
from facecluster.faces import shipped_model
from facecluster.faces.detect.base import FaceDetector, T, nms
from facecluster.threads import available_cores

INPUT_NAME = "input.1"
OUTPUT_NAMES = ["537", "538", "539", "540"]
STRIDE = 4
BACKENDS = ("onnxruntime", "opencv")


def model_path() -> str:
    """Path of ``centerface.onnx`` shipped inside this package."""
    return shipped_model("facecluster.faces.detect", "centerface.onnx", "CenterFace model")


def decode_outputs(
    heatmap: np.ndarray,
    scale: np.ndarray,
    offset: np.ndarray,
    landmarks: np.ndarray,
    input_size: tuple[int, int],
    threshold: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Boxes from CenterFace's maps (batch of 1), in network-input pixels.

    heatmap (1, 1, h, w), scale (1, 2, h, w), offset (1, 2, h, w), landmarks (1, 10, h, w);
    input_size (height, width) of the network input. Returns boxes (K, 4), scores (K,),
    landmarks (K, 5, 2), before non-maximum suppression.
    """
    height, width = input_size
    ys, xs = np.nonzero(heatmap[0, 0] > threshold)
    scores = heatmap[0, 0, ys, xs].astype(np.float32)
    box_h = np.exp(scale[0, 0, ys, xs]) * STRIDE
    box_w = np.exp(scale[0, 1, ys, xs]) * STRIDE
    cy = (ys + offset[0, 0, ys, xs] + 0.5) * STRIDE
    cx = (xs + offset[0, 1, ys, xs] + 0.5) * STRIDE
    x1 = np.clip(cx - box_w / 2, 0, width)
    y1 = np.clip(cy - box_h / 2, 0, height)
    x2 = np.minimum(x1 + box_w, width)
    y2 = np.minimum(y1 + box_h, height)
    boxes = np.stack([x1, y1, x2, y2], axis=1).astype(np.float32)
    lm = landmarks[0][:, ys, xs].T.reshape(-1, 5, 2)  # (K, 5, [dy, dx])
    points = np.stack([lm[:, :, 1] * box_w[:, None] + x1[:, None], lm[:, :, 0] * box_h[:, None] + y1[:, None]], axis=2)
    return boxes, scores, points.astype(np.float32)


def resize_for_network(rgb: np.ndarray, width: int, height: int) -> np.ndarray:
    """(height, width, 3) ``rgb`` (H, W, 3) resized for the network: halved by 2×2 area averaging while it stays at
    least twice the size asked (a last odd row or column left out), then bilinear (which also pads a side up to the
    network's grid, e.g. 640×360 to 640×384).

    Bilinear alone reads 4 source pixels an output pixel and skips the rest: a 1080p frame shrunk 3× that way aliases,
    and small faces that CenterFace finds in the same footage at 360p scored under its threshold (the London crowd
    scaled to 1080p: recall 0.979, 0.996 with the halvings; benchmarks/RESULTS.md). The halvings average every pixel,
    as cv2.INTER_AREA does, at about a fifth of its cost (0.5 against 2.5 ms for 1080p to 640×384); a frame less than
    twice the size asked (720p to 640×384) is resized bilinearly, as before."""
    image = rgb
    while image.shape[1] >= 2 * width and image.shape[0] >= 2 * height:
        half_h, half_w = image.shape[0] // 2, image.shape[1] // 2
        image = cv2.resize(image[: 2 * half_h, : 2 * half_w], (half_w, half_h), interpolation=cv2.INTER_AREA)
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_LINEAR)


class _OnnxRuntimeNet:
    """One onnxruntime session, one intra-op thread per call; calls may run in parallel threads."""

    def __init__(self, path: str) -> None:
        try:
            import onnxruntime
        except ImportError:
            raise MissingDependencyError("the onnxruntime backend needs the onnxruntime package "
                                         "(pip install onnxruntime), or use backend='opencv'") from None
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])

    def forward(self, blob: np.ndarray) -> list[np.ndarray]:
        return self._session.run(OUTPUT_NAMES, {INPUT_NAME: blob})


class _OpenCvNet:
    """OpenCV's dnn module; one network per thread (a cv2.dnn.Net is not safe to share)."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._local = threading.local()

    def forward(self, blob: np.ndarray) -> list[np.ndarray]:
        net = getattr(self._local, "net", None)
        if net is None:
            net = self._local.net = cv2.dnn.readNetFromONNX(self._path)
        net.setInput(blob)
        return list(net.forward(OUTPUT_NAMES))


class CenterFaceDetector(FaceDetector):
    """CenterFace detector.

    score_threshold: minimum heatmap score; min_size: minimum box side in frame pixels;
    nms_iou: IoU at which the weaker of two boxes is dropped; max_input_side: frames
    whose longer side exceeds this are scaled down first (pixels); backend: ``onnxruntime``
    or ``opencv`` (same results to float rounding); threads: images that onnxruntime detects
    side by side in :meth:`detect_many` (0: one per available core; OpenCV parallelises
    inside each call instead).
    """

    name = "centerface"
    grid = 32  # the network's largest stride
    # 2: frames shrunk 2× or more for the network are area-averaged first (resize_for_network; bilinear before).
    code_version = 2

    def __init__(
        self,
        *,
        score_threshold: float = 0.5,
        min_size: float = 16.0,
        nms_iou: float = 0.3,
        max_input_side: int = 1280,
        backend: str = "onnxruntime",
        threads: int = 0,
    ) -> None:
        if not 0.0 < score_threshold < 1.0:
            raise ParameterError(f"score_threshold must be in (0, 1) (here: score_threshold={score_threshold})")
        if max_input_side < 64:
            raise ParameterError(f"max_input_side must be >= 64 (here: max_input_side={max_input_side})")
        if backend not in BACKENDS:
            raise ParameterError(f"backend must be one of {', '.join(BACKENDS)} (here: backend={backend!r})")
        if threads < 0:
            raise ParameterError(f"threads must be >= 0 (here: threads={threads})")
        self.score_threshold = float(score_threshold)
        self.min_size = float(min_size)
        self.nms_iou = float(nms_iou)
        self.max_input_side = int(max_input_side)
        self.backend = backend
        self.threads = int(threads) or available_cores()
        self._net = _OnnxRuntimeNet(model_path()) if backend == "onnxruntime" else _OpenCvNet(model_path())
        self._pool: ThreadPoolExecutor | None = None

    @property
    def params(self) -> dict:
        # The backend and thread count change speed only (the maps agree to 1e-6): not part of the cache key.
        return {
            "backend": self.name,
            "score_threshold": self.score_threshold,
            "min_size": self.min_size,
            "nms_iou": self.nms_iou,
            "max_input_side": self.max_input_side,
        }

    def _input_size(self, h: int, w: int, max_side: int | None) -> tuple[int, int]:
        shrink = min(1.0, min(self.max_input_side, max_side or self.max_input_side) / max(h, w))
        return int(np.ceil(w * shrink / 32) * 32), int(np.ceil(h * shrink / 32) * 32)

    def input_side(self, height: int, width: int, max_side: int | None = None) -> int:
        return max(self._input_size(height, width, max_side))

    def network_input(self, rgb: np.ndarray, max_side: int | None = None) -> tuple[np.ndarray, float, float]:
        h, w = rgb.shape[:2]
        in_w, in_h = self._input_size(h, w, max_side)
        if (in_w, in_h) == (w, h):
            return rgb, 1.0, 1.0
        return resize_for_network(rgb, in_w, in_h), in_w / w, in_h / h

    def _detect_input(self, image: np.ndarray, below: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Boxes, scores and landmarks in the pixels of ``image``, whose sides are multiples of 32, after NMS;
        down to ``below`` under the score threshold (NMS lets no box suppress a better-scoring one: the boxes
        at or above the threshold are the same)."""
        in_h, in_w = image.shape[:2]
        blob = cv2.dnn.blobFromImage(image, scalefactor=1.0, size=(in_w, in_h), mean=(0, 0, 0), swapRB=False, crop=False)
        heatmap, scale, offset, lms = self._net.forward(blob)
        boxes, scores, points = decode_outputs(heatmap, scale, offset, lms, (in_h, in_w), self.score_threshold - below)
        if len(boxes):
            keep = nms(boxes, scores, self.nms_iou)
            boxes, scores, points = boxes[keep], scores[keep], points[keep]
        return boxes, scores, points

    def detect_input(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        boxes, scores, _ = self._detect_input(image)
        return boxes, scores

    def input_candidates(self, image: np.ndarray, below: float) -> tuple[np.ndarray, np.ndarray]:
        boxes, scores, _ = self._detect_input(image, below)
        return boxes, scores

    def detect(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        image, sx, sy = self.network_input(rgb)
        boxes, scores, points = self._detect_input(image)
        if len(boxes):
            boxes = boxes / np.array([sx, sy, sx, sy], np.float32)
            points = points / np.array([sx, sy], np.float32)
            sides = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
            big = sides >= self.min_size
            boxes, scores, points = boxes[big], scores[big], points[big]
        return boxes.astype(np.float32), scores.astype(np.float32), points.astype(np.float32)

    def map(self, fn: Callable[[np.ndarray], T], images: Sequence[np.ndarray]) -> list[T]:
        """``fn`` of each image, ``threads`` at a time (each network call is single-threaded)."""
        if self.threads == 1 or len(images) < 2 or self.backend == "opencv":  # OpenCV threads inside one call
            return [fn(image) for image in images]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="centerface")
        return list(self._pool.map(fn, images))

    def close(self) -> None:
        """Stop the worker threads (they also stop when the detector is garbage-collected)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __del__(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.shutdown(wait=False)
