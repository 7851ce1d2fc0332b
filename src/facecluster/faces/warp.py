"""Affine warps of a face out of a frame that do not alias where they shrink it.

``cv2.warpAffine`` samples the source at one point an output pixel (bilinear); shrinking a face by more than 2×
that way skips pixels, and the chip of a 400-pixel face in a 1080p frame turns grainy. Where the warp shrinks,
the region it reads is first reduced with area averaging (``cv2.resize``, ``INTER_AREA``) to about the output's
scale, then warped at about unit scale.
"""
from __future__ import annotations

import cv2
import numpy as np

# Warps that shrink by this factor or less go through an area-averaged reduction first (a bilinear warp down to
# half size still reads every source pixel).
SHRINK_BELOW = 0.5


def warp_area(rgb: np.ndarray, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``cv2.warpAffine(rgb, matrix, size)`` (bilinear, black outside the frame) for (H, W, 3) uint8 ``rgb``, a
    (2, 3) matrix from frame pixels to output pixels and size (width, height); where the matrix shrinks by
    ``SHRINK_BELOW`` or more, the region it reads is area-averaged to the output's scale first."""
    matrix = np.asarray(matrix, np.float64)
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    if scale >= SHRINK_BELOW or scale <= 0:
        return cv2.warpAffine(rgb, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    w, h = size
    inverse = cv2.invertAffineTransform(matrix)
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ inverse.T  # in frame pixels
    pad = 2.0 / scale  # a couple of output pixels' worth of source around the region
    x0 = int(np.clip(np.floor(corners[:, 0].min() - pad), 0, rgb.shape[1]))
    y0 = int(np.clip(np.floor(corners[:, 1].min() - pad), 0, rgb.shape[0]))
    x1 = int(np.clip(np.ceil(corners[:, 0].max() + pad), 0, rgb.shape[1]))
    y1 = int(np.clip(np.ceil(corners[:, 1].max() + pad), 0, rgb.shape[0]))
    if x1 - x0 < 2 or y1 - y0 < 2:  # the region lies outside the frame: all black either way
        return cv2.warpAffine(rgb, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    out_w, out_h = max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))
    reduced = cv2.resize(rgb[y0:y1, x0:x1], (out_w, out_h), interpolation=cv2.INTER_AREA)
    # reduced pixel (u, v) covers frame pixels x0 + u / sx, y0 + v / sy
    sx, sy = out_w / (x1 - x0), out_h / (y1 - y0)
    to_frame = np.array([[1 / sx, 0, x0 + 0.5 / sx - 0.5], [0, 1 / sy, y0 + 0.5 / sy - 0.5], [0, 0, 1]], np.float64)
    return cv2.warpAffine(reduced, matrix @ to_frame, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
