"""Face embeddings at photo-library scale, drawn around real dlib descriptors.

Real labelled vectors (the Jurassic Park embeddings and the celebs11 photos) give two
things: how far one person's faces lie from that person's mean (the pool of
residuals, face − its person's mean, taken as they are), and how far apart the means
of different people lie (the median distance between real people's means). New
identities get centres at the global mean plus an isotropic offset scaled to that
median distance; each face is its identity's centre plus one real residual, L2-
normalised (each residual rescaled by 0.85–1.15 and jittered by a quarter of its norm, so that
no two faces are the same vector). People's sizes follow a Zipf law, as in a family library (a few people
with thousands of faces, many with a handful). Cannot-links join random pairs of
faces of different identities, as faces of one photo would.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from facecluster.distances import l2_normalize


def real_vectors(data: Path, cache: Path) -> tuple[np.ndarray, np.ndarray]:
    """L2-normalised dlib descriptors (n, 128) and person labels (n,) of the Jurassic Park and celebs11 sets."""
    from datasets import embedding_sets, photo_faces

    X1, y1 = embedding_sets(data)["jurassic_park_dlib128"]
    X2, y2 = photo_faces(data / "faces" / "celebs11", cache / "celebs11.npz")
    X = l2_normalize(np.concatenate([X1, X2]).astype(np.float64))
    y = np.concatenate([np.char.add("jp:", np.asarray(y1, str)), np.char.add("c11:", np.asarray(y2, str))])
    return X, y


def library(X_real: np.ndarray, y_real: np.ndarray, n: int, *, faces_per_person: float = 50.0, cannot_per_face: float = 0.25,
            seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n synthetic faces: X (n, 128) float32 L2-normalised, labels (n,) int64, cannot-link pairs (m, 2) int64."""
    rng = np.random.default_rng(seed)
    people = np.unique(y_real)
    means = np.stack([X_real[y_real == p].mean(axis=0) for p in people])
    residuals = np.concatenate([X_real[y_real == p] - means[i] for i, p in enumerate(people)])
    between = np.linalg.norm(means[:, None] - means[None], axis=2)[np.triu_indices(len(means), 1)]
    centre = means.mean(axis=0)
    k = max(1, int(round(n / faces_per_person)))
    weights = 1.0 / np.arange(1, k + 1) ** 0.9
    labels = rng.choice(k, size=n, p=weights / weights.sum())
    offsets = rng.standard_normal((k, X_real.shape[1]))
    # Two independent isotropic offsets of norm r lie r·√2 apart: match the real median between people.
    offsets *= (np.median(between) / np.sqrt(2)) / np.linalg.norm(offsets, axis=1, keepdims=True)
    centres = centre + offsets
    # A real residual, rescaled and jittered, so that no two faces are the same vector.
    residual = residuals[rng.integers(0, len(residuals), n)] * rng.uniform(0.85, 1.15, (n, 1))
    jitter = rng.standard_normal(residual.shape)
    jitter *= 0.25 * np.linalg.norm(residual, axis=1, keepdims=True) / np.linalg.norm(jitter, axis=1, keepdims=True)
    X = centres[labels] + residual + jitter
    X = l2_normalize(X).astype(np.float32)
    m = int(cannot_per_face * n)
    a, b = rng.integers(0, n, m), rng.integers(0, n, m)
    keep = labels[a] != labels[b]
    return X, labels.astype(np.int64), np.stack([a[keep], b[keep]], axis=1).astype(np.int64)
