"""A cheap appearance signature of a detected face and its surroundings, for the tracker's check that a face is
the track's person.

Computed from the decoded frame while it is at hand (the detection pass), in microseconds a face, from the
region ``CONTEXT`` times the face box around its centre (the face, hair, shoulders and what lies just behind):

- its colour layout: the region shrunk to ``COLOUR_GRID``×``COLOUR_GRID`` CIELAB means (0-1 scale);
- its structure: the region shrunk to ``GREY_GRID``×``GREY_GRID`` grey pixels normalised to zero mean and unit
  contrast (the layout of light and dark, whatever the exposure).

:func:`appearance_distance` is the mean of the two differences (colour: mean absolute difference; structure:
(1 − correlation) / 2), each divided by ``COLOUR_SCALE`` / ``STRUCTURE_SCALE``, the 99th percentile of the same
difference between faces of one ground-truth track up to 6 frames apart on three dev clips; so 1.0 is "as different
as the one-in-a-hundred most different frames of one person". On the dev suite's ground truth it tells one
person from another beside them, or from the face after a cut, far better than the face alone (whose small,
blurred pixels look alike from person to person): benchmarks/results/appearance.md. It is no identity: it only
compares faces a few frames apart.
"""
from __future__ import annotations

import cv2
import numpy as np

CODE_VERSION = 2  # bump when a change alters the signatures
CONTEXT = 2.2  # region side in box sides
COLOUR_GRID = 6
GREY_GRID = 16
COLOUR_SIZE = COLOUR_GRID * COLOUR_GRID * 3
SIZE = COLOUR_SIZE + GREY_GRID * GREY_GRID  # values a signature
COLOUR_SCALE = 0.035
STRUCTURE_SCALE = 0.22


def face_signatures(rgb: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(K, SIZE) float16 signatures of the faces ``boxes`` (K, 4) x1, y1, x2, y2 in frame pixels of ``rgb`` (H, W, 3)
    uint8. The region is clipped to the frame; a box with no pixels in the frame gets NaNs (never refused)."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    out = np.full((len(boxes), SIZE), np.nan, np.float32)
    h, w = rgb.shape[:2]
    for i, (x1, y1, x2, y2) in enumerate(boxes):
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        hw, hh = (x2 - x1) * CONTEXT / 2, (y2 - y1) * CONTEXT / 2
        a, b = int(max(0, cx - hw)), int(max(0, cy - hh))
        c, d = int(min(w, cx + hw)), int(min(h, cy + hh))
        if c - a < 2 or d - b < 2:
            continue
        region = rgb[b:d, a:c]
        small = cv2.resize(region, (COLOUR_GRID, COLOUR_GRID), interpolation=cv2.INTER_AREA)
        lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).astype(np.float32).ravel() / 255.0
        grey = cv2.cvtColor(cv2.resize(region, (GREY_GRID, GREY_GRID), interpolation=cv2.INTER_AREA),
                            cv2.COLOR_RGB2GRAY).astype(np.float32).ravel()
        out[i] = np.concatenate([lab, (grey - grey.mean()) / (grey.std() + 4.0) / GREY_GRID])
    return out.astype(np.float16)


def appearance_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance ≥ 0 between signatures a (..., SIZE) and b (..., SIZE), broadcast; NaN where either is unknown."""
    a = np.asarray(a, np.float32)
    b = np.asarray(b, np.float32)
    colour = np.abs(a[..., :COLOUR_SIZE] - b[..., :COLOUR_SIZE]).mean(axis=-1)
    ga, gb = a[..., COLOUR_SIZE:], b[..., COLOUR_SIZE:]
    corr = (ga * gb).sum(axis=-1) / np.maximum(np.linalg.norm(ga, axis=-1) * np.linalg.norm(gb, axis=-1), 1e-6)
    return 0.5 * (colour / COLOUR_SCALE + 0.5 * (1.0 - corr) / STRUCTURE_SCALE)
