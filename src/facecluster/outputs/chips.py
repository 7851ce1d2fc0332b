"""Face crops (and torso crops, with the clothing cue) written under ``chips/`` for the report."""
from __future__ import annotations

import shutil

import numpy as np

from facecluster.outputs.folders import OutputFiles
from facecluster.pipeline.crops import crop_face, crop_name, crop_torso, showcase_faces, write_jpeg
from facecluster.pipeline.video import VideoResult
from facecluster.video.decode import iter_frames, prefetched

CHIPS_PER_PERSON = 6


def write_chips(
    result: VideoResult, files: OutputFiles, per_person: int = CHIPS_PER_PERSON, tracks: list[int] = (),
    clothing_names: dict[int, list[str]] | None = None,
) -> dict[int, list[str]]:
    """Save face crops per person under ``folder/chips`` (``chips/person_<p>/<n>.jpg``), and
    one per listed track (``chips/track_<t>.jpg``); returns person → relative paths. When the
    clothing cue was used, also the torso crops of the same faces (``chips/person_<p>/clothing_<n>.jpg``),
    listed per person in ``clothing_names``.

    The faces shown are embedded ones (:func:`~facecluster.pipeline.crops.showcase_faces`); their crops
    are copied from ``result.report_crops`` (cut in the embedding pass); the video is decoded again only
    for crops not found there (a cache from an older version, or a run resumed mid-way)."""
    showcase = showcase_faces(result.embeddings.rows, result.tracks.track_ids, result.detections.scores)
    picks = {p: _chip_picks(result, showcase, p, per_person) for p in range(result.num_people)}
    jobs: list[tuple[str, int, bool]] = []  # (path, detection row, torso instead of face)
    for p, rows in picks.items():
        jobs += [(f"chips/person_{p}/{n}.jpg", r, False) for n, r in enumerate(rows)]
        if result.clothing is not None:
            jobs += [(f"chips/person_{p}/clothing_{n}.jpg", r, True) for n, r in enumerate(rows)]
    for t in tracks:
        if t in showcase:
            jobs.append((f"chips/track_{t}.jpg", showcase[t][0], False))
    folder = files.folder
    files.claim(*(rel for rel, _, _ in jobs))
    written: set[str] = set()
    crops = result.report_crops
    to_decode: dict[int, list[tuple[str, int, bool]]] = {}
    for rel, r, torso in jobs:
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        source = crops / crop_name(r, torso) if crops is not None else None
        if source is not None and source.is_file():
            shutil.copyfile(source, folder / rel)
            written.add(rel)
        elif not (torso and crops is not None and (crops / crop_name(r, False)).is_file()):  # else: torso out of frame
            to_decode.setdefault(int(result.detections.frames[r]), []).append((rel, r, torso))
    if to_decode:
        for frame in prefetched(iter_frames(result.info.path, frames=set(to_decode))):
            for rel, r, torso in to_decode[frame.index]:
                box = result.detections.boxes[r]
                crop = crop_torso(frame.rgb, box) if torso else crop_face(frame.rgb, box)
                if crop is not None:
                    write_jpeg(folder / rel, crop)
                    written.add(rel)
    names: dict[int, list[str]] = {}
    for p, rows in picks.items():
        names[p] = [rel for n in range(len(rows)) if (rel := f"chips/person_{p}/{n}.jpg") in written]
        if clothing_names is not None:
            clothing_names[p] = [rel for n in range(len(rows)) if (rel := f"chips/person_{p}/clothing_{n}.jpg") in written]
    return names


def _chip_picks(result: VideoResult, showcase: dict[int, tuple[int, list[int]]], person: int, k: int) -> list[int]:
    """Detection rows to show for a person: the best-scoring embedded face of each of up to k tracks,
    longest first, then faces evenly spread over its tracks; deterministic."""
    tids = result.tracks.track_ids
    members = [int(t) for t in np.flatnonzero(result.track_person == person) if int(t) in showcase]
    picks: list[int] = []
    for t in sorted(members, key=lambda t: -int((tids == t).sum())):
        picks.append(showcase[t][0])
        if len(picks) >= k:
            return picks
    for t in members:
        for r in showcase[t][1]:
            if r not in picks and len(picks) < k:
                picks.append(r)
    return picks
