"""SSiam and TSiam as scikit-learn-style estimators (:mod:`facecluster.estimator`; PyTorch inside).

``fit`` returns ``self``; ``transform(X)`` returns the (n, hidden) float32
pre-ReLU activations of the trained network's first layer (``output="hidden"``,
the paper's feature), or those beside the base features (``output="combined"``).

Defaults are the best measured settings (benchmarks/results/learn.md): hidden 512,
output 64, margin 1, Adam lr 0.001 weight decay 0.0005, batch 128, 60 epochs of
⌈n/128⌉ batches on L2-normalised inputs, a 3000-face mining pool, combined output.
The paper's settings (see ``../shared/DESIGN.md``; ``facecluster.learn.variants``'s
``paper``): output 2, SGD momentum 0.9, 15 epochs, raw inputs, the hidden layer.
"""
from __future__ import annotations

import math

import numpy as np

from facecluster.distances import l2_normalize
from facecluster.errors import MissingDependencyError, ParameterError
from facecluster.estimator import Estimator, TransformerMixin
from facecluster.learn.mining import TrackPairs, mine_ssiam_pairs, sample_tsiam_pairs


def check_features(X) -> np.ndarray:
    """X as (n >= 2, d) finite float32 (ValueError otherwise): the input every learner takes."""
    X = np.asarray(X, np.float32)
    if X.ndim != 2 or len(X) < 2:
        raise ValueError(f"X must be (n >= 2, d) (here: shape {X.shape})")
    if not np.isfinite(X).all():
        raise ValueError("X holds NaN or infinite values")
    return X


def torch_device(name: str):
    """The torch device a learner's ``device`` parameter names (``auto``: a GPU when PyTorch sees one)."""
    torch = _torch()
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _torch():
    try:
        import torch
    except ImportError:
        raise MissingDependencyError("SSiam/TSiam need PyTorch: pip install 'facecluster[torch]'") from None
    return torch


