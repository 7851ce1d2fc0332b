"""The written-out optimizers do what torch.optim's do, and building them does not import torch._dynamo."""
from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from facecluster.learn.optim import SGD, Adam


def _train(make_optimizer, steps: int = 25) -> list:
    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))
    opt = make_optimizer(model.parameters())
    data = torch.randn(32, 6, generator=torch.Generator().manual_seed(5))
    target = torch.randn(32, 3, generator=torch.Generator().manual_seed(6))
    for _ in range(steps):
        loss = ((model(data) - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return [p.detach().clone() for p in model.parameters()]


@pytest.mark.parametrize("weight_decay", [0.0, 5e-4])
def test_adam_matches_torch(weight_decay):
    ours = _train(lambda p: Adam(p, lr=0.01, weight_decay=weight_decay))
    theirs = _train(lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=weight_decay))
    untrained = _train(lambda p: Adam(p, lr=0.01, weight_decay=weight_decay), steps=0)
    for a, b, c in zip(ours, theirs, untrained):
        assert torch.allclose(a, b, atol=1e-6)
        assert not torch.allclose(a, c, atol=1e-3)  # it did move


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_sgd_matches_torch(momentum):
    ours = _train(lambda p: SGD(p, lr=0.05, momentum=momentum, weight_decay=1e-3))
    theirs = _train(lambda p: torch.optim.SGD(p, lr=0.05, momentum=momentum, weight_decay=1e-3))
    for a, b in zip(ours, theirs):
        assert torch.allclose(a, b, atol=1e-6)


def test_training_ccl_does_not_import_dynamo():
    code = (
        "import sys, numpy as np\n"
        "from facecluster.learn.ccl import CCL\n"
        "rng = np.random.default_rng(0)\n"
        "X = rng.normal(size=(120, 16)).astype(np.float32)\n"
        "tracks = np.repeat(np.arange(60), 2); frames = np.repeat(np.arange(30), 4)\n"
        "model = CCL(epochs=2, random_state=0).fit(X, tracks, frames)\n"
        "assert model.trained_\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
