"""CCL's residual projection and its training step in NumPy: no PyTorch on the default path.

The projection ``x ↦ normalise(x + W₂ relu(W₁ x + b₁) + b₂)`` maps (B, d) L2-normalised
vectors to (B, d) unit vectors. W₁ (h, d) is drawn from N(0, 1/d), b₁, W₂ (d, h) and b₂
start at zero, so before training it is the identity on the unit sphere. It is small
(d = 128, h = 128 by default) and trained on a few thousand pairs a video: in NumPy its
forward and backward pass take well under a millisecond a batch, and a process that
trains it needs neither PyTorch's import (~2 s on 2 cores) nor its memory (~140 MB).
``tests/test_learn.py`` checks the gradients against PyTorch's autograd.
"""
from __future__ import annotations

import math

import numpy as np

_NORM_EPS = 1e-12  # as torch.nn.functional.normalize


class ResidualProjection:
    """The projection's weights (float32), its forward pass and the gradient of a loss on its output."""

    def __init__(self, dim: int, hidden: int, rng: np.random.Generator) -> None:
        if min(dim, hidden) < 1:
            raise ValueError(f"dimensions must be >= 1 (here: dim={dim}, hidden={hidden})")
        self.w1 = rng.normal(0.0, 1.0 / math.sqrt(dim), size=(hidden, dim)).astype(np.float32)
        self.b1 = np.zeros(hidden, np.float32)
        self.w2 = np.zeros((dim, hidden), np.float32)
        self.b2 = np.zeros(dim, np.float32)

    @property
    def params(self) -> list[np.ndarray]:
        """The weights, in the order :meth:`gradients` returns theirs: w1 (h, d), b1 (h,), w2 (d, h), b2 (d,)."""
        return [self.w1, self.b1, self.w2, self.b2]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """(B, d) → (B, d) unit vectors."""
        return self._forward(np.asarray(x, np.float32))[0]

    def _forward(self, x: np.ndarray) -> tuple[np.ndarray, tuple]:
        pre = x @ self.w1.T + self.b1
        hidden = np.maximum(pre, 0.0)
        z = x + hidden @ self.w2.T + self.b2
        norm = np.maximum(np.linalg.norm(z, axis=1, keepdims=True), _NORM_EPS)
        out = z / norm
        return out, (x, pre, hidden, out, norm)

    def forward_backward(self, x: np.ndarray, loss_gradient) -> tuple[float, list[np.ndarray]]:
        """The loss on the output of ``x`` (B, d) and its gradient with respect to :attr:`params`.

        ``loss_gradient(out)`` takes the (B, d) output and returns the loss (float) and its gradient (B, d)."""
        out, (x, pre, hidden, out, norm) = self._forward(np.asarray(x, np.float32))
        loss, g_out = loss_gradient(out)
        g_z = (g_out - out * np.sum(g_out * out, axis=1, keepdims=True)) / norm
        g_hidden = g_z @ self.w2
        g_pre = g_hidden * (pre > 0)
        grads = [g_pre.T @ x, g_pre.sum(axis=0), g_z.T @ hidden, g_z.sum(axis=0)]
        return loss, [g.astype(np.float32, copy=False) for g in grads]


def contrastive_pairs_loss(out: np.ndarray, similar: np.ndarray, margin: float) -> tuple[float, np.ndarray]:
    """Mean over B pairs of y·d² + (1−y)·max(margin − d, 0)², d = ‖a − b‖₂ (+1e-12 under the root).

    out: (2B, d), the first B rows the pairs' first members, the last B their second; similar: (B,) 1 or 0.
    Returns the loss and its gradient with respect to ``out`` (2B, d)."""
    n = len(similar)
    a, b = out[:n].astype(np.float64), out[n:].astype(np.float64)
    y = similar.astype(np.float64)
    diff = a - b
    d2 = np.sum(diff * diff, axis=1)
    d = np.sqrt(d2 + 1e-12)
    short = np.maximum(margin - d, 0.0)
    loss = float(np.mean(y * d2 + (1 - y) * short * short))
    g_d2 = (y - (1 - y) * short / d) / n  # d loss / d d², per pair
    g_a = 2.0 * diff * g_d2[:, None]
    return loss, np.concatenate([g_a, -g_a]).astype(np.float32)


class Adam:
    """Adam (Kingma & Ba 2015) on a list of NumPy arrays, updated in place, as torch.optim.Adam computes it
    (no AMSGrad; L2 weight decay added to the gradient)."""

    def __init__(self, params: list[np.ndarray], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0) -> None:
        self.params = params
        self.lr, self.eps, self.weight_decay = float(lr), float(eps), float(weight_decay)
        self.beta1, self.beta2 = betas
        self.steps = 0
        self.first = [np.zeros_like(p) for p in params]
        self.second = [np.zeros_like(p) for p in params]

    def step(self, grads: list[np.ndarray]) -> None:
        self.steps += 1
        correction1 = 1 - self.beta1 ** self.steps
        correction2_sqrt = math.sqrt(1 - self.beta2 ** self.steps)
        for p, g, m, v in zip(self.params, grads, self.first, self.second):
            if self.weight_decay:
                g = g + self.weight_decay * p
            m += (1 - self.beta1) * (g - m)
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            p -= (self.lr / correction1) * m / (np.sqrt(v) / correction2_sqrt + self.eps)
