"""Reader for dlib's binary serialisation of its face ResNet (``dlib_face_recognition_resnet_model_v1.dat``).

Format, as found in the file (all little-endian):

- **int** (any integer type): one control byte, then that many bytes of magnitude.
  The low 4 bits of the control byte give the byte count, bit 7 the sign
  (``01 20`` = 32, ``02 80 12`` = 0x1280 = 4736, ``81 04`` = -4).
- **float / double** (dlib's portable form): an int mantissa, then an int
  exponent; the value is ``mantissa * 2**exponent`` (``01 10 81 04`` = 16·2⁻⁴ = 1.0).
- **string**: an int length, then the bytes. **bool**: one byte, ``'1'`` or ``'0'``.
- **tensor**: int version (2), int num_samples, k, nr, nc, then that many raw
  IEEE float32 values in row-major order. **alias_tensor**: int version (1) and
  its four dimensions, no data (it is a view into the layer's ``params``).

The network is a chain of templates serialised from the loss layer inwards:
``int 1, "loss_metric_2", float margin, float distance threshold``, then each
layer's ``int version`` in turn — 2 for a layer with parameters or computation
(``add_layer``), 1 for a tag or skip marker, 3 for the layer that holds the
input. Once the input layer's own fields are written, each ``add_layer`` writes,
from the input outwards, its details (a string naming the layer kind and
version, then its fields) followed by three bools and three empty tensors
(gradient and output buffers); the one holding the input adds an int, the
sample-expansion factor. Layer details:

- ``input_rgb_image_sized``: float mean red, green, blue; int rows, cols.
- ``con_4``: tensor params (filters (n, k, r, c) then n biases); int n, r, c,
  stride y, stride x, padding y, padding x; alias filters, alias biases; four
  floats (learning-rate and weight-decay multipliers).
- ``affine_``: tensor params (k gammas, then k betas); alias gamma, alias beta; int mode (0 = per channel).
- ``relu_``, ``add_prev_``: nothing.
- ``max_pool_2``, ``avg_pool_2``: int rows, cols, stride y, stride x, padding y, padding x
  (rows = cols = 0 means the whole plane).
- ``fc_2``: int outputs, int inputs, tensor params (inputs, outputs) row-major,
  alias weights, alias biases, int bias mode (1 = no bias), four floats.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from facecluster.errors import InputError


@dataclass
class DlibLayer:
    """One layer of the chain, input first. ``kind`` is the name dlib writes
    (``con_4``, ``affine_``, ...) or ``marker`` for a tag/skip."""

    kind: str
    params: np.ndarray | None = None  # float32, flat
    fields: dict = field(default_factory=dict)


@dataclass
class DlibNetwork:
    input_mean_rgb: tuple[float, float, float]
    input_size: tuple[int, int]
    layers: list[DlibLayer]  # input → output, markers included


class _Reader:
    def __init__(self, data: bytes, path: str) -> None:
        self.data = data
        self.pos = 0
        self.path = path

    def fail(self, problem: str) -> InputError:
        return InputError(self.path, f"not a dlib face ResNet file ({problem} at byte {self.pos})")

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise self.fail("file ends early")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def int(self) -> int:
        control = self.take(1)[0]
        size = control & 0x0F
        if size > 8 or control & 0x70:
            raise self.fail(f"bad integer control byte {control:#04x}")
        value = int.from_bytes(self.take(size), "little")
        return -value if control & 0x80 else value

    def float(self) -> float:
        mantissa = self.int()
        exponent = self.int()
        return float(mantissa) * 2.0**exponent

    def string(self) -> str:
        n = self.int()
        if not 0 <= n <= 256:
            raise self.fail(f"implausible string length {n}")
        return self.take(n).decode("ascii", errors="replace")

    def bool(self) -> bool:
        b = self.take(1)
        if b not in (b"0", b"1"):
            raise self.fail(f"bad bool byte {b!r}")
        return b == b"1"

    def tensor(self) -> np.ndarray:
        version = self.int()
        if version != 2:
            raise self.fail(f"tensor version {version}, expected 2")
        shape = tuple(self.int() for _ in range(4))
        count = int(np.prod(shape))
        return np.frombuffer(self.take(4 * count), dtype="<f4").astype(np.float32).reshape(shape)

    def alias(self) -> tuple[int, int, int, int]:
        version = self.int()
        if version != 1:
            raise self.fail(f"alias_tensor version {version}, expected 1")
        return tuple(self.int() for _ in range(4))  # type: ignore[return-value]

    def expect(self, text: str) -> None:
        got = self.string()
        if got != text:
            raise self.fail(f"found {got!r} where {text!r} belongs")

    def layer_trailer(self) -> None:
        """Three bools and three (empty) gradient/output buffers every add_layer writes."""
        for _ in range(3):
            self.bool()
        for _ in range(3):
            self.tensor()


def _layer_details(r: _Reader) -> DlibLayer:
    kind = r.string()
    if kind == "con_4":
        params = r.tensor()
        names = ("filters", "rows", "cols", "stride_y", "stride_x", "padding_y", "padding_x")
        fields = {name: r.int() for name in names}
        fields["filter_shape"] = r.alias()
        fields["bias_shape"] = r.alias()
        for _ in range(4):
            r.float()
        return DlibLayer(kind, params.ravel(), fields)
    if kind == "affine_":
        params = r.tensor()
        gamma, beta = r.alias(), r.alias()
        mode = r.int()
        if mode != 0:
            raise r.fail("affine layer not in per-channel mode")
        return DlibLayer(kind, params.ravel(), {"channels": gamma[1], "beta_shape": beta})
    if kind in ("relu_", "add_prev_"):
        return DlibLayer(kind)
    if kind in ("max_pool_2", "avg_pool_2"):
        names = ("rows", "cols", "stride_y", "stride_x", "padding_y", "padding_x")
        return DlibLayer(kind, None, {name: r.int() for name in names})
    if kind == "fc_2":
        outputs, inputs = r.int(), r.int()
        params = r.tensor()
        r.alias()
        r.alias()
        bias_mode = r.int()
        for _ in range(4):
            r.float()
        return DlibLayer(kind, params.ravel(), {"outputs": outputs, "inputs": inputs, "bias": bias_mode == 0})
    raise r.fail(f"unsupported layer kind {kind!r}")


def read_dlib_network(path: str) -> DlibNetwork:
    """Parse a dlib metric-loss network file into its layers, input first."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise InputError(path, f"cannot read ({exc.strerror})") from None
    r = _Reader(data, path)
    if r.int() != 1:
        raise r.fail("unknown loss-layer version")
    r.expect("loss_metric_2")
    r.float()
    r.float()
    stack: list[int] = []
    while True:
        version = r.int()
        if version == 3:
            break
        if version not in (1, 2) or len(stack) > 10_000:
            raise r.fail(f"unexpected layer version {version}")
        stack.append(version)
    r.expect("input_rgb_image_sized")
    mean = (r.float(), r.float(), r.float())
    size = (r.int(), r.int())
    layers = [_layer_details(r)]
    r.layer_trailer()
    r.int()  # sample expansion factor
    for version in reversed(stack):
        if version == 1:
            layers.append(DlibLayer("marker"))
        else:
            layers.append(_layer_details(r))
            r.layer_trailer()
    if r.pos != len(data):
        raise r.fail(f"{len(data) - r.pos} bytes left over")
    return DlibNetwork(mean, size, layers)


