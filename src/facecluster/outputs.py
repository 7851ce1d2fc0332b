"""Files a run writes into ``OUT/<video stem>/``.

- ``faces.csv``: frame, time_s, track_id, x1, y1, x2, y2, score, person — one row per
  detected face that belongs to a track.
- ``tracks.csv``: track_id, shot, first_frame, last_frame, n_faces, person.
- ``clusters.json``: the parameters, the video, and per person: id, track ids, face
  count, screen time (s), first and last appearance (s), chip file names.
- ``chips/person_<id>/<n>.jpg``: a few face crops per person.

Every file is written atomically; ``clusters.json`` is written last, so its
presence marks a complete output folder.
"""
from __future__ import annotations

import io
import json
import shutil
from dataclasses import asdict
from pathlib import Path

import cv2
import numpy as np

from . import __version__
from .cache import atomic_write_text
from .decode import iter_frames
from .cluster import overlapping_pairs
from .pipeline import VideoResult, track_spans
from .report import render_report

CHIPS_PER_PERSON = 6
CHIP_SIDE = 112


def person_of_faces(result: VideoResult) -> np.ndarray:
    """(N,) person id of each detection (-1 when in no track)."""
    tids = result.tracks.track_ids
    out = np.full(len(tids), -1, np.int64)
    member = tids >= 0
    out[member] = result.track_person[tids[member]]
    return out


def people_summary(result: VideoResult) -> list[dict]:
    """Per person (by id): tracks, faces, screen time and first/last appearance in seconds."""
    det, tracks, times = result.detections, result.tracks, result.frame_times
    first, last = track_spans(tracks, det)
    frame_dt = 1.0 / result.info.fps if result.info.fps > 0 else 0.0
    faces_per_track = np.bincount(tracks.track_ids[tracks.track_ids >= 0], minlength=tracks.num_tracks)
    people = []
    for p in range(result.num_people):
        members = np.flatnonzero(result.track_person == p)
        covered = np.unique(np.concatenate([np.arange(first[t], last[t] + 1) for t in members]))
        people.append(
            {
                "id": int(p),
                "track_ids": [int(t) for t in members],
                "num_tracks": int(len(members)),
                "num_faces": int(faces_per_track[members].sum()),
                "screen_time_s": round(float(len(covered) * frame_dt), 3),
                "first_appearance_s": round(float(times[first[members].min()]), 3),
                "last_appearance_s": round(float(times[last[members].max()]), 3),
            }
        )
    return people


def faces_csv(result: VideoResult) -> str:
    det = result.detections
    person = person_of_faces(result)
    tids = result.tracks.track_ids
    rows = np.flatnonzero(tids >= 0)
    rows = rows[np.lexsort((tids[rows], det.frames[rows]))]
    out = io.StringIO()
    out.write("frame,time_s,track_id,x1,y1,x2,y2,score,person\n")
    for r in rows:
        x1, y1, x2, y2 = det.boxes[r]
        f = int(det.frames[r])
        out.write(
            f"{f},{result.frame_times[f]:.3f},{tids[r]},{x1:.1f},{y1:.1f},{x2:.1f},{y2:.1f},{det.scores[r]:.3f},{person[r]}\n"
        )
    return out.getvalue()


def tracks_csv(result: VideoResult) -> str:
    first, last = track_spans(result.tracks, result.detections)
    counts = np.bincount(result.tracks.track_ids[result.tracks.track_ids >= 0], minlength=result.tracks.num_tracks)
    out = io.StringIO()
    out.write("track_id,shot,first_frame,last_frame,n_faces,person\n")
    for t in range(result.tracks.num_tracks):
        out.write(f"{t},{result.tracks.track_shots[t]},{first[t]},{last[t]},{counts[t]},{result.track_person[t]}\n")
    return out.getvalue()


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
    from .clothing import torso_box

    x1, y1, x2, y2 = torso_box(face, rgb.shape)
    if x2 - x1 < 4 or y2 - y1 < 4:
        return None
    return cv2.resize(rgb[y1:y2, x1:x2], (side, side), interpolation=cv2.INTER_AREA)


