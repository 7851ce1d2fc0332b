"""dlib's face ResNet as an ONNX graph, written straight from dlib's model file (no PyTorch, no ``onnx`` package).

:func:`dlib_resnet_onnx` turns the network read by :mod:`.dlib_format` into the bytes of an
ONNX model that onnxruntime runs: ``chips`` (N, 150, 150, 3) uint8 RGB face chips aligned as
by :class:`~facecluster.faces.align.FaceAligner` → ``descriptors`` (N, 128) float32, the
numbers of :class:`~facecluster.faces.embed.torch_resnet.DlibFaceResNet` to float rounding
(< 1e-6). The same structure checks apply (the layer chain must be dlib's residual
pattern); every affine layer that follows a convolution is folded into it, and where the
two branches of a residual unit differ in size or channels the smaller is padded with
zeros at the end of each axis (dlib's ``add_prev``), with the sizes worked out here, since
the input's 150 × 150 fixes them all.

The ONNX format is protocol buffers; :class:`_Message` writes the few message types a
graph of initialisers and nodes needs (field numbers from onnx.proto), so that running
the default embedder needs neither the ``onnx`` package nor PyTorch.
"""
from __future__ import annotations

import struct

import numpy as np

from facecluster.faces.embed.dlib_format import DlibLayer, DlibNetwork, resnet_structure

OPSET = 17
IR_VERSION = 8
_FLOAT, _UINT8, _INT64 = 1, 2, 7  # onnx TensorProto.DataType
_ATTR_FLOAT, _ATTR_INT, _ATTR_INTS = 1, 2, 7  # onnx AttributeProto.AttributeType


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int64 as two's complement, ten bytes
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


class _Message:
    """A protocol-buffer message being written: fields appended in order, as bytes."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def int(self, field: int, value: int) -> "_Message":
        self.parts += [_varint(field << 3), _varint(int(value))]
        return self

    def float(self, field: int, value: float) -> "_Message":
        self.parts += [_varint(field << 3 | 5), struct.pack("<f", value)]
        return self

    def bytes(self, field: int, value: bytes | str | "_Message") -> "_Message":
        data = value.encode() if isinstance(value, str) else value.encoded() if isinstance(value, _Message) else value
        self.parts += [_varint(field << 3 | 2), _varint(len(data)), data]
        return self

    def encoded(self) -> bytes:
        return b"".join(self.parts)


def _tensor(name: str, array: np.ndarray) -> _Message:
    """An initialiser (onnx TensorProto): its dims, element type, name and little-endian raw data."""
    kinds = {np.dtype(np.float32): _FLOAT, np.dtype(np.int64): _INT64}
    message = _Message()
    for size in array.shape:
        message.int(1, size)
    data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
    return message.int(2, kinds[array.dtype]).bytes(8, name).bytes(9, data)


def _value_info(name: str, elem_type: int, dims: list[int | str]) -> _Message:
    shape = _Message()
    for dim in dims:
        shape.bytes(1, _Message().bytes(2, dim) if isinstance(dim, str) else _Message().int(1, dim))
    tensor_type = _Message().int(1, elem_type).bytes(2, shape)
    return _Message().bytes(1, name).bytes(2, _Message().bytes(1, tensor_type))


class _Graph:
    """Nodes and initialisers of one graph, with fresh value names."""

    def __init__(self) -> None:
        self.nodes: list[_Message] = []
        self.initializers: list[_Message] = []
        self.count = 0

    def constant(self, array: np.ndarray) -> str:
        name = f"w{len(self.initializers)}"
        self.initializers.append(_tensor(name, array))
        return name

    def node(self, op: str, inputs: list[str], output: str = "", **attributes: float | int | list[int]) -> str:
        """Append an ``op`` node; returns the name of its output (``output``, or a fresh one)."""
        self.count += 1
        output = output or f"v{self.count}"
        message = _Message()
        for name in inputs:
            message.bytes(1, name)
        message.bytes(2, output).bytes(3, f"n{self.count}").bytes(4, op)
        for key, value in attributes.items():
            attr = _Message().bytes(1, key)
            if isinstance(value, float):
                attr.float(2, value).int(20, _ATTR_FLOAT)
            elif isinstance(value, int):
                attr.int(3, value).int(20, _ATTR_INT)
            else:
                for v in value:
                    attr.int(8, v)
                attr.int(20, _ATTR_INTS)
            message.bytes(5, attr)
        self.nodes.append(message)
        return output

    def model(self, inputs: list[_Message], outputs: list[_Message], name: str) -> bytes:
        graph = _Message()
        for node in self.nodes:
            graph.bytes(1, node)
        graph.bytes(2, name)
        for init in self.initializers:
            graph.bytes(5, init)
        for value in inputs:
            graph.bytes(11, value)
        for value in outputs:
            graph.bytes(12, value)
        opset = _Message().bytes(1, "").int(2, OPSET)
        return _Message().int(1, IR_VERSION).bytes(2, "facecluster").bytes(7, graph).bytes(8, opset).encoded()


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


def dlib_resnet_onnx(network: DlibNetwork, source: str = "dlib model") -> bytes:
    """The ONNX model (bytes) of dlib's face ResNet: ``chips`` (N, 150, 150, 3) uint8 → ``descriptors`` (N, 128) float32."""
    net = resnet_structure(network, source)
    g = _Graph()
    rows, cols = network.input_size
    x = g.node("Transpose", [g.node("Cast", ["chips"], to=_FLOAT)], perm=[0, 3, 1, 2])
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
    return g.model([_value_info("chips", _UINT8, ["n", rows, cols, 3])],
                   [_value_info("descriptors", _FLOAT, ["n", fc.fields["outputs"]])], "dlib_face_resnet_v1")
