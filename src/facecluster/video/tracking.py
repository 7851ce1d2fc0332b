"""Linking detections into face tracks within shots.

Frame by frame (frames that hold detections, in order) inside each shot, every
active track predicts its box at the current frame from its last two boxes
(constant velocity, per frame elapsed). A track's overlap with a detection is the
larger of the IoU with that predicted box and the IoU with its last box; tracks
and detections are matched by the Hungarian algorithm on 1 − overlap, a match
needing overlap ≥ ``min_iou`` and, where the detections carry appearance signatures
(:mod:`facecluster.appearance`), a face that looks like the track's last face
(appearance distance ≤ ``max_appearance``): a box that overlaps but shows another face
(the person beside, or the first face after a cut the shot detector missed) starts a
new track instead of joining this one. Where, from one frame with faces to the next, every
track that was on the first and overlaps a face on the second is refused this way (all the
faces on screen changed at once), the second frame starts a new shot: a cut the shot
detector missed (dark or low-contrast footage), reported as a cut, every track ending there
(not within ``CUT_GAP`` frames of the shot's start or end, or of the cut before: a dissolve changes the faces
frame after frame).
A track can be matched while the current frame is
at most ``max_gap`` frames after its last matched frame (so up to ``max_gap`` − 1
frames without a face in between); after that it ends. Unmatched detections start
new tracks. Tracks never cross a shot boundary and never hold two faces of one
frame; tracks with fewer than ``min_detections`` faces are dropped (track id −1).
Track ids are numbered by first frame, then by left edge.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from facecluster.boxes import box_iou
from facecluster.errors import ParameterError
from facecluster.appearance import appearance_distance
from facecluster.types import Detections, Shots, Tracks

CODE_VERSION = 3  # bump when a change alters the tracks
# A cut found by the appearance check less than this many frames after the start of its shot (or the cut before) is not
# a new cut: through a dissolve the faces change frame after frame (supernatural_b: refusals on frames 841-850 of a
# dissolve the ground truth cuts at 840; one cut at 841 with this).
CUT_GAP = 10


@dataclass(frozen=True)
class TrackerParams:
    min_iou: float = 0.3
    max_gap: int = 4  # frames from one matched detection of a track to the next, at most
    min_detections: int = 5
    # Largest appearance distance of a face to the track's last face (None: no check). Chosen on the ground truth of
    # the dev suite's first ten clips to refuse at most 1 in 1,000 same-person links; on all eighteen that point is
    # 1.79, and held out clip by clip 1.56-1.85 (benchmarks/bench_appearance.py → results/appearance.md).
    max_appearance: float | None = 1.85

    def __post_init__(self) -> None:
        if not 0.0 < self.min_iou <= 1.0:
            raise ParameterError(f"min_iou must be in (0, 1] (here: min_iou={self.min_iou})")
        if self.max_gap < 1:
            raise ParameterError(f"max_gap must be >= 1 (here: max_gap={self.max_gap})")
        if self.min_detections < 1:
            raise ParameterError(f"min_detections must be >= 1 (here: min_detections={self.min_detections})")
        if self.max_appearance is not None and not self.max_appearance > 0.0:
            raise ParameterError(f"max_appearance must be > 0 or None (here: max_appearance={self.max_appearance})")


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
    """Tracks of a video's detections. Track ids are numbered by first frame, then by x; ``track_shots`` index the
    shots as :func:`track_faces_and_cuts` splits them."""
    return track_faces_and_cuts(detections, shots, params)[0]


def track_faces_and_cuts(detections: Detections, shots: Shots,
                         params: TrackerParams = TrackerParams()) -> tuple[Tracks, Shots, np.ndarray]:
    """Tracks of a video's detections, the shots split at the cuts the appearance check found, and those cuts: (C,)
    int64 first frames of the new shots (see the module)."""
    from scipy.optimize import linear_sum_assignment  # here, not at start-up: ~0.5 s of CPU

    n = len(detections)
    signatures = detections.signatures if params.max_appearance is not None else None
    shot_of_row = shots.shot_of(detections.frames) if n else np.zeros(0, np.int64)
    finished: list[_Active] = []
    active: list[_Active] = []
    current_shot = -1
    order = np.lexsort((detections.boxes[:, 0] if n else np.zeros(0), detections.frames))
    frames_sorted = detections.frames[order]
    boundaries = np.flatnonzero(np.diff(frames_sorted)) + 1
    cuts: list[int] = []
    previous = -1  # the frame with faces before this one, in this shot
    shot_start, shot_end = 0, 0  # the first frame of this shot (or the latest cut found in it) and its last
    for group in np.split(order, boundaries) if n else []:
        frame = int(detections.frames[group[0]])
        shot = int(shot_of_row[group[0]])
        if shot != current_shot:
            finished.extend(active)
            active = []
            current_shot = shot
            shot_start = int(shots.starts[shot]) if len(shots.starts) else 0
            shot_end = int(shots.ends[shot]) if len(shots.ends) else np.iinfo(np.int64).max
            previous = -1
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
            if signatures is not None:
                last_rows = [a.rows[-1] for a in active]
                unlike = appearance_distance(signatures[last_rows][:, None], signatures[group][None]) > params.max_appearance
                if (frame - shot_start >= CUT_GAP and shot_end - frame >= CUT_GAP
                        and _all_faces_changed(active, previous, iou >= params.min_iou, unlike)):
                    cuts.append(frame)  # every track ends here; the faces start new ones
                    shot_start = frame
                    finished.extend(active)
                    active = []
                iou[unlike] = 0.0  # NaN (a signature unknown) compares False: never refused
        if active:
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
        previous = frame
    finished.extend(active)
    kept = [t for t in finished if len(t.rows) >= params.min_detections]
    kept.sort(key=lambda t: (t.frames[0], float(t.boxes[0][0]), t.rows[0]))
    split = split_shots(shots, np.asarray(cuts, np.int64))
    track_ids = np.full(n, -1, np.int64)
    track_shots = np.zeros(len(kept), np.int64)
    for tid, t in enumerate(kept):
        track_ids[t.rows] = tid
        track_shots[tid] = split.shot_of(t.frames[0])
    return Tracks(track_ids=track_ids, track_shots=track_shots), split, np.asarray(cuts, np.int64)


def _all_faces_changed(active: list[_Active], previous: int, overlaps: np.ndarray, unlike: np.ndarray) -> bool:
    """Whether every track that had a face on the ``previous`` frame with faces and overlaps a face now (``overlaps``
    (A, D) bool) overlaps only faces that look unlike its last one (``unlike`` (A, D) bool), and there is at least one."""
    on_screen = np.asarray([a.frames[-1] == previous for a in active]) & overlaps.any(axis=1)
    if previous < 0 or not on_screen.any():
        return False
    return bool(not (overlaps & ~unlike)[on_screen].any())


def split_shots(shots: Shots, cuts: np.ndarray) -> Shots:
    """``shots`` with a new shot starting at each frame of ``cuts`` (frames that start a shot already are ignored)."""
    cuts = np.setdiff1d(np.asarray(cuts, np.int64), shots.starts)
    if not len(cuts):
        return shots
    starts = np.sort(np.concatenate([shots.starts, cuts])).astype(np.int64)
    own_end = shots.ends[np.maximum(shots.shot_of(starts), 0)] if len(shots.ends) else starts
    ends = np.minimum(own_end, np.r_[starts[1:] - 1, np.iinfo(np.int64).max]).astype(np.int64)
    return Shots(starts=starts, ends=ends)


def key_frames(shots: Shots, num_frames: int, every: int) -> np.ndarray:
    """Frames to detect on when detecting every ``every``-th frame: in each shot its first
    frame, every ``every``-th frame after it, and its last frame, so that a cut is always
    detected on both sides. (F,) int64, sorted; every frame when ``every`` is 1."""
    if every <= 1 or not len(shots.starts):
        return np.arange(num_frames, dtype=np.int64)
    frames = [np.arange(s, e + 1, every) for s, e in zip(shots.starts.tolist(), shots.ends.tolist())]
    frames += [shots.ends.astype(np.int64)]
    out = np.unique(np.concatenate(frames))
    return out[(out >= 0) & (out < num_frames)].astype(np.int64)


def fill_track_gaps(detections: Detections, tracks: Tracks, max_gap: int | None = None) -> tuple[Detections, Tracks]:
    """Boxes for the frames between a track's detected faces (detection on key frames only):
    linear interpolation of the two detected boxes on either side, with score 0 (the
    mark of a face that was not detected but carried by its track). New rows follow the old.
    max_gap: fill only runs of at most this many frames (None: every run)."""
    new_frames, new_boxes, new_tracks = [], [], []
    member = np.flatnonzero(tracks.track_ids >= 0)
    order = member[np.lexsort((detections.frames[member], tracks.track_ids[member]))]
    tid = tracks.track_ids[order]
    frames = detections.frames[order]
    gap = frames[1:] - frames[:-1] - 1
    fill = (tid[1:] == tid[:-1]) & (gap > 0) & (gap <= (max_gap if max_gap is not None else np.iinfo(np.int64).max))
    for i in np.flatnonzero(fill).tolist():
        f0, f1 = int(frames[i]), int(frames[i + 1])
        b0, b1 = detections.boxes[order[i]], detections.boxes[order[i + 1]]
        t = (np.arange(f0 + 1, f1) - f0) / (f1 - f0)
        new_frames.append(np.arange(f0 + 1, f1, dtype=np.int64))
        new_boxes.append((b0[None] * (1 - t[:, None]) + b1[None] * t[:, None]).astype(np.float32))
        new_tracks.append(np.full(len(t), tid[i], np.int64))
    if not new_frames:
        return detections, tracks
    filled = Detections(
        frames=np.concatenate([detections.frames, *new_frames]),
        boxes=np.concatenate([detections.boxes, *new_boxes]).astype(np.float32),
        scores=np.concatenate([detections.scores, np.zeros(sum(len(f) for f in new_frames), np.float32)]),
    )
    return filled, Tracks(track_ids=np.concatenate([tracks.track_ids, *new_tracks]), track_shots=tracks.track_shots)


def overlapping_pairs(first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Pairs (i, j), i < j, of intervals [first, last] (inclusive) that overlap: (m, 2) int64."""
    first = np.asarray(first)
    last = np.asarray(last)
    overlap = (first[:, None] <= last[None, :]) & (first[None, :] <= last[:, None])
    i, j = np.nonzero(np.triu(overlap, k=1))
    return np.stack([i, j], axis=1).astype(np.int64)


