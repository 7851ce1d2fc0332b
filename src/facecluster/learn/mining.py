"""Pair mining: SSiam's hardest neighbours and TSiam's track pairs.

Both return index arrays ``(first, second, similar)`` of one batch: (B,) int64,
(B,) int64 and (B,) int64 in {0, 1}; indices refer to rows of the feature matrix.
"""
from __future__ import annotations

import numpy as np


def pairwise_sq_distances(X: np.ndarray) -> np.ndarray:
    """(n, n) float32 squared Euclidean distances of the rows of X (n, d), clipped at 0."""
    X = np.asarray(X, np.float32)
    sq = (X**2).sum(axis=1)
    d2 = sq[:, None] + sq[None, :] - 2.0 * (X @ X.T)
    return np.maximum(d2, 0.0)


def mine_ssiam_pairs(
    X: np.ndarray, rng: np.random.Generator, *, batch_size: int = 128, pool_size: int = 3000
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One SSiam batch from a fresh random pool.

    1. draw ``pool_size`` rows at random, with replacement (where there are no
       more rows than ``pool_size``, the pool is every row once, in random order,
       since repeated draws would make every face its own nearest neighbour);
    2. positives: each pool face with its nearest neighbour in the pool (another
       draw, never itself); keep the batch_size/2 faces whose nearest neighbour is
       farthest (hardest positives);
    3. negatives: each face with its farthest face; keep the batch_size/2 faces
       whose farthest face is closest (hardest negatives).
    Ties are broken by position in the pool (stable sort).
    """
    n = len(X)
    if n < 2:
        raise ValueError(f"SSiam needs at least 2 faces (here: {n})")
    if n <= pool_size:
        pool = rng.permutation(n)
    else:
        pool = rng.integers(0, n, size=pool_size)
    pool_size = len(pool)
    d2 = pairwise_sq_distances(X[pool])
    np.fill_diagonal(d2, np.inf)
    nearest = np.argmin(d2, axis=1)
    nearest_d = d2[np.arange(pool_size), nearest]
    np.fill_diagonal(d2, -np.inf)
    farthest = np.argmax(d2, axis=1)
    farthest_d = d2[np.arange(pool_size), farthest]
    half = batch_size // 2
    hard_pos = np.argsort(-nearest_d, kind="stable")[:half]
    hard_neg = np.argsort(farthest_d, kind="stable")[: batch_size - half]
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
        frame_sets = [set(frames[m].tolist()) for m in self.members]
        pairs = []
        for i in range(len(tracks)):
            for j in range(i + 1, len(tracks)):
                if first[i] <= last[j] and first[j] <= last[i] and frame_sets[i] & frame_sets[j]:
                    pairs.append((i, j))
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
    pairs: TrackPairs, X: np.ndarray, rng: np.random.Generator, *, batch_size: int = 128, pool_size: int = 3000
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One TSiam batch: half same-track positives, half co-occurring-track negatives.

    Fallback (documented): where no two tracks share a frame, the negatives are
    SSiam's hardest negatives mined from a random pool of ``X``.
    """
    half = batch_size // 2
    pa, pb = pairs.positives(rng, half)
    if pairs.has_negatives:
        na, nb = pairs.negatives(rng, batch_size - half)
    else:
        fa, fb, fs = mine_ssiam_pairs(X, rng, batch_size=2 * (batch_size - half), pool_size=pool_size)
        na, nb = fa[fs == 0], fb[fs == 0]
    first = np.concatenate([pa, na])
    second = np.concatenate([pb, nb])
    similar = np.concatenate([np.ones(len(pa), np.int64), np.zeros(len(na), np.int64)])
    return first, second, similar