@dataclass
class ResidualUnit:
    """One residual unit: ``relu(main(x) + shortcut(x))``; ``shortcut`` is an average pool layer, or None for x itself."""

    main: list[DlibLayer]
    shortcut: DlibLayer | None


@dataclass
class ResNetStructure:
    """dlib's face ResNet as its parts: the stem's layers, the residual units, the global pool and the linear map."""

    stem: list[DlibLayer]
    units: list[ResidualUnit]
    pool: DlibLayer
    fc: DlibLayer


def resnet_structure(network: DlibNetwork, source: str = "dlib model") -> ResNetStructure:
    """The layer chain checked against the residual pattern of dlib's ``dnn_face_recognition_ex`` network (stem,
    units ending in ``add_prev`` then ``relu``, a global average pool and a linear map without bias); an
    :class:`InputError` naming ``source`` where it differs."""
    layers = network.layers
    kinds = [layer.kind for layer in layers]

    def bad(problem: str) -> InputError:
        return InputError(source, f"unexpected network structure: {problem}")

    try:
        first_marker = kinds.index("marker")
    except ValueError:
        raise bad("no residual units") from None
    units: list[ResidualUnit] = []
    i = first_marker
    while i < len(kinds) and kinds[i] == "marker":
        j = kinds.index("add_prev_", i)
        body, body_kinds = layers[i + 1 : j], kinds[i + 1 : j]
        if body_kinds[-3:] == ["marker", "marker", "avg_pool_2"]:
            units.append(ResidualUnit(body[:-3], body[-1]))
        elif "marker" in body_kinds:
            raise bad(f"markers inside unit at layer {i}")
        else:
            units.append(ResidualUnit(body, None))
        if j + 1 >= len(kinds) or kinds[j + 1] != "relu_":
            raise bad(f"unit at layer {i} does not end in relu")
        i = j + 2
    head = kinds[i:]
    if head != ["avg_pool_2", "fc_2"] or layers[i].fields["rows"] != 0:
        raise bad(f"head {head}")
    if layers[i + 1].fields["bias"]:
        raise bad("fully connected layer with bias")
    return ResNetStructure(layers[:first_marker], units, layers[i], layers[i + 1])
