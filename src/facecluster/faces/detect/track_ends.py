"""Where a track begins and ends between key frames: detection in a window around its first and last face.

With detection on every k-th frame only, a face that comes into view (or a shot's
action that starts) between two key frames would be found up to k − 1 frames late, and
one that leaves up to k − 1 frames early: on the dev clips that alone cost 7 % of the
true faces at k = 5. Here, on the frames between a track's first face and the key frame
before it (and between its last face and the key frame after it, inside the shot),
the detector looks again, in a window of ``WINDOW`` box sides around the track's end
box only (a small image: a tenth of a frame's cost for a face of 50 px in 640×360). A
face found there, overlapping the end box by IoU ≥ ``MIN_IOU``, not another track's
face and, where the detections carry appearance signatures, looking like the track's
end face (the tracker's check, :class:`~facecluster.video.tracking.TrackerParams`
``max_appearance``), extends the track; the extension stops at the first frame without one.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from facecluster.appearance import appearance_distance, face_signatures
from facecluster.boxes import box_iou
from facecluster.types import Detections, Shots, Tracks

WINDOW = 3.0  # search window side, in box sides, centred on the track's end box
MIN_IOU = 0.3


def end_rows(detections: Detections, tracks: Tracks) -> tuple[np.ndarray, np.ndarray]:
    """Row of each track's first and of its last face, by frame (the lower row where two share a frame): two (T,)
    int64 arrays. One sort, not a scan of every row per track."""
    member = np.flatnonzero(tracks.track_ids >= 0)
    tids = tracks.track_ids[member]
    order = member[np.lexsort((member, detections.frames[member], tids))]
    sorted_tids = tracks.track_ids[order]
    starts = np.searchsorted(sorted_tids, np.arange(tracks.num_tracks), side="left")
    stops = np.searchsorted(sorted_tids, np.arange(tracks.num_tracks), side="right")
    return order[starts].astype(np.int64), order[stops - 1].astype(np.int64)


def end_requests(detections: Detections, tracks: Tracks, shots: Shots, every: int) -> dict[int, list[tuple[int, int, np.ndarray]]]:
    """Frames to look at: frame -> [(track, step, end box (4,))], step −1 before the first face, +1 after the last."""
    requests: dict[int, list[tuple[int, int, np.ndarray]]] = {}
    first_rows, last_rows = end_rows(detections, tracks)
    for t in range(tracks.num_tracks):
        shot = int(tracks.track_shots[t])
        start, end = int(shots.starts[shot]), int(shots.ends[shot])
        first, last = int(detections.frames[first_rows[t]]), int(detections.frames[last_rows[t]])
        for f in range(first - 1, max(start, first - every + 1) - 1, -1):
            requests.setdefault(f, []).append((t, -1, detections.boxes[first_rows[t]]))
        for f in range(last + 1, min(end, last + every - 1) + 1):
            requests.setdefault(f, []).append((t, +1, detections.boxes[last_rows[t]]))
    return requests


def window(box: np.ndarray, height: int, width: int) -> tuple[int, int, int, int]:
    """Integer x1, y1, x2, y2 of the search window around ``box``, inside the frame."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    half = WINDOW * max(box[2] - box[0], box[3] - box[1]) / 2
    return (int(max(0, cx - half)), int(max(0, cy - half)), int(min(width, cx + half)), int(min(height, cy + half)))


def extend_track_ends(frames: Iterable, detections: Detections, tracks: Tracks, shots: Shots, detector, every: int,
                      max_appearance: float | None = None) -> tuple[Detections, Tracks]:
    """The tracks with the faces found before their first and after their last detected face.

    ``frames`` yields decoded frames (``.index``, ``.rgb``) in order, at least those of
    :func:`end_requests`. New rows follow the old ones (with their signatures where the detections have them).
    ``max_appearance``: refuse a face whose appearance distance to the track's end face is larger (None: no check)."""
    requests = end_requests(detections, tracks, shots, every)
    signatures = detections.signatures
    check = max_appearance is not None and signatures is not None
    first_rows, last_rows = end_rows(detections, tracks)
    # (track, step) -> frame -> (box, score, signature)
    found: dict[tuple[int, int], dict[int, tuple[np.ndarray, float, np.ndarray | None]]] = {}
    pending: list[tuple[int, int, int, np.ndarray, tuple[int, int, int, int], np.ndarray]] = []
    batch = 4 * detector.threads

    def flush() -> None:
        results = detector.detect_many([crop for *_, crop in pending])
        for (index, t, step, box, (x1, y1, _, _), crop), (boxes, scores, _) in zip(pending, results):
            if not len(boxes):
                continue
            boxes = boxes + np.array([x1, y1, x1, y1], np.float32)
            overlap = box_iou(box[None], boxes)[0]
            best = int(np.argmax(overlap))
            if overlap[best] < MIN_IOU:
                continue
            others = detections.boxes[detections.frames == index]
            if len(others) and box_iou(boxes[best][None], others)[0].max() >= 0.5:
                continue  # another track's face (or this track's own) is already there
            signature = None
            if signatures is not None:
                signature = face_signatures(crop, (boxes[best] - np.array([x1, y1, x1, y1], np.float32))[None])[0]
                end = first_rows[t] if step < 0 else last_rows[t]
                if check and appearance_distance(signatures[end], signature) > max_appearance:
                    continue  # another face, where the track's own has gone
            found.setdefault((t, step), {})[index] = (boxes[best], float(scores[best]), signature)
        pending.clear()

    for frame in frames:
        wanted = requests.get(frame.index)
        if not wanted:
            continue
        h, w = frame.rgb.shape[:2]
        for t, step, box in wanted:
            x1, y1, x2, y2 = window(box, h, w)
            if x2 - x1 < 8 or y2 - y1 < 8:
                continue
            pending.append((frame.index, t, step, box, (x1, y1, x2, y2), np.ascontiguousarray(frame.rgb[y1:y2, x1:x2])))
        if len(pending) >= batch:
            flush()
    if pending:
        flush()
    new_frames, new_boxes, new_scores, new_tracks, new_signatures = [], [], [], [], []
    for (t, step), by_frame in sorted(found.items()):
        edge = int(detections.frames[first_rows[t] if step < 0 else last_rows[t]])
        f = edge + step
        while f in by_frame:  # contiguous from the track's end outwards
            box, score, signature = by_frame[f]
            new_signatures.append(signature)
            new_frames.append(f)
            new_boxes.append(box)
            new_scores.append(score)
            new_tracks.append(t)
            f += step
    if not new_frames:
        return detections, tracks
    extended = Detections(
        frames=np.concatenate([detections.frames, np.asarray(new_frames, np.int64)]),
        boxes=np.concatenate([detections.boxes, np.asarray(new_boxes, np.float32).reshape(-1, 4)]),
        scores=np.concatenate([detections.scores, np.asarray(new_scores, np.float32)]),
        signatures=None if signatures is None else np.concatenate([signatures, np.stack(new_signatures).astype(signatures.dtype)]),
    )
    return extended, Tracks(track_ids=np.concatenate([tracks.track_ids, np.asarray(new_tracks, np.int64)]),
                            track_shots=tracks.track_shots)
