"""The tables of an output folder: ``faces.csv``, ``tracks.csv`` (through the ``csv`` module) and the per-person summary."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

import numpy as np

from facecluster.pipeline.photos import PhotoFaces
from facecluster.pipeline.video import VideoResult
from facecluster.video.tracking import track_spans


def person_of_faces(result: VideoResult) -> np.ndarray:
    """(N,) person id of each detection (-1 when in no track)."""
    tids = result.tracks.track_ids
    out = np.full(len(tids), -1, np.int64)
    member = tids >= 0
    out[member] = result.track_person[tids[member]]
    return out


def frame_durations(times: np.ndarray, fps: float) -> np.ndarray:
    """(F,) seconds each frame is shown, from the container timestamps (F,): the time to the
    next frame; the last frame gets the median of the others (1/fps for a one-frame video).
    Right for variable-frame-rate video, where a frame count times 1/fps is not."""
    times = np.asarray(times, np.float64)
    if len(times) == 0:
        return np.zeros(0)
    steps = np.diff(times)
    last = float(np.median(steps)) if len(steps) else (1.0 / fps if fps > 0 else 0.0)
    return np.maximum(np.append(steps, last), 0.0)


def people_summary(result: VideoResult) -> list[dict]:
    """Per person (by id): tracks, faces, screen time and first/last appearance in seconds."""
    det, tracks, times = result.detections, result.tracks, result.frame_times
    first, last = track_spans(tracks, det)
    durations = frame_durations(times, result.info.fps)
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
                "screen_time_s": round(float(durations[covered].sum()), 3),
                "first_appearance_s": round(float(times[first[members].min()]), 3),
                "last_appearance_s": round(float(times[last[members].max()]), 3),
            }
        )
    return people


def _fixed(value: float, places: int) -> Decimal:
    """A number written with exactly ``places`` decimals (a Decimal: the csv module writes it as is, unquoted)."""
    return Decimal(f"{float(value):.{places}f}")


def _table(header: list[str], rows, quoting: int = csv.QUOTE_MINIMAL) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(header)
    csv.writer(out, lineterminator="\n", quoting=quoting).writerows(rows)
    return out.getvalue()


def faces_csv(result: VideoResult) -> str:
    """``faces.csv``: one row per face in a track, by frame then track."""
    det = result.detections
    person = person_of_faces(result)
    tids = result.tracks.track_ids
    rows = np.flatnonzero(tids >= 0)
    rows = rows[np.lexsort((tids[rows], det.frames[rows]))]

    def row(r: int) -> list:
        f = int(det.frames[r])
        return [f, _fixed(result.frame_times[f], 3), int(tids[r]), *(_fixed(v, 1) for v in det.boxes[r]),
                _fixed(det.scores[r], 3), int(person[r])]

    return _table(["frame", "time_s", "track_id", "x1", "y1", "x2", "y2", "score", "person"], (row(r) for r in rows))


def tracks_csv(result: VideoResult) -> str:
    """``tracks.csv``: one row per track."""
    first, last = track_spans(result.tracks, result.detections)
    counts = np.bincount(result.tracks.track_ids[result.tracks.track_ids >= 0], minlength=result.tracks.num_tracks)
    times = result.frame_times
    rows = ([t, int(result.tracks.track_shots[t]), int(first[t]), int(last[t]), int(counts[t]), int(result.track_person[t]),
             _fixed(times[first[t]], 3), _fixed(times[last[t]], 3)]
            for t in range(result.tracks.num_tracks))
    return _table(["track_id", "shot", "first_frame", "last_frame", "n_faces", "person", "first_time_s", "last_time_s"], rows)


def photo_faces_csv(faces: PhotoFaces, person: np.ndarray) -> str:
    """``faces.csv`` of a photo collection: one row per face; file names always quoted."""
    rows = ([faces.files[faces.face_file[i]], int(faces.face_index[i]), *(_fixed(v, 1) for v in faces.boxes[i]),
             _fixed(faces.scores[i], 3), int(person[i])] for i in range(len(person)))
    return _table(["file", "face_index", "x1", "y1", "x2", "y2", "score", "person"], rows, csv.QUOTE_NONNUMERIC)
