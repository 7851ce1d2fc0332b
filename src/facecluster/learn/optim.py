"""Adam and SGD with momentum, the updates of ``torch.optim.Adam`` / ``torch.optim.SGD`` written out.

Why not torch.optim: the first optimizer a process builds imports ``torch._dynamo``
(every ``torch.optim`` optimizer is wrapped in ``torch._disable_dynamo``), which takes
~1.8 s on this project's 2-core machine: as long as CCL's whole training on a
one-minute clip. These few lines do the same updates (default options: no AMSGrad,
no Nesterov, no dampening, L2 weight decay added to the gradient), to float rounding;
``tests/test_learn_optim.py`` checks them against torch's.
"""
from __future__ import annotations

import math
from collections.abc import Iterable


class _Optimizer:
    def __init__(self, params: Iterable, lr: float, weight_decay: float) -> None:
        self.params = [p for p in params if p.requires_grad]
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def _gradient(self, p):
        return p.grad.add(p, alpha=self.weight_decay) if self.weight_decay else p.grad


class Adam(_Optimizer):
    """Adam (Kingma & Ba 2015) as torch.optim.Adam computes it."""

    def __init__(self, params: Iterable, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        self.beta1, self.beta2 = betas
        self.eps = float(eps)
        self.steps = 0
        self.first = [None] * len(self.params)
        self.second = [None] * len(self.params)

    def step(self) -> None:
        import torch

        self.steps += 1
        correction1 = 1 - self.beta1 ** self.steps
        correction2_sqrt = math.sqrt(1 - self.beta2 ** self.steps)
        with torch.no_grad():
            for i, p in enumerate(self.params):
                if p.grad is None:
                    continue
                g = self._gradient(p)
                if self.first[i] is None:
                    self.first[i] = torch.zeros_like(p)
                    self.second[i] = torch.zeros_like(p)
                m, v = self.first[i], self.second[i]
                m.lerp_(g, 1 - self.beta1)
                v.mul_(self.beta2).addcmul_(g, g, value=1 - self.beta2)
                denom = (v.sqrt() / correction2_sqrt).add_(self.eps)
                p.addcdiv_(m, denom, value=-self.lr / correction1)


class SGD(_Optimizer):
    """Stochastic gradient descent with (heavy-ball) momentum, as torch.optim.SGD computes it."""

    def __init__(self, params: Iterable, lr: float, momentum: float = 0.0, weight_decay: float = 0.0) -> None:
        super().__init__(params, lr, weight_decay)
        self.momentum = float(momentum)
        self.buffers = [None] * len(self.params)

    def step(self) -> None:
        import torch

        with torch.no_grad():
            for i, p in enumerate(self.params):
                if p.grad is None:
                    continue
                g = self._gradient(p)
                if self.momentum:
                    if self.buffers[i] is None:
                        self.buffers[i] = g.clone()
                    else:
                        self.buffers[i].mul_(self.momentum).add_(g)
                    g = self.buffers[i]
                p.add_(g, alpha=-self.lr)
