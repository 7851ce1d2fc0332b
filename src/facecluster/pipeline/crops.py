"""Face and torso crops for the report, and which faces of a track are shown.

The report shows, per person, a few faces of its tracks (:func:`showcase_faces` says which ones a
track can offer). Those crops are cut in the embedding stage's decoding pass (:class:`ReportCrops`)
and kept in the run's cache, so that writing the report does not decode the video a second time
(a two-hour film: ~7 minutes of decoding on 2 cores).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from facecluster.types import Detections, Tracks

CHIP_SIDE = 112
SPREAD_PER_TRACK = 3  # besides its best face, faces evenly spread over a track, for people with few tracks


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


def write_jpeg(path: Path, rgb: np.ndarray) -> None:
    """An RGB crop as JPEG (quality 90), written to a temporary name and renamed: never half a file."""
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise OSError(f"{path}: could not encode the crop as JPEG")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.tobytes())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def showcase_faces(rows: np.ndarray, track_of_row: np.ndarray, scores: np.ndarray) -> dict[int, tuple[int, list[int]]]:
    """track → (its best-scoring face, up to ``SPREAD_PER_TRACK`` faces evenly spread over it), as rows.

    rows (M,): the faces that may be shown (the embedded ones: detected, never carried between key
    frames), sorted by frame; track_of_row, scores: (N,) indexed by row."""
    by_track: dict[int, list[int]] = {}
    for r in np.asarray(rows).tolist():
        if track_of_row[r] >= 0:
            by_track.setdefault(int(track_of_row[r]), []).append(r)
    out = {}
    for t, members in by_track.items():
        best = max(members, key=lambda r: (float(scores[r]), -r))
        spread = [members[i] for i in np.unique(np.linspace(0, len(members) - 1, SPREAD_PER_TRACK).astype(int))]
        out[t] = (best, spread)
    return out


def crop_name(row: int, torso: bool) -> str:
    """File name of a face's crop in the crops folder."""
    return f"{row}_torso.jpg" if torso else f"{row}.jpg"


class ReportCrops:
    """Collects, during a decoding pass, the crops the report may show: each track's faces from
    :func:`showcase_faces` among ``rows`` (and their torsos, ``with_torso``), as JPEG files in ``folder``;
    only those among ``decoded`` (the rows of this pass; all by default).

    ``wanted``: the frames it needs; call it with (frame index, (H, W, 3) RGB frame) for each."""

    def __init__(self, folder: Path, detections: Detections, tracks: Tracks, rows: np.ndarray, *, with_torso: bool,
                 decoded: np.ndarray | None = None) -> None:
        self.folder = Path(folder)
        self.boxes = detections.boxes
        self.with_torso = with_torso
        passing = None if decoded is None else set(np.asarray(decoded).tolist())
        self.by_frame: dict[int, set[int]] = {}
        for best, spread in showcase_faces(rows, tracks.track_ids, detections.scores).values():
            for r in (best, *spread):
                if passing is None or r in passing:
                    self.by_frame.setdefault(int(detections.frames[r]), set()).add(r)
        self.wanted = set(self.by_frame)
        if self.wanted:
            self.folder.mkdir(parents=True, exist_ok=True)

    def __call__(self, index: int, rgb: np.ndarray) -> None:
        for r in sorted(self.by_frame.get(index, ())):
            write_jpeg(self.folder / crop_name(r, False), crop_face(rgb, self.boxes[r]))
            torso = crop_torso(rgb, self.boxes[r]) if self.with_torso else None
            if torso is not None:  # out of frame: the face's crop alone says so
                write_jpeg(self.folder / crop_name(r, True), torso)
