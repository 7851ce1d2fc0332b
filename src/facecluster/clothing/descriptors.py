"""Clothing: the torso region below each face and a colour descriptor of it.

The torso box is placed from the face box alone (scaled by the face's size):
``TORSO_WIDTH`` face widths wide, centred under the face, from ``TORSO_GAP``
face heights below the chin down ``TORSO_HEIGHT`` face heights, clipped to the
frame. Pixels inside any detected face box of the frame, and inside the torso
boxes of faces nearer the camera (larger faces, which occlude), are masked.

The descriptor is a histogram in HSV: 12 hue × 3 saturation bins for chromatic
pixels (S ≥ 0.2 and V ≥ 0.15) and 6 value bins for the achromatic rest (black,
grey, white clothes), L1-normalised and square-rooted, so that the Euclidean
distance between two descriptors is √2 × the Hellinger distance of the
histograms (0 = same colours, √2 = nothing in common). Hue and saturation
change little with lighting; value is kept coarse.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from facecluster.types import Detections, Shots
from facecluster.video.decode import iter_frames, prefetched

CODE_VERSION = 1  # bump when a change alters the descriptors

TORSO_WIDTH = 2.0  # face widths
TORSO_GAP = 0.3  # face heights between chin and torso top
TORSO_HEIGHT = 2.0  # face heights
MIN_VISIBLE = 64  # unmasked torso pixels needed for a descriptor
HUE_BINS, SAT_BINS, VALUE_BINS = 12, 3, 6
DESCRIPTOR_DIM = HUE_BINS * SAT_BINS + VALUE_BINS


def torso_box(face: np.ndarray, frame_shape: tuple[int, ...]) -> np.ndarray:
    """(4,) int box (x1, y1, x2, y2), x2/y2 exclusive, below ``face`` (x1, y1, x2, y2); may be empty."""
    x1, y1, x2, y2 = (float(v) for v in face)
    w, h = x2 - x1, y2 - y1
    cx = (x1 + x2) / 2
    H, W = frame_shape[:2]
    box = np.array([cx - TORSO_WIDTH * w / 2, y2 + TORSO_GAP * h, cx + TORSO_WIDTH * w / 2, y2 + (TORSO_GAP + TORSO_HEIGHT) * h])
    box = np.round(box).astype(np.int64)
    box[[0, 2]] = np.clip(box[[0, 2]], 0, W)
    box[[1, 3]] = np.clip(box[[1, 3]], 0, H)
    return box


def _mask_out(mask: np.ndarray, origin: tuple[int, int], box) -> None:
    """Clear ``box`` (frame coordinates) in ``mask``, whose top-left pixel is at ``origin`` (x, y)."""
    x0, y0 = origin
    h, w = mask.shape
    bx1, by1, bx2, by2 = (float(v) for v in box)
    ox1, oy1 = max(int(np.floor(bx1)) - x0, 0), max(int(np.floor(by1)) - y0, 0)
    ox2, oy2 = min(int(np.ceil(bx2)) - x0, w), min(int(np.ceil(by2)) - y0, h)
    if ox2 > ox1 and oy2 > oy1:
        mask[oy1:oy2, ox1:ox2] = False


def _chromatic(hsv: np.ndarray) -> np.ndarray:
    """(H, W) uint8, 255 where a pixel of HSV (OpenCV's full range) counts as chromatic (S ≥ 0.2 and V ≥ 0.15)."""
    import cv2

    return cv2.inRange(hsv, (0, 51, 38), (255, 255, 255))


def _histogram(hsv: np.ndarray, chromatic: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """(DESCRIPTOR_DIM,) square-rooted L1 histogram of the pixels of ``hsv`` (h, w, 3) uint8 where ``mask``
    (h, w) uint8 is non-zero; ``chromatic`` from :func:`_chromatic` for the same pixels."""
    import cv2

    colour = cv2.bitwise_and(mask, chromatic)
    grey = cv2.bitwise_and(mask, cv2.bitwise_not(chromatic))
    # Hue bins h·12 // 256, saturation bins (s − 51)·3 // 205, value bins v·6 // 256: OpenCV's uniform bins.
    hue_sat = cv2.calcHist([hsv], [0, 1], colour, [HUE_BINS, SAT_BINS], [0, 256, 51, 256])
    value = cv2.calcHist([hsv], [2], grey, [VALUE_BINS], [0, 256])
    hist = np.concatenate([hue_sat.ravel(), value.ravel()]).astype(np.float64)
    return np.sqrt(hist / hist.sum()).astype(np.float32)


def _hsv(rgb: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2HSV_FULL)


def clothing_descriptors(rgb: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Descriptors of the torsos under ``faces`` (K, 4) in one frame (H, W, 3) uint8 RGB.

    Returns descriptors (K, DESCRIPTOR_DIM) float32 and valid (K,) bool — False
    where fewer than ``MIN_VISIBLE`` torso pixels are in frame and unoccluded.
    """
    faces = np.asarray(faces, np.float64).reshape(-1, 4)
    K = len(faces)
    out = np.zeros((K, DESCRIPTOR_DIM), np.float32)
    valid = np.zeros(K, bool)
    if K == 0:
        return out, valid
    torsos = [torso_box(f, rgb.shape) for f in faces]
    shown = [t for t in torsos if t[2] > t[0] and t[3] > t[1]]
    if not shown:
        return out, valid
    # Colours of the torsos' bounding rectangle only (the conversion is per pixel: the same values).
    ox, oy = min(int(t[0]) for t in shown), min(int(t[1]) for t in shown)
    hsv = _hsv(rgb[oy : max(int(t[3]) for t in shown), ox : max(int(t[2]) for t in shown)])
    chromatic = _chromatic(hsv)
    sizes = (faces[:, 2] - faces[:, 0]) * (faces[:, 3] - faces[:, 1])
    for k in range(K):
        x1, y1, x2, y2 = torsos[k]
        if x2 <= x1 or y2 <= y1:
            continue
        mask = np.ones((y2 - y1, x2 - x1), bool)
        for j in range(K):
            _mask_out(mask, (x1, y1), faces[j])
            if j != k and sizes[j] > sizes[k]:  # a larger face is nearer: its body hides this one's
                _mask_out(mask, (x1, y1), torsos[j])
        if np.count_nonzero(mask) < MIN_VISIBLE:
            continue
        rows, cols = slice(y1 - oy, y2 - oy), slice(x1 - ox, x2 - ox)
        out[k] = _histogram(hsv[rows, cols], chromatic[rows, cols], mask.view(np.uint8))
        valid[k] = True
    return out, valid


BACKGROUND_GRID = 2  # the frame is described as GRID × GRID cells, so layout counts, not only colour


def background_descriptor(rgb: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """A frame's look without its people: the same histogram in each of GRID × GRID cells
    of the frame, with every face and torso masked, concatenated and scaled to norm ≤ 1;
    (GRID² · DESCRIPTOR_DIM,) float32 (a cell with nothing left is zeros)."""
    H, W = rgb.shape[:2]
    mask = np.ones((H, W), bool)
    for f in np.asarray(faces, np.float64).reshape(-1, 4):
        _mask_out(mask, (0, 0), f)
        _mask_out(mask, (0, 0), torso_box(f, rgb.shape))
    hsv = _hsv(rgb)
    chromatic = _chromatic(hsv)
    g = BACKGROUND_GRID
    cells = []
    for i in range(g):
        for j in range(g):
            ys, xs = slice(H * i // g, H * (i + 1) // g), slice(W * j // g, W * (j + 1) // g)
            m = mask[ys, xs]
            cells.append(_histogram(hsv[ys, xs], chromatic[ys, xs], np.ascontiguousarray(m).view(np.uint8))
                         if np.count_nonzero(m) >= MIN_VISIBLE else np.zeros(DESCRIPTOR_DIM, np.float32))
    return (np.concatenate(cells) / g).astype(np.float32)


class VideoClothing:
    """Clothing of the faces ``rows`` (M,) (indices into ``detections``) and the background of each shot,
    collected from decoded frames in any order: :attr:`wanted` says which frames to :meth:`add`,
    :meth:`result` gives the arrays. The embedding stage feeds it the frames it decodes for its chips,
    so that the video is decoded once for both."""

    def __init__(self, shots: Shots, detections: Detections, rows: np.ndarray) -> None:
        self.detections = detections
        self.rows = np.asarray(rows, np.int64)
        middles = ((shots.starts + shots.ends) // 2).astype(np.int64)
        self.rows_by_frame: dict[int, list[int]] = {}
        for k, r in enumerate(self.rows.tolist()):
            self.rows_by_frame.setdefault(int(detections.frames[r]), []).append(k)
        self.order = np.argsort(detections.frames, kind="stable")
        self.starts = np.searchsorted(detections.frames[self.order], np.arange(int(detections.frames.max(initial=-1)) + 2))
        self.clothing = np.zeros((len(self.rows), DESCRIPTOR_DIM), np.float32)
        self.valid = np.zeros(len(self.rows), bool)
        self.background = np.zeros((len(shots), BACKGROUND_GRID**2 * DESCRIPTOR_DIM), np.float32)
        self.shot_of_middle = {int(m): s for s, m in enumerate(middles)}
        self.wanted: set[int] = set(self.rows_by_frame) | set(self.shot_of_middle)

    def add(self, index: int, rgb: np.ndarray) -> None:
        """Describe what frame ``index`` (H, W, 3) uint8 RGB holds of the wanted faces and backgrounds."""
        starts, order = self.starts, self.order
        same_frame = order[starts[index] : starts[index + 1]] if index + 1 < len(starts) else np.zeros(0, np.int64)
        boxes = self.detections.boxes[same_frame]
        if index in self.rows_by_frame:
            ks = self.rows_by_frame[index]
            # Describe each face with every face of its frame as a possible occluder.
            desc, ok = clothing_descriptors(rgb, np.concatenate([self.detections.boxes[self.rows[ks]], boxes]))
            self.clothing[ks], self.valid[ks] = desc[: len(ks)], ok[: len(ks)]
        if index in self.shot_of_middle:
            self.background[self.shot_of_middle[index]] = background_descriptor(rgb, boxes)

    def result(self) -> dict[str, np.ndarray]:
        return {"clothing": self.clothing, "valid": self.valid, "background": self.background}


def describe_video(path: str | Path, shots: Shots, detections: Detections, rows: np.ndarray,
                   hook: Callable[[int, int], None] | None = None) -> dict[str, np.ndarray]:
    """Clothing of the faces ``rows`` (M,) (indices into ``detections``) and the background of each shot.

    Returns ``clothing`` (M, DESCRIPTOR_DIM) float32, ``valid`` (M,) bool (False where too
    little torso is visible) and ``background`` (S, GRID² × DESCRIPTOR_DIM) float32, the
    middle frame of each shot with faces and torsos masked. Decodes only the frames needed.
    """
    collector = VideoClothing(shots, detections, rows)
    for n, frame in enumerate(prefetched(iter_frames(path, frames=collector.wanted))):
        collector.add(frame.index, frame.rgb)
        if hook:
            hook(n + 1, len(collector.wanted))
    return collector.result()
