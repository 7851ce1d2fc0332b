"""Chips through a network in batches of one fixed size, so that a chip's vector never depends on its batch-mates."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

EMBEDDING_DIM = 128


def in_fixed_batches(chips: np.ndarray, batch: int, run: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``run`` on (K, S, S, 3) uint8 chips in batches of exactly ``batch`` (the last one padded with zero
    chips), so that a chip's descriptor never depends on its batch-mates: (K, 128) float32."""
    if len(chips) == 0:
        return np.zeros((0, EMBEDDING_DIM), np.float32)
    out = []
    for start in range(0, len(chips), batch):
        part = np.ascontiguousarray(chips[start : start + batch], np.uint8)
        n = len(part)
        if n < batch:
            part = np.concatenate([part, np.zeros((batch - n, *part.shape[1:]), np.uint8)])
        out.append(run(part)[:n])
    return np.concatenate(out).astype(np.float32, copy=False)
