"""Pair mining: SSiam's hardest neighbours and TSiam's track pairs.

Both return index arrays ``(first, second, similar)`` of one batch: (B,) int64,
(B,) int64 and (B,) int64 in {0, 1}; indices refer to rows of the feature matrix.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch


def _as_tensor(X):
    import torch

    return X if isinstance(X, torch.Tensor) else torch.as_tensor(np.asarray(X, np.float32))


def pairwise_sq_distances(X) -> "torch.Tensor":
    """(n, n) float32 squared Euclidean distances of the rows of X (n, d), clipped at 0."""
    import torch

    X = _as_tensor(X).float()
    sq = (X * X).sum(dim=1)
    return torch.addmm(sq[:, None] + sq[None, :], X, X.T, alpha=-2.0).clamp_(min=0.0)


def mine_ssiam_pairs(
    X, rng: np.random.Generator, *, batch_size: int = 128, pool_size: int = 3000
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One SSiam batch from a fresh random pool.

    X: (n, d) features, numpy or a torch tensor (on any device).
    1. draw ``pool_size`` rows at random, with replacement (where there are no
       more rows than ``pool_size``, the pool is every row once, in random order,
       since repeated draws would make every face its own nearest neighbour);
    2. positives: each pool face with its nearest neighbour in the pool (another
       draw, never itself); keep the batch_size/2 faces whose nearest neighbour is
       farthest (hardest positives);
    3. negatives: each face with its farthest face; keep the batch_size/2 faces
       whose farthest face is closest (hardest negatives).
    Ties go to the lower position in the pool.
    """
    import torch

    X = _as_tensor(X)
    n = len(X)
    if n < 2:
        raise ValueError(f"SSiam needs at least 2 faces (here: {n})")
    if n <= pool_size:
        pool = rng.permutation(n)
    else:
        pool = rng.integers(0, n, size=pool_size)
    pool_t = torch.from_numpy(pool).to(X.device)
    d2 = pairwise_sq_distances(X[pool_t])
    d2.fill_diagonal_(float("inf"))
    nearest_d, nearest = d2.min(dim=1)
    d2.fill_diagonal_(float("-inf"))
    farthest_d, farthest = d2.max(dim=1)
    half = batch_size // 2
    hard_pos = torch.argsort(-nearest_d, stable=True)[:half]
    hard_neg = torch.argsort(farthest_d, stable=True)[: batch_size - half]
    hard_pos, hard_neg = hard_pos.cpu().numpy(), hard_neg.cpu().numpy()
    nearest, farthest = nearest.cpu().numpy(), farthest.cpu().numpy()
    first = np.concatenate([pool[hard_pos], pool[hard_neg]])
    second = np.concatenate([pool[nearest[hard_pos]], pool[farthest[hard_neg]]])
    similar = np.concatenate([np.ones(len(hard_pos), np.int64), np.zeros(len(hard_neg), np.int64)])
    return first.astype(np.int64), second.astype(np.int64), similar


class TrackPairs:
    """The pairs a video's tracks provide: same-track faces, and faces of tracks on
    screen in the same frame.

    track_ids: (n,) track of each face; frames: (n,) frame of each face.
    ``has_negatives`` is False when no two tracks share a frame.
    """

    def __init__(self, track_ids: np.ndarray, frames: np.ndarray) -> None:
        track_ids = np.asarray(track_ids, np.int64)
        frames = np.asarray(frames, np.int64)
        if track_ids.shape != frames.shape or track_ids.ndim != 1:
            raise ValueError(f"track_ids and frames must be 1-d of equal length (here: {track_ids.shape}, {frames.shape})")
        tracks, inverse = np.unique(track_ids, return_inverse=True)
        self.members = [np.flatnonzero(inverse == t) for t in range(len(tracks))]
        self.multi = [m for m in self.members if len(m) >= 2]
        if not self.multi:
            raise ValueError("TSiam needs a track with at least 2 faces (here: every track has one face)")
        first = np.array([frames[m].min() for m in self.members])
        last = np.array([frames[m].max() for m in self.members])
        # Two tracks share a frame when they hold faces of one frame (no track holds two).
        # Only tracks whose spans overlap are compared, found by a sweep in start order.
        order = np.argsort(first, kind="stable")
        frame_sets: dict[int, set[int]] = {}
        pairs = []
        for pos, i in enumerate(order):
            for j in order[pos + 1 :]:
                if first[j] > last[i]:
                    break
                a = frame_sets.setdefault(int(i), set(frames[self.members[i]].tolist()))
                b = frame_sets.setdefault(int(j), set(frames[self.members[j]].tolist()))
                if a & b:
                    pairs.append((min(i, j), max(i, j)))
        pairs.sort()
        self.cooccurring = np.asarray(pairs, np.int64).reshape(-1, 2)
        self.has_negatives = len(self.cooccurring) > 0

    def positives(self, rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
        """``count`` pairs of two different faces of one track (tracks drawn uniformly)."""
        picks = rng.integers(0, len(self.multi), size=count)
        a, b = np.empty(count, np.int64), np.empty(count, np.int64)
        for k, t in enumerate(picks):
            i, j = rng.choice(len(self.multi[t]), size=2, replace=False)
            a[k], b[k] = self.multi[t][i], self.multi[t][j]
        return a, b

    def negatives(self, rng: np.random.Generator, count: int) -> tuple[np.ndarray, np.ndarray]:
        """``count`` pairs of faces from two tracks that share a frame."""
        picks = rng.integers(0, len(self.cooccurring), size=count)
        a, b = np.empty(count, np.int64), np.empty(count, np.int64)
        for k, p in enumerate(picks):
            s, t = self.cooccurring[p]
            a[k] = self.members[s][rng.integers(len(self.members[s]))]
            b[k] = self.members[t][rng.integers(len(self.members[t]))]
        return a, b


def sample_tsiam_pairs(
    pairs: TrackPairs,
    X,
    rng: np.random.Generator,
    *,
    batch_size: int = 128,
    pool_size: int = 3000,
    mined_fraction: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One TSiam batch: same-track positives and co-occurring-track negatives, half each.

    mined_fraction: share of the batch mined as SSiam does instead (0 = pure TSiam;
    0.5 = the combined mode). Fallback (documented): where no two tracks share a
    frame, the negatives are SSiam's hardest negatives mined from a random pool of X.
    """
    n_mined = int(round(batch_size * mined_fraction))
    n_tracks = batch_size - n_mined
    half = n_tracks // 2
    parts = []
    if half:
        pa, pb = pairs.positives(rng, half)
        parts.append((pa, pb, np.ones(half, np.int64)))
    n_neg = n_tracks - half
    if n_neg:
        if pairs.has_negatives:
            na, nb = pairs.negatives(rng, n_neg)
        else:
            fa, fb, fs = mine_ssiam_pairs(X, rng, batch_size=2 * n_neg, pool_size=pool_size)
            na, nb = fa[fs == 0], fb[fs == 0]
        parts.append((na, nb, np.zeros(len(na), np.int64)))
    if n_mined:
        parts.append(mine_ssiam_pairs(X, rng, batch_size=n_mined, pool_size=pool_size))
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(3))  # type: ignore[return-value]
