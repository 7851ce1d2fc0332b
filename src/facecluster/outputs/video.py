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

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from facecluster._version import __version__
from facecluster.cache import atomic_write_text
from facecluster.faces.embed import network_id
from facecluster.outputs.chips import write_chips
from facecluster.outputs.folders import OutputFiles
from facecluster.outputs.report import render_report
from facecluster.outputs.tables import faces_csv, people_summary, tracks_csv
from facecluster.outputs.uncertainty import uncertainty
from facecluster.pipeline.video import VideoResult


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
        "shot_starts_s": [round(float(result.frame_times[a]), 3) for a in result.shots.starts],
        "num_faces": int((result.tracks.track_ids >= 0).sum()),
        "num_tracks": result.tracks.num_tracks,
        "num_people": result.num_people,
        "stop_distance": None if result.stop_distance is None else round(result.stop_distance, 4),
        "network": network_id(result.config.network),  # the face network of every distance here
        "learner": result.config.learn,  # the features clustered: none (the network's own) or the learner adapted to this video
        "people": people,
        **({"clothing_cue": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.clothing.items()}}
           if result.clothing is not None else {}),
    }


def not_a_face_summary(result: VideoResult) -> list[dict]:
    """The tracks set aside as probably not a face (person -1), with their faces and median detector score."""
    out = []
    for t in np.flatnonzero(result.track_person < 0):
        rows = np.flatnonzero(result.tracks.track_ids == t)
        out.append({"track_id": int(t), "num_faces": int(len(rows)),
                    "median_score": round(float(np.median(result.detections.scores[rows])), 3)})
    return out


def write_video_outputs(result: VideoResult, folder: str | Path, *, chips: bool = True, parquet: bool = False,
                        names: dict[int, str] | None = None) -> Path:
    """Write every output file of one video into ``folder``; returns the clusters.json path.
    names: person → name given by the user's corrections (:func:`facecluster.outputs.corrections.corrected`).

    What the previous run wrote there is removed first (and nothing else); ``clusters.json``
    is written last, so a folder without it is incomplete."""
    folder = Path(folder)
    files = OutputFiles(folder)
    (folder / "clusters.json").unlink(missing_ok=True)  # the folder is incomplete until the end
    files.remove_previous()
    files.claim("faces.csv", "tracks.csv", "timings.json", "report.html", "clusters.json", *(["faces.parquet"] if parquet else []))
    atomic_write_text(folder / "faces.csv", faces_csv(result))
    if parquet:
        from facecluster.outputs.parquet import write_video_parquet

        write_video_parquet(result, folder / "faces.parquet")
    atomic_write_text(folder / "tracks.csv", tracks_csv(result))
    far, close = uncertainty(result)
    not_faces = not_a_face_summary(result)
    clothing_names: dict[int, list[str]] = {}
    shown = list(range(result.tracks.num_tracks))  # one face of every track: the review page shows each track
    chip_names = write_chips(result, files, tracks=shown, clothing_names=clothing_names) if chips else {}
    doc = clusters_document(result, chip_names, clothing_names)
    for d in far + not_faces:
        d["chip"] = f"chips/track_{d['track_id']}.jpg" if chips else None
    doc["not_a_face"] = not_faces
    for person in doc["people"]:
        if (names or {}).get(person["id"]):
            person["name"] = names[person["id"]]
    for d in close:
        d["chips"] = [c for p in d["people"] for c in chip_names.get(p, [])[:1]]
    doc["uncertain"] = {"far_tracks": far, "close_pairs": close}
    # Timings vary from run to run: kept out of clusters.json, which is deterministic.
    atomic_write_text(folder / "timings.json", json.dumps({k: round(v, 3) for k, v in result.timings.items()}, indent=2) + "\n")
    render_report(folder, doc)
    atomic_write_text(folder / "clusters.json", json.dumps(doc, indent=2) + "\n")
    return folder / "clusters.json"


def write_failure(folder: str | Path, message: str, details: str = "") -> Path:
    """After a failed run (the folder check passed): remove what the previous run wrote, so
    that no stale result looks complete (the cache stays, for a resume), and write ``error.log``."""
    folder = Path(folder)
    files = OutputFiles(folder)
    for name in ("clusters.json", "report.html"):  # also from runs of versions without a manifest
        (folder / name).unlink(missing_ok=True)
    files.remove_previous()
    files.claim("error.log")
    atomic_write_text(folder / "error.log", f"{message}\n" + (f"\n{details}" if details else ""))
    return folder / "error.log"