def select_faces(tracks: Tracks, detections: Detections, per_track: int) -> np.ndarray:
    """Detection rows to embed: up to ``per_track`` detected faces per track (never the
    interpolated ones, score 0), evenly spread over the track's time (0 = all): the detected face nearest to each
    of ``per_track`` frames evenly spaced from its first face to its last, so that the faces chosen do not depend on
    which frames between were left to interpolation. Returned sorted by frame then row. (M,) int64."""
    chosen: list[np.ndarray] = []
    detected = detections.scores > 0
    for t in range(tracks.num_tracks):
        members = np.flatnonzero((tracks.track_ids == t) & detected)
        members = members[np.argsort(detections.frames[members], kind="stable")]
        if per_track and len(members) > per_track:
            frames = detections.frames[members]
            targets = np.linspace(frames[0], frames[-1], per_track)
            right = np.clip(np.searchsorted(frames, targets), 1, len(frames) - 1)
            nearer_left = targets - frames[right - 1] <= frames[right] - targets
            members = members[np.unique(np.where(nearer_left, right - 1, right))]
        chosen.append(members)
    rows = np.concatenate(chosen) if chosen else np.zeros(0, np.int64)
    return rows[np.lexsort((rows, detections.frames[rows]))].astype(np.int64)


def track_spans(tracks: Tracks, detections: Detections) -> tuple[np.ndarray, np.ndarray]:
    """First and last frame of each track: two (T,) int64 arrays."""
    T = tracks.num_tracks
    first = np.full(T, np.iinfo(np.int64).max, np.int64)
    last = np.full(T, -1, np.int64)
    member = tracks.track_ids >= 0
    np.minimum.at(first, tracks.track_ids[member], detections.frames[member])
    np.maximum.at(last, tracks.track_ids[member], detections.frames[member])
    return first, last