def write_chips(
    result: VideoResult, folder: Path, per_person: int = CHIPS_PER_PERSON, tracks: list[int] = (),
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
    chips_dir = folder / "chips"
    if chips_dir.exists():
        shutil.rmtree(chips_dir)
    names: dict[int, list[str]] = {p: [] for p in picks}
    if by_frame:
        for frame in iter_frames(result.info.path, frames=set(by_frame)):
            for rel, r, torso in by_frame[frame.index]:
                (folder / rel).parent.mkdir(parents=True, exist_ok=True)
                box = result.detections.boxes[r]
                crop = crop_torso(frame.rgb, box) if torso else crop_face(frame.rgb, box)
                if crop is not None:
                    cv2.imwrite(str(folder / rel), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    for p, rows in picks.items():
        names[p] = [f"chips/person_{p}/{n}.jpg" for n in range(len(rows)) if (folder / f"chips/person_{p}/{n}.jpg").exists()]
        if clothing_names is not None:
            clothing_names[p] = [f"chips/person_{p}/clothing_{n}.jpg" for n in range(len(rows))
                                 if (folder / f"chips/person_{p}/clothing_{n}.jpg").exists()]
    return names


def uncertainty(result: VideoResult, max_items: int = 6) -> tuple[list[dict], list[dict]]:
    """Where the clustering is least sure: (far tracks, close pairs of people).

    far tracks: tracks whose feature is farthest (Euclidean, L2-normalised) from the
    mean of the other tracks of their person; close pairs: pairs of people never on
    screen together whose mean features are closest.
    """
    F = result.track_features.astype(np.float64)
    P = result.num_people
    if P == 0 or len(F) == 0:
        return [], []
    first, last = track_spans(result.tracks, result.detections)
    far = []
    for t in range(len(F)):
        p = result.track_person[t]
        others = np.flatnonzero((result.track_person == p) & (np.arange(len(F)) != t))
        if len(others):
            centre = F[others].mean(axis=0)
            centre /= max(np.linalg.norm(centre), 1e-12)
            far.append({"track_id": int(t), "person": int(p), "distance": round(float(np.linalg.norm(F[t] - centre)), 4)})
    far.sort(key=lambda d: (-d["distance"], d["track_id"]))
    means = np.stack([F[result.track_person == p].mean(axis=0) for p in range(P)])
    means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
    together = np.zeros((P, P), bool)
    for a, b in overlapping_pairs(first, last):
        pa, pb = result.track_person[a], result.track_person[b]
        together[pa, pb] = together[pb, pa] = True
    pairs = []
    for a in range(P):
        for b in range(a + 1, P):
            if not together[a, b]:
                pairs.append({"people": [a, b], "distance": round(float(np.linalg.norm(means[a] - means[b])), 4)})
    pairs.sort(key=lambda d: (d["distance"], d["people"]))
    return far[:max_items], pairs[:max_items]


def clusters_document(result: VideoResult, chips: dict[int, list[str]] | None = None,
                      clothing_chips: dict[int, list[str]] | None = None) -> dict:
    people = people_summary(result)
    for person in people:
        person["chips"] = (chips or {}).get(person["id"], [])
        if clothing_chips:
            person["clothing_chips"] = clothing_chips.get(person["id"], [])
    info = result.info
    return {
        "facecluster_version": __version__,
        "video": {
            "path": info.path,
            "width": info.width,
            "height": info.height,
            "fps": round(info.fps, 6),
            "num_frames": info.num_frames,
            "duration_s": round(info.duration_s, 3),
            "rotation": info.rotation,
        },
        "parameters": {k: v for k, v in asdict(result.config).items() if k != "workers"},
        "num_shots": len(result.shots),
        "shots": [[int(a), int(b)] for a, b in zip(result.shots.starts, result.shots.ends)],
        "num_faces": int((result.tracks.track_ids >= 0).sum()),
        "num_tracks": result.tracks.num_tracks,
        "num_people": result.num_people,
        "people": people,
        **({"clothing_cue": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.clothing.items()}}
           if result.clothing is not None else {}),
    }


def write_video_outputs(result: VideoResult, folder: str | Path, *, chips: bool = True, parquet: bool = False) -> Path:
    """Write every output file of one video into ``folder``; returns the clusters.json path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    done_marker = folder / "clusters.json"
    done_marker.unlink(missing_ok=True)  # the folder is incomplete until the end
    atomic_write_text(folder / "faces.csv", faces_csv(result))
    if parquet:
        from .parquet_export import write_video_parquet

        write_video_parquet(result, folder / "faces.parquet")
    atomic_write_text(folder / "tracks.csv", tracks_csv(result))
    far, close = uncertainty(result)
    clothing_names: dict[int, list[str]] = {}
    chip_names = write_chips(result, folder, tracks=[d["track_id"] for d in far], clothing_names=clothing_names) if chips else {}
    doc = clusters_document(result, chip_names, clothing_names)
    for d in far:
        d["chip"] = f"chips/track_{d['track_id']}.jpg" if chips else None
    for d in close:
        d["chips"] = [c for p in d["people"] for c in chip_names.get(p, [])[:1]]
    doc["uncertain"] = {"far_tracks": far, "close_pairs": close}
    # Timings vary from run to run: kept out of clusters.json, which is deterministic.
    atomic_write_text(folder / "timings.json", json.dumps({k: round(v, 3) for k, v in result.timings.items()}, indent=2) + "\n")
    render_report(folder, doc)
    atomic_write_text(done_marker, json.dumps(doc, indent=2) + "\n")
    return done_marker