class _SiameseEstimator(TransformerMixin, Estimator):
    """What SSiam and TSiam share: parameters (declared by each subclass's ``__init__``,
    as scikit-learn requires), checks, the training loop and ``transform``."""

    def _check(self, X: np.ndarray) -> np.ndarray:
        for name in ("hidden", "out_dim", "batch_size", "epochs", "pool_size"):
            if getattr(self, name) < 1:
                raise ParameterError(f"{name} must be >= 1 (here: {name}={getattr(self, name)})")
        if self.batch_size < 2:
            raise ParameterError(f"batch_size must be >= 2 (here: batch_size={self.batch_size})")
        if self.output not in ("hidden", "combined"):
            raise ParameterError(f"output must be 'hidden' or 'combined' (here: output={self.output!r})")
        if self.optimizer not in ("sgd", "adam"):
            raise ParameterError(f"optimizer must be 'sgd' or 'adam' (here: optimizer={self.optimizer!r})")
        if self.margin <= 0 or self.lr <= 0:
            raise ParameterError(f"margin and lr must be > 0 (here: margin={self.margin}, lr={self.lr})")
        return check_features(X)

    def _prepare(self, X: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(l2_normalize(X) if self.normalize_input else X, np.float32)

    def _train(self, X: np.ndarray, sample_batch) -> None:
        """Train on prepared X (n, d); ``sample_batch(rng, model, Xt)`` gives (first, second, similar)."""
        torch = _torch()
        from facecluster.learn.optim import SGD, Adam
        from facecluster.learn.siamese import SiameseMLP, contrastive_loss

        device = torch_device(self.device)
        rng = np.random.default_rng(self.random_state)
        seed = int(rng.integers(0, 2**31 - 1))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = SiameseMLP(X.shape[1], self.hidden, self.out_dim).to(device)
        if self.optimizer == "sgd":
            opt = SGD(model.parameters(), lr=self.lr, momentum=self.momentum, weight_decay=self.weight_decay)
        else:
            opt = Adam(model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        Xt = torch.from_numpy(X).to(device)
        steps = math.ceil(len(X) / self.batch_size)
        history = []
        for _ in range(self.epochs):
            total = 0.0
            for _ in range(steps):
                first, second, similar = sample_batch(rng, model, Xt)
                a = model(Xt[torch.from_numpy(first).to(device)])
                b = model(Xt[torch.from_numpy(second).to(device)])
                loss = contrastive_loss(a, b, torch.from_numpy(similar).to(device), self.margin)
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += float(loss.detach())
            history.append(total / steps)
        self.model_ = model.cpu().eval()
        self.loss_history_ = np.asarray(history)
        self.n_features_in_ = X.shape[1]

    def transform(self, X: np.ndarray) -> np.ndarray:
        """(n, d) base features → (n, hidden) float32 adapted features (pre-ReLU hidden layer); with
        ``output="combined"``, (n, d + hidden): the L2-normalised base features beside the L2-normalised
        hidden ones, each weighted 1/√2 (squared distances are the mean of the two spaces')."""
        torch = _torch()
        if not hasattr(self, "model_"):
            raise ValueError(f"this {type(self).__name__} is not fitted yet; call fit first")
        X = np.asarray(X, np.float32)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise ValueError(f"X must have {self.n_features_in_} columns (here: shape {X.shape})")
        with torch.no_grad():
            hidden = self.model_.hidden(torch.from_numpy(self._prepare(X))).numpy().astype(np.float32)
        if self.output == "hidden":
            return hidden
        return (np.hstack([l2_normalize(X), l2_normalize(hidden)]) / np.sqrt(2.0)).astype(np.float32)


class SSiam(_SiameseEstimator):
    """Self-supervised Siamese network: pairs mined from nearest and farthest neighbours.

    mining: ``base`` mines on the input features (the paper); ``current`` mines on
    the network's current hidden features.
    """

    def __init__(
        self,
        *,
        mining: str = "base",
        hidden: int = 512,
        out_dim: int = 64,
        margin: float = 1.0,
        optimizer: str = "adam",
        lr: float = 0.001,
        momentum: float = 0.9,
        weight_decay: float = 0.0005,
        batch_size: int = 128,
        epochs: int = 60,
        pool_size: int = 3000,
        normalize_input: bool = True,
        output: str = "combined",
        random_state: int | None = None,
        device: str = "auto",
    ) -> None:
        self.mining = mining
        self.hidden = hidden
        self.out_dim = out_dim
        self.margin = margin
        self.optimizer = optimizer
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.epochs = epochs
        self.pool_size = pool_size
        self.normalize_input = normalize_input
        self.output = output
        self.random_state = random_state
        self.device = device

    def fit(self, X: np.ndarray, y=None) -> "SSiam":
        X = self._prepare(self._check(X))
        if self.mining not in ("base", "current"):
            raise ParameterError(f"mining must be 'base' or 'current' (here: mining={self.mining!r})")
        torch = _torch()

        def batch(rng, model, Xt):
            if self.mining == "base":
                return mine_ssiam_pairs(Xt, rng, batch_size=self.batch_size, pool_size=self.pool_size)
            with torch.no_grad():
                current = model.hidden(Xt)
            return mine_ssiam_pairs(current, rng, batch_size=self.batch_size, pool_size=self.pool_size)

        self._train(X, batch)
        return self

    def fit_transform(self, X: np.ndarray, y=None) -> np.ndarray:
        return self.fit(X).transform(X)


class TSiam(_SiameseEstimator):
    """Track-supervised Siamese network: positives are two faces of one track,
    negatives faces of two tracks that share a frame (fallback where none do:
    SSiam's hardest negatives).

    mined_fraction: share of each batch mined as SSiam does (0 = the paper's TSiam;
    0.5 = combined SSiam + TSiam pairs).
    """

    def __init__(
        self,
        *,
        mined_fraction: float = 0.0,
        hidden: int = 512,
        out_dim: int = 64,
        margin: float = 1.0,
        optimizer: str = "adam",
        lr: float = 0.001,
        momentum: float = 0.9,
        weight_decay: float = 0.0005,
        batch_size: int = 128,
        epochs: int = 60,
        pool_size: int = 3000,
        normalize_input: bool = True,
        output: str = "combined",
        random_state: int | None = None,
        device: str = "auto",
    ) -> None:
        self.mined_fraction = mined_fraction
        self.hidden = hidden
        self.out_dim = out_dim
        self.margin = margin
        self.optimizer = optimizer
        self.lr = lr
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.epochs = epochs
        self.pool_size = pool_size
        self.normalize_input = normalize_input
        self.output = output
        self.random_state = random_state
        self.device = device

    def fit(self, X: np.ndarray, track_ids: np.ndarray, frames: np.ndarray) -> "TSiam":
        X = self._prepare(self._check(X))
        if len(track_ids) != len(X) or len(frames) != len(X):
            raise ValueError(f"track_ids and frames need one entry per row of X ({len(X)}) (here: {len(track_ids)}, {len(frames)})")
        if not 0.0 <= self.mined_fraction <= 1.0:
            raise ParameterError(f"mined_fraction must be in [0, 1] (here: mined_fraction={self.mined_fraction})")
        pairs = TrackPairs(track_ids, frames)
        self.has_track_negatives_ = pairs.has_negatives

        def batch(rng, model, Xt):
            return sample_tsiam_pairs(
                pairs, Xt, rng, batch_size=self.batch_size, pool_size=self.pool_size, mined_fraction=self.mined_fraction
            )

        self._train(X, batch)
        return self

    def fit_transform(self, X: np.ndarray, track_ids: np.ndarray, frames: np.ndarray) -> np.ndarray:
        return self.fit(X, track_ids, frames).transform(X)
