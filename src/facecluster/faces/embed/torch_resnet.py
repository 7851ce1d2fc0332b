"""dlib's face ResNet as a PyTorch module, built from the weights in dlib's own model file.

The network (dlib's ``dnn_face_recognition_ex``): a 7×7/2 convolution, a 3×3/2
max-pool, 14 residual units in five levels (32, 64, 128, 256, 256 channels; the
first unit of each level but the first halves the resolution with a 3×3/2
convolution and a 2×2/2 average-pooled shortcut), a global average pool and a
128×256 linear map without bias. Every batch-norm was frozen into a per-channel
affine layer before the model was saved. Convolutions with stride 2 have no
padding, so sizes run 150 → 72 → 35 → 17 → 8 → 3 | 4 → 1 | 2; where the two
branches of a unit differ in size or channels, dlib adds them as if the smaller
one were padded with zeros at the end of each axis, and so does this module.

The structure is read from the file (:mod:`.dlib_format`), not assumed: the
layer chain is checked against the residual pattern above and every
hyper-parameter (filters, strides, paddings, pool sizes) comes from the file.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from facecluster.faces.embed.dlib_format import DlibLayer, DlibNetwork, resnet_structure


class Affine(nn.Module):
    """Per-channel ``gamma * x + beta`` (dlib's ``affine_`` in per-channel mode)."""

    def __init__(self, params: np.ndarray) -> None:
        super().__init__()
        k = params.size // 2
        self.register_buffer("gamma", torch.from_numpy(params[:k].copy()).view(1, k, 1, 1))
        self.register_buffer("beta", torch.from_numpy(params[k:].copy()).view(1, k, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gamma + self.beta


def _conv(layer: DlibLayer) -> nn.Conv2d:
    f = layer.fields
    n, k, rows, cols = f["filter_shape"]
    conv = nn.Conv2d(k, n, (rows, cols), stride=(f["stride_y"], f["stride_x"]), padding=(f["padding_y"], f["padding_x"]))
    weight_count = n * k * rows * cols
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(layer.params[:weight_count].reshape(n, k, rows, cols)))
        conv.bias.copy_(torch.from_numpy(layer.params[weight_count:]))
    conv.requires_grad_(False)
    return conv


def _pool(layer: DlibLayer) -> nn.Module:
    f = layer.fields
    if f["rows"] == 0 and f["cols"] == 0:
        return nn.AdaptiveAvgPool2d(1)
    cls = nn.MaxPool2d if layer.kind == "max_pool_2" else nn.AvgPool2d
    return cls((f["rows"], f["cols"]), stride=(f["stride_y"], f["stride_x"]), padding=(f["padding_y"], f["padding_x"]))


def _main_path(layers: list[DlibLayer]) -> nn.Sequential:
    modules: list[nn.Module] = []
    for layer in layers:
        if layer.kind == "con_4":
            modules.append(_conv(layer))
        elif layer.kind == "affine_":
            modules.append(Affine(layer.params))
        elif layer.kind == "relu_":
            modules.append(nn.ReLU())
        elif layer.kind in ("max_pool_2", "avg_pool_2"):
            modules.append(_pool(layer))
        else:
            raise ValueError(f"unexpected layer {layer.kind}")
    return nn.Sequential(*modules)


def _fold(seq: nn.Sequential) -> nn.Sequential:
    out: list[nn.Module] = []
    for module in seq:
        if isinstance(module, Affine) and out and isinstance(out[-1], nn.Conv2d):
            conv = out[-1]
            with torch.no_grad():
                conv.weight.mul_(module.gamma.view(-1, 1, 1, 1))
                conv.bias.mul_(module.gamma.view(-1)).add_(module.beta.view(-1))
        else:
            out.append(module)
    return nn.Sequential(*out)


def add_zero_padded(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a + b`` over the larger extent of each axis, missing entries read as 0 (dlib's ``tt::add``)."""
    a_size, b_size = tuple(int(n) for n in a.shape[1:]), tuple(int(n) for n in b.shape[1:])
    if a_size == b_size:
        return a + b
    c, h, w = (max(m, n) for m, n in zip(a_size, b_size))

    def grow(t: torch.Tensor) -> torch.Tensor:
        return F.pad(t, (0, w - t.shape[3], 0, h - t.shape[2], 0, c - t.shape[1]))

    return grow(a) + grow(b)


class Residual(nn.Module):
    """relu(main(x) + shortcut(x)); the shortcut is x itself or its 2×2 average pool."""

    def __init__(self, main: nn.Sequential, shortcut: nn.Module | None) -> None:
        super().__init__()
        self.main = main
        self.shortcut = shortcut if shortcut is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(add_zero_padded(self.main(x), self.shortcut(x)))


class DlibFaceResNet(nn.Module):
    """(N, 3, 150, 150) float32, RGB planes as ``(pixel - mean) / 256`` → (N, 128) descriptors."""

    def __init__(self, network: DlibNetwork, source: str = "dlib model") -> None:
        super().__init__()
        net = resnet_structure(network, source)
        self.stem = _main_path(net.stem)
        self.units = nn.Sequential(*(Residual(_main_path(unit.main), None if unit.shortcut is None else _pool(unit.shortcut))
                                     for unit in net.units))
        fc = net.fc
        self.pool = _pool(net.pool)
        self.fc = nn.Linear(fc.fields["inputs"], fc.fields["outputs"], bias=False)
        with torch.no_grad():
            self.fc.weight.copy_(torch.from_numpy(fc.params.reshape(fc.fields["inputs"], fc.fields["outputs"]).T.copy()))
        self.register_buffer("mean", torch.tensor(network.input_mean_rgb, dtype=torch.float32).view(1, 3, 1, 1))
        self.input_size = network.input_size
        self.requires_grad_(False)
        self.eval()

    def fold_affine(self) -> "DlibFaceResNet":
        """Fold every affine layer into the convolution before it (same function, one pass fewer); returns self."""
        self.stem = _fold(self.stem)
        for unit in self.units:
            unit.main = _fold(unit.main)
        return self

    def normalise(self, chips: torch.Tensor) -> torch.Tensor:
        """(N, H, W, 3) uint8 RGB chips → (N, 3, H, W) float32 network input."""
        return (chips.permute(0, 3, 1, 2).float() - self.mean) / 256.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.units(self.stem(x))
        return self.fc(torch.flatten(self.pool(x), 1))
