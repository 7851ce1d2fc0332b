"""Scenes: runs of consecutive shots that share a place, found from the shots' backgrounds.

Each shot is described by colour histograms of the 2×2 cells of its middle
frame with every face and torso masked (:func:`facecluster.clothing.background_descriptor`).
Two shots at most ``SCENE_WINDOW`` apart are *linked* when their descriptors are
closer than ``SCENE_THRESHOLD``; a scene boundary falls between shots s and s+1
only when no link spans it. Linking across a gap is what keeps shot threading
(A-B-A: a dialogue cutting between two angles) inside one scene.

Too many scene boundaries only cost the clothing cue some pairs; too few let
clothing mislead across a costume change, so the threshold errs towards more
scenes (on the two dev clips: 1 scene of 4 shots for the stage performance, 27
of 31 for the street interviews, and the join of the two a boundary).

Limits: a scene shot in one place with very different framings (wide, then
close-ups against a plain wall) splits; two scenes in look-alike places (same set,
same lighting) join. Only colour is used, no audio, text or time-of-day cues.
"""
from __future__ import annotations

import numpy as np

SCENE_WINDOW = 4  # shots
SCENE_THRESHOLD = 0.45  # distance between background descriptors (0 … √2); errs towards more scenes


def group_shots(descriptors: np.ndarray, window: int = SCENE_WINDOW, threshold: float = SCENE_THRESHOLD) -> np.ndarray:
    """Scene index of each shot: descriptors (S, D) → (S,) int64, non-decreasing from 0.

    A shot whose descriptor is all zeros (no background visible) links to nothing
    on its own but does not break a link that spans it.
    """
    S = len(descriptors)
    if S == 0:
        return np.zeros(0, np.int64)
    known = np.abs(descriptors).sum(axis=1) > 0
    covered = np.zeros(max(S - 1, 0), bool)  # covered[s]: some link spans the gap between s and s+1
    for i in range(S):
        if not known[i]:
            continue
        for j in range(i + 1, min(S, i + window + 1)):
            if known[j] and np.linalg.norm(descriptors[i] - descriptors[j]) < threshold:
                covered[i:j] = True
    return np.concatenate([[0], np.cumsum(~covered)]).astype(np.int64)
