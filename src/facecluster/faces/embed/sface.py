"""SFace (Zhong et al., IEEE TIP 2021): a face aligned on 5 landmarks to 112×112 → a 128-d vector, compared by cosine.

The ONNX file ships inside facecluster (``faces/embed/models/face_recognition_sface_2021dec.onnx``, Apache-2.0,
``LICENSE-sface.txt`` beside it), byte-identical to the OpenCV model zoo's. It runs in fixed batches of ``BATCH``
chips (the last one padded) on one of two backends (``BACKENDS``), which in f32 give the same vectors to 1e-5:

- ``openvino`` where that package is installed (``pip install 'facecluster[openvino]'``): ~10 ms a face on one core
  in f32, and two inference streams on two cores; its vectors do not depend on the thread or stream count, nor on a
  chip's batch-mates (``benchmarks/bench_sface_backends.py``). On a CPU that runs bfloat16 (``precision`` ``auto``:
  AMX or AVX-512 BF16) it runs in bf16, 3.6 times as fast, its vectors at a cosine of 0.993 or more from f32's (320
  faces of Sweden; 0.9999 on the demo photos); a run's people on the dev suite were the same on 17 of 18 clips
  (``benchmarks/results/dev_suite.md``, ``sface_bf16``);
- ``opencv`` otherwise, OpenCV's dnn module: ~17 ms a face on one core (onnxruntime takes 28 on the same file: its
  weights are declared as graph inputs, so nothing is folded). Two cores run two copies of the network side by
  side, one batch each on one thread: OpenCV's own threading waits at every layer for its slowest thread, and lost
  a third of its speed while another thread of the process cut the next chips. A copy holds ~180 MB while it runs
  (its layers' outputs for a batch), so there are at most ``MAX_COPIES``; more cores share them as OpenCV threads.

Alignment follows OpenCV's ``FaceRecognizerSF.alignCrop``: the similarity transform (rotation, uniform scale,
translation; Umeyama's least squares) that takes the face's 5 landmarks (eyes, nose tip, mouth corners, the
image's left one of each pair first) onto the ArcFace template of 112×112 pixels, then a bilinear warp.
The network reads the chip as RGB values 0..255 (``blobFromImage(..., swapRB=True)`` on a BGR chip).
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import cv2
import numpy as np

from facecluster.errors import ParameterError
from facecluster.faces import shipped_model
from facecluster.faces.embed.batches import in_fixed_batches
from facecluster.faces.warp import warp_area
from facecluster.openvino_runtime import cpu_runs_bf16, import_openvino, installed as openvino_installed
from facecluster.threads import opencv_threads

MODEL_FILE = "face_recognition_sface_2021dec.onnx"
CHIP_SIZE = 112  # pixels, the side of the aligned chip
BATCH = 16  # chips per forward pass (the last batch padded with zero chips)
MAX_COPIES = 2  # copies of the network (OpenVINO: inference streams) that run side by side at most
BACKENDS = ("openvino", "opencv")
PRECISIONS = ("auto", "f32")  # OpenVINO's: bf16 where the CPU runs it, else f32; or f32 always
CODE_VERSION = 2  # bump when a change alters the chips or vectors (the landmarks included)
# Where the 5 landmarks land in the 112×112 chip (x, y): eyes, nose tip, mouth corners; the image's left one first.
ARCFACE_TEMPLATE = np.array([[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366],
                             [41.5493, 92.3655], [70.7299, 92.2041]], np.float64)


def model_path() -> str:
    """Path of the SFace ONNX file shipped inside this package."""
    return shipped_model("facecluster.faces.embed", MODEL_FILE, "SFace model")


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 2×3 similarity transform (rotation, uniform scale, translation) that maps points ``src`` (P, 2) onto
    ``dst`` (P, 2) with the least squared error (Umeyama 1991; no reflection)."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    src_mean, dst_mean = src.mean(0), dst.mean(0)
    a, b = src - src_mean, dst - dst_mean
    cov = b.T @ a / len(src)
    u, s, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[1] = -1
    rotation = u @ np.diag(d) @ vt
    variance = (a ** 2).sum() / len(src)
    scale = (s * d).sum() / variance if variance > 0 else 1.0
    matrix = np.zeros((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


def align_chip(rgb: np.ndarray, landmarks: np.ndarray, template: np.ndarray = ARCFACE_TEMPLATE) -> np.ndarray:
    """The 112×112 RGB chip (uint8) of the face whose 5 landmarks (5, 2) are given, in pixels of ``rgb`` (H, W, 3).

    Points of ``landmarks`` that are NaN are left out of the fit (at least 2 must remain), with the template's
    matching points."""
    landmarks = np.asarray(landmarks, np.float64)
    known = ~np.isnan(landmarks).any(axis=1)
    matrix = similarity_transform(landmarks[known], template[known])
    return warp_area(rgb, matrix, (CHIP_SIZE, CHIP_SIZE))


class SFaceAligner:
    """Cuts SFace's 112×112 RGB chips (uint8) of faces from a frame, aligned on landmarks found in each face's crop
    (:class:`facecluster.faces.landmarks.LandmarkFinder`, CenterFace's by default)."""

    def __init__(self, landmarks: str | None = None) -> None:
        from facecluster.faces.landmarks import DEFAULT_SOURCE, LandmarkFinder

        self.finder = LandmarkFinder(landmarks or DEFAULT_SOURCE)

    def chips(self, rgb: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Chips of the faces in ``boxes`` (K, 4) of one frame (H, W, 3): (K, 112, 112, 3) uint8."""
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        if len(boxes) == 0:
            return np.zeros((0, CHIP_SIZE, CHIP_SIZE, 3), np.uint8)
        points = self.finder.find(rgb, boxes)
        return np.stack([align_chip(rgb, p) for p in points])


_IDLE_NETS: queue.SimpleQueue = queue.SimpleQueue()  # OpenCV's copies of the network no thread is running
_OPENVINO: dict[tuple[int, str], queue.SimpleQueue] = {}  # (threads, precision) → idle requests of the network compiled so
_OPENVINO_LOCK = threading.Lock()


def default_backend() -> str:
    """``openvino`` where that package is installed, else ``opencv``."""
    return "openvino" if openvino_installed() else "opencv"


def default_precision(backend: str | None = None) -> str:
    """The precision SFace runs in at ``precision="auto"``: ``bf16`` on OpenVINO where the CPU runs it, else ``f32``."""
    return "bf16" if (backend or default_backend()) == "openvino" and cpu_runs_bf16() else "f32"


def resolve_precision(precision: str, backend: str) -> str:
    """The precision ``precision`` (one of ``PRECISIONS``) names on ``backend``: ``f32`` or ``bf16``."""
    if precision not in PRECISIONS:
        raise ParameterError(f"precision must be one of {', '.join(PRECISIONS)} (here: {precision!r})")
    return default_precision(backend) if precision == "auto" else "f32"


def copies_for(threads: int) -> int:
    """How many copies of the network (OpenVINO: inference streams) ``threads`` cores run side by side."""
    return min(max(1, int(threads)), MAX_COPIES)


def preload(threads: int = 1, backend: str | None = None, precision: str = "auto") -> None:
    """Load the network for ``threads`` cores now (in a background thread while detection runs)."""
    backend = backend or default_backend()
    if backend == "openvino":
        _openvino_requests(threads, resolve_precision(precision, backend))
        return
    while _IDLE_NETS.qsize() < copies_for(threads):
        _IDLE_NETS.put(_load_net())


def _load_net():
    return cv2.dnn.readNetFromONNX(model_path())


@contextmanager
def _a_net() -> Iterator:
    """A copy of OpenCV's network for this thread alone (an idle one, else a new one), returned when done."""
    try:
        net = _IDLE_NETS.get_nowait()
    except queue.Empty:
        net = _load_net()
    try:
        yield net
    finally:
        _IDLE_NETS.put(net)


def _openvino_requests(threads: int, precision: str) -> queue.SimpleQueue:
    """The idle inference requests of the network compiled by OpenVINO for ``threads`` cores in ``copies_for``
    streams, in ``precision`` (``f32`` or ``bf16``; one request a stream; compiled once per thread count and precision)."""
    threads = max(1, int(threads))
    with _OPENVINO_LOCK:
        if (threads, precision) not in _OPENVINO:
            openvino = import_openvino("SFace's openvino backend")
            core = openvino.Core()
            model = core.read_model(model_path())
            model.reshape({model.inputs[0].get_any_name(): [BATCH, 3, CHIP_SIZE, CHIP_SIZE]})
            streams = copies_for(threads)
            compiled = core.compile_model(model, "CPU", {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": streams,
                                                         "INFERENCE_PRECISION_HINT": precision, "ENABLE_CPU_PINNING": False})
            idle: queue.SimpleQueue = queue.SimpleQueue()
            for _ in range(streams):
                idle.put(compiled.create_infer_request())
            _OPENVINO[threads, precision] = idle
        return _OPENVINO[threads, precision]


class SFaceEmbedder:
    """SFace: (K, 112, 112, 3) uint8 RGB chips → (K, 128) float32 vectors (not normalised).

    Chips go through the network in batches of exactly ``BATCH`` (the last one padded), so a chip's vector does
    not depend on its batch-mates. ``threads`` cores: ``copies`` batches side by side (at most ``MAX_COPIES``), as
    OpenVINO's inference streams or as copies of OpenCV's network, each on ``threads_per_copy`` OpenCV threads. A
    call spreads its batches over the copies; calls from up to ``copies`` threads at once run side by side.
    ``backend``: one of ``BACKENDS`` (None: :func:`default_backend`); ``precision``: one of ``PRECISIONS``
    (OpenVINO's; OpenCV runs f32), resolved as :attr:`precision`."""

    def __init__(self, threads: int = 1, backend: str | None = None, precision: str = "auto") -> None:
        self.backend = backend or default_backend()
        if self.backend not in BACKENDS:
            raise ParameterError(f"backend must be one of {', '.join(BACKENDS)} (here: {self.backend!r})")
        self.precision = resolve_precision(precision, self.backend)
        self.threads = max(1, int(threads))
        self.copies = copies_for(self.threads)
        self.threads_per_copy = self.threads // self.copies
        preload(self.threads, self.backend, precision)

    @property
    def name(self) -> str:
        """The backend's name, as the other embedders give theirs."""
        return self.backend

    def embed(self, chips: np.ndarray) -> np.ndarray:
        parts = [chips[start : start + BATCH] for start in range(0, len(chips), BATCH)]
        run = self._run_openvino if self.backend == "openvino" else _run
        with opencv_threads(self.threads_per_copy):
            if len(parts) <= 1 or self.copies == 1:
                return in_fixed_batches(chips, BATCH, run)
            with ThreadPoolExecutor(max_workers=min(self.copies, len(parts))) as pool:
                return np.concatenate(list(pool.map(lambda part: in_fixed_batches(part, BATCH, run), parts)))

    def _run_openvino(self, part: np.ndarray) -> np.ndarray:
        """One inference on (BATCH, 112, 112, 3) uint8 chips: (BATCH, 128) float32, on an idle stream (waits for one)."""
        idle = _openvino_requests(self.threads, self.precision)
        request = idle.get()
        try:
            request.infer({0: np.ascontiguousarray(part.transpose(0, 3, 1, 2), np.float32)})
            return np.array(request.get_output_tensor(0).data, np.float32)
        finally:
            idle.put(request)


def _run(part: np.ndarray) -> np.ndarray:
    """One forward pass of OpenCV's network on (BATCH, 112, 112, 3) uint8 chips: (BATCH, 128) float32, on this thread
    alone."""
    with _a_net() as net:
        net.setInput(part.transpose(0, 3, 1, 2).astype(np.float32))
        return np.array(net.forward(), np.float32)
