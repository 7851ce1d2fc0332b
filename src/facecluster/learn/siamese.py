"""The Siamese MLP and the contrastive loss."""
from __future__ import annotations

import torch
from torch import nn


class SiameseMLP(nn.Module):
    """``in_dim → hidden → ReLU → out_dim``, one set of weights for both branches.

    Weights are drawn from N(0, 0.01²) and biases start at 0, as in the authors' code.
    ``forward(x)``: (B, in_dim) → (B, out_dim); ``hidden(x)``: (B, hidden) pre-ReLU
    activations of the first layer — the feature used for clustering.
    """

    def __init__(self, in_dim: int, hidden: int = 512, out_dim: int = 2) -> None:
        super().__init__()
        if min(in_dim, hidden, out_dim) < 1:
            raise ValueError(f"dimensions must be >= 1 (here: in_dim={in_dim}, hidden={hidden}, out_dim={out_dim})")
        self.fc1 = nn.Linear(in_dim, hidden)
        self.fc2 = nn.Linear(hidden, out_dim)
        for layer in (self.fc1, self.fc2):
            nn.init.normal_(layer.weight, mean=0.0, std=0.01)
            nn.init.zeros_(layer.bias)

    def hidden(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc1(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x)))


def contrastive_loss(a: torch.Tensor, b: torch.Tensor, similar: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    """Σ_pairs [ y·d² + (1−y)·max(margin − d, 0)² ], d = ‖a − b‖₂, summed over the batch.

    a, b: (B, D) branch outputs; similar: (B,) 1 for a similar pair, 0 otherwise.
    Returns a scalar tensor.
    """
    if margin <= 0:
        raise ValueError(f"margin must be > 0 (here: margin={margin})")
    y = similar.to(a.dtype)
    d2 = ((a - b) ** 2).sum(dim=1)
    d = torch.sqrt(d2 + 1e-12)
    return (y * d2 + (1 - y) * torch.clamp(margin - d, min=0) ** 2).sum()
