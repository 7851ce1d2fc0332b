"""Make the shipped CenterFace model accept any batch size and input size.

The authors' ``centerface.onnx`` declares a fixed 10×3×32×32 input, which OpenCV's dnn
module ignores but onnxruntime enforces. This rewrites the declared input and output
shapes as symbolic (batch, height, width), drops the graph inputs that only repeat
initialisers and the initialisers no node reads (batch-norm counters), and writes the model back; the weights and every node are unchanged
(the outputs agree with the original to float32 rounding: tests/test_detect.py). Run once
by a maintainer, with the ``onnx`` package (``pip install -e '.[onnx]'``):

    .venv/bin/python tools/centerface_dynamic.py src/facecluster/faces/detect/models/centerface.onnx
"""
from __future__ import annotations

import hashlib
import sys

import onnx


def make_dynamic(path: str) -> str:
    """Rewrite ``path`` in place; returns the new file's SHA-256."""
    model = onnx.load(path)
    for value in list(model.graph.input[:1]) + list(model.graph.output):
        dims = value.type.tensor_type.shape.dim
        for dim, name in zip(dims, ["batch", None, "height", "width"]):
            if name is not None:
                dim.ClearField("dim_value")
                dim.dim_param = name if value is model.graph.input[0] else f"{name}_out"
    initialisers = {i.name for i in model.graph.initializer}
    used = {name for node in model.graph.node for name in node.input}
    kept = [i for i in model.graph.initializer if i.name in used]  # batch-norm counters no node reads
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    inputs = [i for i in model.graph.input if i.name not in initialisers]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    onnx.checker.check_model(model)
    data = model.SerializeToString()
    with open(path, "wb") as handle:
        handle.write(data)
    return hashlib.sha256(data).hexdigest()


if __name__ == "__main__":
    print(make_dynamic(sys.argv[1]))
