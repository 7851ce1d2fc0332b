"""Linking detections into face tracks within shots.

Frame by frame inside each shot, every active track predicts its next box from
its last two boxes (constant velocity) and is matched to the current detections
by the Hungarian algorithm on 1 − IoU, a match needing IoU ≥ ``min_iou``. A track
survives up to ``max_gap`` frames without a match; unmatched detections start new
tracks. Tracks never cross a shot boundary and never hold two faces of one frame;
tracks with fewer than ``min_detections`` faces are dropped (track id −1).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from .detect.base import box_iou
from .errors import ParameterError
from .types import Detections, Shots, Tracks


@dataclass(frozen=True)
class TrackerParams:
    min_iou: float = 0.3
    max_gap: int = 4  # frames between two matched detections, at most
    min_detections: int = 5

    def __post_init__(self) -> None:
        if not 0.0 < self.min_iou <= 1.0:
            raise ParameterError(f"min_iou must be in (0, 1] (here: min_iou={self.min_iou})")
        if self.max_gap < 1:
            raise ParameterError(f"max_gap must be >= 1 (here: max_gap={self.max_gap})")
        if self.min_detections < 1:
            raise ParameterError(f"min_detections must be >= 1 (here: min_detections={self.min_detections})")


@dataclass
class _Active:
    rows: list[int] = field(default_factory=list)
    frames: list[int] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)

    def predicted_box(self, frame: int) -> np.ndarray:
        last = self.boxes[-1]
        if len(self.boxes) < 2:
            return last
        dt = self.frames[-1] - self.frames[-2]
        velocity = (self.boxes[-1] - self.boxes[-2]) / max(dt, 1)
        return last + velocity * (frame - self.frames[-1])


def track_faces(detections: Detections, shots: Shots, params: TrackerParams = TrackerParams()) -> Tracks:
    """Tracks of a video's detections. Track ids are numbered by first frame, then by x."""
    n = len(detections)
    shot_of_row = shots.shot_of(detections.frames) if n else np.zeros(0, np.int64)
    finished: list[_Active] = []
    active: list[_Active] = []
    current_shot = -1
    order = np.lexsort((detections.boxes[:, 0] if n else np.zeros(0), detections.frames))
    frames_sorted = detections.frames[order]
    boundaries = np.flatnonzero(np.diff(frames_sorted)) + 1
    for group in np.split(order, boundaries) if n else []:
        frame = int(detections.frames[group[0]])
        shot = int(shot_of_row[group[0]])
        if shot != current_shot:
            finished.extend(active)
            active = []
            current_shot = shot
        still = [a for a in active if frame - a.frames[-1] <= params.max_gap]
        finished.extend(a for a in active if frame - a.frames[-1] > params.max_gap)
        active = still
        boxes = detections.boxes[group]
        matched_dets: set[int] = set()
        if active:
            predicted = np.stack([a.predicted_box(frame) for a in active])
            iou = box_iou(predicted, boxes)
            last_iou = box_iou(np.stack([a.boxes[-1] for a in active]), boxes)
            iou = np.maximum(iou, last_iou)
            rows, cols = linear_sum_assignment(1.0 - iou)
            for r, c in zip(rows, cols):
                if iou[r, c] >= params.min_iou:
                    a = active[r]
                    a.rows.append(int(group[c]))
                    a.frames.append(frame)
                    a.boxes.append(boxes[c].astype(np.float64))
                    matched_dets.add(int(c))
        for c in range(len(group)):
            if c not in matched_dets:
                active.append(_Active([int(group[c])], [frame], [boxes[c].astype(np.float64)]))
    finished.extend(active)
    kept = [t for t in finished if len(t.rows) >= params.min_detections]
    kept.sort(key=lambda t: (t.frames[0], float(t.boxes[0][0]), t.rows[0]))
    track_ids = np.full(n, -1, np.int64)
    track_shots = np.zeros(len(kept), np.int64)
    for tid, t in enumerate(kept):
        track_ids[t.rows] = tid
        track_shots[tid] = shot_of_row[t.rows[0]]
    return Tracks(track_ids=track_ids, track_shots=track_shots)


def interpolate_track_boxes(frames: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every frame from a track's first to last, boxes linearly interpolated in gaps.

    frames (k,) ascending ints, boxes (k, 4) → (F,) frames and (F, 4) boxes.
    """
    all_frames = np.arange(int(frames[0]), int(frames[-1]) + 1)
    out = np.stack([np.interp(all_frames, frames, boxes[:, j]) for j in range(4)], axis=1)
    return all_frames, out.astype(np.float32)
