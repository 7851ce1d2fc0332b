"""Readers for the standard TV face-track annotations (BBT S01E01–06, Buffy S05E01–06).

Formats (as found in the files of ../shared/data/tvpersonid):

- ``<episode>.facetracks.mat``: MATLAB v5, a struct array ``FaceTracks``; per track
  ``trackerId`` (int), ``groundTruthIdentity`` (str), and per face ``frames`` (the
  annotation's frame numbers, kept as they are), ``timestamps`` (s, 25 fps),
  ``x, y, w, h`` (box, pixels), ``pan``, ``lip_diff``.
- ``<episode>.ids``: first line ``CVHCI_TRACKLABELS_V1``, then ``<trackId> <name>``;
  background people are resolved to ``unknown_eXX_N``.
- ``<episode>.cast``: JSON ``{"Characters": [{"name", "is_important", "gender"}]}``.
- ``<episode>.videvents``: first line ``CVHCI_VIDEOEVENTS_V1``, then ``<frame> <time> CUT``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facecluster.errors import InputError

# The characters each benchmark keeps (the paper's BBT-0101 and BF-0502 protocol).
MAIN_CHARACTERS = {
    "bbt": ("leonard", "sheldon", "penny", "howard", "raj"),
    "buffy": ("buffy", "xander", "willow", "giles", "dawn", "anya"),
}
DROPPED_LABELS = ("unknown", "false", "falsepositive", "false_positive")


@dataclass(frozen=True)
class AnnotatedEpisode:
    """Face tracks of one episode, one row per face.

    face_track: (N,) int64 index into the track arrays; frames: (N,) int64;
    times: (N,) float64 s; boxes: (N, 4) float32 x1, y1, x2, y2.
    tracker_ids: (T,) int64 ids as in the files; labels: (T,) str.
    """

    name: str
    face_track: np.ndarray
    frames: np.ndarray
    times: np.ndarray
    boxes: np.ndarray
    tracker_ids: np.ndarray
    labels: np.ndarray

    @property
    def num_tracks(self) -> int:
        return int(len(self.tracker_ids))

    def subset(self, keep_tracks: np.ndarray) -> "AnnotatedEpisode":
        """Only the tracks where ``keep_tracks`` (T,) bool is True, renumbered in order."""
        keep_tracks = np.asarray(keep_tracks, bool)
        new_index = np.cumsum(keep_tracks) - 1
        faces = keep_tracks[self.face_track]
        return AnnotatedEpisode(
            name=self.name,
            face_track=new_index[self.face_track[faces]],
            frames=self.frames[faces],
            times=self.times[faces],
            boxes=self.boxes[faces],
            tracker_ids=self.tracker_ids[keep_tracks],
            labels=self.labels[keep_tracks],
        )

    def face_labels(self) -> np.ndarray:
        return self.labels[self.face_track]


def read_facetracks(path: str | Path) -> AnnotatedEpisode:
    """Read ``<episode>.facetracks.mat``."""
    from scipy.io import loadmat

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file")
    try:
        data = loadmat(str(path), squeeze_me=True, struct_as_record=False)
    except Exception as exc:  # scipy raises several types for a bad file
        raise InputError(path, f"not a MATLAB v5 file ({type(exc).__name__}: {exc})") from None
    if "FaceTracks" not in data:
        raise InputError(path, f"no variable 'FaceTracks' (found: {', '.join(k for k in data if not k.startswith('__'))})")
    tracks = np.atleast_1d(data["FaceTracks"])
    face_track, frames, times, boxes, ids, labels = [], [], [], [], [], []
    for t, tr in enumerate(tracks):
        f = np.atleast_1d(tr.frames).astype(np.int64)
        x, y = np.atleast_1d(tr.x).astype(np.float32), np.atleast_1d(tr.y).astype(np.float32)
        w, h = np.atleast_1d(tr.w).astype(np.float32), np.atleast_1d(tr.h).astype(np.float32)
        face_track.append(np.full(len(f), t, np.int64))
        frames.append(f)
        times.append(np.atleast_1d(tr.timestamps).astype(np.float64))
        boxes.append(np.stack([x, y, x + w, y + h], axis=1))
        ids.append(int(tr.trackerId))
        labels.append(str(tr.groundTruthIdentity))
    return AnnotatedEpisode(
        name=path.name.split(".")[0],
        face_track=np.concatenate(face_track),
        frames=np.concatenate(frames),
        times=np.concatenate(times),
        boxes=np.concatenate(boxes).astype(np.float32),
        tracker_ids=np.asarray(ids, np.int64),
        labels=np.asarray(labels),
    )


def read_ids(path: str | Path) -> dict[int, str]:
    """Read ``<episode>.ids``: tracker id -> name."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file")
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0].strip() != "CVHCI_TRACKLABELS_V1":
        raise InputError(path, "not a CVHCI_TRACKLABELS_V1 file (first line differs)")
    out: dict[int, str] = {}
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[0].lstrip("-").isdigit():
            raise InputError(path, f"line {n}: expected '<trackId> <name>', got {line!r}")
        out[int(parts[0])] = parts[1]
    return out


def read_cast(path: str | Path) -> list[dict]:
    """Read ``<episode>.cast``: the list of characters (name, is_important, gender)."""
    path = Path(path)
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(path, "no such file") from None
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not JSON ({exc.msg} at line {exc.lineno})") from None
    return list(doc.get("Characters", []))


def read_videvents(path: str | Path) -> np.ndarray:
    """Read ``<episode>.videvents``: frames of the shot cuts, (C,) int64."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file")
    lines = path.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0].strip() != "CVHCI_VIDEOEVENTS_V1":
        raise InputError(path, "not a CVHCI_VIDEOEVENTS_V1 file (first line differs)")
    return np.asarray([int(l.split()[0]) for l in lines[1:] if l.strip() and l.split()[-1] == "CUT"], np.int64)


def main_characters(episode: str) -> tuple[str, ...] | None:
    """The benchmark's characters for an episode name like ``bbt_s01e01`` (None if unknown series)."""
    return MAIN_CHARACTERS.get(episode.split("_")[0].lower())


def paper_subset(episode: AnnotatedEpisode, characters: tuple[str, ...] | None = None) -> AnnotatedEpisode:
    """The tracks the paper's protocol scores: the main characters where the series is
    known (or ``characters``), else every label but unknown/false."""
    characters = characters if characters is not None else main_characters(episode.name)
    if characters is not None:
        keep = np.isin(episode.labels, characters)
    else:
        keep = ~np.isin(np.char.lower(episode.labels.astype(str)), DROPPED_LABELS)
    return episode.subset(keep)
