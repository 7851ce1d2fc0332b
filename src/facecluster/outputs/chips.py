"""Face crops (and torso crops, with the clothing cue) written under ``chips/`` for the report."""
from __future__ import annotations

import cv2
import numpy as np

from facecluster.outputs.folders import OutputFiles
from facecluster.pipeline.video import VideoResult
from facecluster.video.decode import iter_frames, prefetched

CHIPS_PER_PERSON = 6
CHIP_SIDE = 112


def crop_face(rgb: np.ndarray, box: np.ndarray, side: int = CHIP_SIDE, context: float = 1.6) -> np.ndarray:
    """A square crop around a box with some context, resized to side×side, RGB uint8."""
    h, w = rgb.shape[:2]
    x1, y1, x2, y2 = [float(v) for v in box]
    half = max(x2 - x1, y2 - y1) * context / 2
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    l, t, r, b = int(cx - half), int(cy - half), int(cx + half), int(cy + half)
    pad = max(0, -l, -t, r - w, b - h)
    padded = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0)) if pad else rgb
    crop = padded[t + pad : b + pad, l + pad : r + pad]
    return cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)


def crop_torso(rgb: np.ndarray, face: np.ndarray, side: int = CHIP_SIDE) -> np.ndarray | None:
    """The torso region the clothing cue describes (see :mod:`facecluster.clothing`), side×side RGB; None if out of frame."""
    from facecluster.clothing.descriptors import torso_box

    x1, y1, x2, y2 = torso_box(face, rgb.shape)
    if x2 - x1 < 4 or y2 - y1 < 4:
        return None
    return cv2.resize(rgb[y1:y2, x1:x2], (side, side), interpolation=cv2.INTER_AREA)


def write_chips(
    result: VideoResult, files: OutputFiles, per_person: int = CHIPS_PER_PERSON, tracks: list[int] = (),
    clothing_names: dict[int, list[str]] | None = None,
) -> dict[int, list[str]]:
    """Save face crops per person under ``folder/chips`` (``chips/person_<p>/<n>.jpg``), and
    one per listed track (``chips/track_<t>.jpg``); returns person → relative paths. When the
    clothing cue was used, also the torso crops of the same faces (``chips/person_<p>/clothing_<n>.jpg``),
    listed per person in ``clothing_names``."""
    picks = {p: _chip_picks(result, p, per_person) for p in range(result.num_people)}
    jobs: list[tuple[str, int, bool]] = []  # (path, detection row, torso instead of face)
    for p, rows in picks.items():
        jobs += [(f"chips/person_{p}/{n}.jpg", r, False) for n, r in enumerate(rows)]
        if result.clothing is not None:
            jobs += [(f"chips/person_{p}/clothing_{n}.jpg", r, True) for n, r in enumerate(rows)]
    det, tids = result.detections, result.tracks.track_ids
    for t in tracks:
        rows = np.flatnonzero(tids == t)
        jobs.append((f"chips/track_{t}.jpg", int(rows[np.argmax(det.scores[rows])]), False))
    by_frame: dict[int, list[tuple[str, int, bool]]] = {}
    for job in jobs:
        by_frame.setdefault(int(det.frames[job[1]]), []).append(job)
    folder = files.folder
    files.claim(*(rel for rel, _, _ in jobs))
    written: set[str] = set()
    if by_frame:
        for frame in prefetched(iter_frames(result.info.path, frames=set(by_frame))):
            for rel, r, torso in by_frame[frame.index]:
                (folder / rel).parent.mkdir(parents=True, exist_ok=True)
                box = result.detections.boxes[r]
                crop = crop_torso(frame.rgb, box) if torso else crop_face(frame.rgb, box)
                if crop is not None:
                    cv2.imwrite(str(folder / rel), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
                    written.add(rel)
    names: dict[int, list[str]] = {}
    for p, rows in picks.items():
        names[p] = [rel for n in range(len(rows)) if (rel := f"chips/person_{p}/{n}.jpg") in written]
        if clothing_names is not None:
            clothing_names[p] = [rel for n in range(len(rows)) if (rel := f"chips/person_{p}/clothing_{n}.jpg") in written]
    return names


def _chip_picks(result: VideoResult, person: int, k: int) -> list[int]:
    """Detection rows to show for a person: the best-scoring face of each of up to k tracks,
    then more faces of the longest tracks; deterministic."""
    det, tids = result.detections, result.tracks.track_ids
    members = np.flatnonzero(result.track_person == person)
    picks: list[int] = []
    for t in sorted(members, key=lambda t: -int((tids == t).sum())):
        rows = np.flatnonzero(tids == t)
        picks.append(int(rows[np.argmax(det.scores[rows])]))
        if len(picks) >= k:
            return picks
    for t in members:
        rows = np.flatnonzero(tids == t)
        for r in rows[np.linspace(0, len(rows) - 1, 3).astype(int)]:
            if int(r) not in picks and len(picks) < k:
                picks.append(int(r))
    return picks


