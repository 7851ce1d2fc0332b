"""Export dlib's face network (read from dlib's own file) as ONNX, for serving elsewhere.

The exported graph takes what the pipeline feeds the network: ``chips``,
(N, 150, 150, 3) uint8 RGB face chips aligned as by :class:`~facecluster.faces.align.FaceAligner`
(dlib's 5-point alignment, padding 0.25), and returns ``descriptors``, (N, 128)
float32, the same numbers as dlib's ``compute_face_descriptor`` (Euclidean
distance < 0.6 ≈ same person). N is dynamic. It is the graph the ``onnxruntime``
embedder runs (opset 17), the file shipped in ``faces/embed/models/`` (built by ``tools/dlib_resnet_onnx.py``).
"""
from __future__ import annotations

import os
from pathlib import Path

from facecluster.errors import InputError


def export_embedder(path: str | Path) -> Path:
    """Write the chip → descriptor network to ``path`` (.onnx); returns the path.

    Written to a temporary file in the same folder, then renamed, so an
    interrupted export never leaves a file that looks complete.
    """
    from facecluster.faces.embed import dlib_onnx_path

    path = Path(path)
    if path.is_dir():
        raise InputError(path, "is a folder; give a file name such as model.onnx")
    if not path.parent.exists():
        raise InputError(path.parent, "folder does not exist")
    model = Path(dlib_onnx_path()).read_bytes()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(model)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
