"""Export dlib's face network (read from dlib's own file) as ONNX, for serving elsewhere.

The exported graph takes what the pipeline feeds the network: ``chips``,
(N, 150, 150, 3) uint8 RGB face chips aligned as by :class:`~facecluster.faces.align.FaceAligner`
(dlib's 5-point alignment, padding 0.25), and returns ``descriptors``, (N, 128)
float32, the same numbers as dlib's ``compute_face_descriptor`` (Euclidean
distance < 0.6 ≈ same person). N is dynamic. Needs the ``onnx`` package
(``pip install 'facecluster[onnx]'``).
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path

from facecluster.errors import InputError, MissingDependencyError

ONNX_OPSET = 17


def _chip_model():
    import torch

    from facecluster.faces.embed import load_torch_resnet

    net = load_torch_resnet("cpu")

    class ChipsToDescriptors(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, chips: torch.Tensor) -> torch.Tensor:
            return self.net(self.net.normalise(chips))

    return ChipsToDescriptors().eval()


def export_embedder(path: str | Path, opset: int = ONNX_OPSET) -> Path:
    """Write the chip → descriptor network to ``path`` (.onnx); returns the path.

    Written to a temporary file in the same folder, then renamed, so an
    interrupted export never leaves a file that looks complete.
    """
    import torch

    try:
        import onnx  # noqa: F401  (torch's exporter needs it)
    except ImportError:
        raise MissingDependencyError("exporting ONNX needs the onnx package: pip install 'facecluster[onnx]'") from None
    path = Path(path)
    if path.is_dir():
        raise InputError(path, "is a folder; give a file name such as model.onnx")
    if not path.parent.exists():
        raise InputError(path.parent, "folder does not exist")
    model = _chip_model()
    example = torch.zeros((2, 150, 150, 3), dtype=torch.uint8)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with warnings.catch_warnings():
            # Sizes inside the network are fixed by the 150×150 input; only N varies.
            warnings.simplefilter("ignore", torch.jit.TracerWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(
                model,
                (example,),
                str(tmp),
                dynamo=False,
                opset_version=opset,
                input_names=["chips"],
                output_names=["descriptors"],
                dynamic_axes={"chips": {0: "n"}, "descriptors": {0: "n"}},
            )
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
