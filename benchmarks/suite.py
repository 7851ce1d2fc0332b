"""The dev suite: every labelled video and photo set, one loader per kind, one scorer.

Videos: the clips of ``../shared/data/video`` that have ground truth (``gt/<clip>/``), the 1080p crowd (no ground
truth: timed only), and the clips of ``benchmarks/devset/video`` with ``benchmarks/devset/gt/<clip>/`` (each gt
README names the clip's kinds on a ``kind:`` line). Photo sets: ``../shared/data/faces/{five_celebrities,celebs11}``
and every folder of ``benchmarks/devset/photos`` (``<set>/<Person>/<photo>``; each photo's largest face is scored as
the folder's person). Linked pairs: two clips whose ground truths share a label (the same person in both).
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from datasets import data_root

from facecluster.research.evaluate import EXCLUDED_LABELS, match_faces, read_shots_csv

DEVSET = Path(__file__).resolve().parent / "devset"
SHARED_KINDS = {"short_hamilton_clip": ["stage"], "sweden": ["interview", "crowd"], "simplefr_dinner": ["tv-series", "hd"],
                "blackjournal": ["interview", "old"], "facenet_pytorch_crowd": ["crowd", "hd"]}


@dataclass(frozen=True)
class VideoSet:
    name: str
    video: Path
    gt: Path | None               # folder with shots.csv, tracks.csv, faces.csv; None: timed only
    kinds: tuple[str, ...] = ()
    origin: str = "shared"       # "shared" (../shared/data) or "devset" (benchmarks/devset)


@dataclass(frozen=True)
class PhotoSet:
    name: str
    folder: Path
    origin: str = "shared"


@dataclass
class Suite:
    videos: list[VideoSet] = field(default_factory=list)
    photos: list[PhotoSet] = field(default_factory=list)

    def linked_pairs(self) -> list[tuple[VideoSet, VideoSet, list[str]]]:
        """Pairs of clips whose ground truths share a person label (not person_N of the shared clips)."""
        labels = {v.name: gt_labels(v.gt) for v in self.videos if v.gt is not None}
        out = []
        names = sorted(labels)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                shared = sorted(x for x in labels[a] & labels[b] if not re.fullmatch(r"person_\d+", x))
                if shared:
                    out.append((self.by_name(a), self.by_name(b), shared))
        return out

    def by_name(self, name: str) -> VideoSet:
        return next(v for v in self.videos if v.name == name)


def _kinds_of(readme: Path) -> tuple[str, ...]:
    if readme.is_file():
        for line in readme.read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("kind:"):
                return tuple(k.strip() for k in line.split(":", 1)[1].split(",") if k.strip())
    return ()


def load_suite(data: Path | None = None) -> Suite:
    data = Path(data) if data else data_root()
    suite = Suite()
    for clip, kinds in SHARED_KINDS.items():
        video = data / "video" / f"{clip}.mp4"
        if video.is_file():
            gt = data / "video" / "gt" / clip
            suite.videos.append(VideoSet(clip, video, gt if (gt / "faces.csv").is_file() else None, tuple(kinds)))
    for gt in sorted((DEVSET / "gt").glob("*/faces.csv")):
        video = DEVSET / "video" / f"{gt.parent.name}.mp4"
        if video.is_file():
            suite.videos.append(VideoSet(gt.parent.name, video, gt.parent, _kinds_of(gt.parent / "README.md"), "devset"))
    for name in ("five_celebrities", "celebs11"):
        if (data / "faces" / name).is_dir():
            suite.photos.append(PhotoSet(name, data / "faces" / name))
    for folder in sorted(p for p in (DEVSET / "photos").glob("*") if p.is_dir()):
        suite.photos.append(PhotoSet(folder.name, folder, "devset"))
    return suite


def read_rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def gt_labels(gt: Path) -> set[str]:
    return {r["label"] for r in read_rows(gt / "tracks.csv")} - EXCLUDED_LABELS


def gt_shot_starts(gt: Path) -> np.ndarray:
    return read_shots_csv(gt / "shots.csv")[0]


def gt_transitions(gt: Path) -> dict[int, tuple[int, int]]:
    """The labelled gradual transitions: the first frame of the shot each leads into → its (first, last) frames."""
    return read_shots_csv(gt / "shots.csv")[1]


def scored_faces(result, gt: Path) -> tuple[np.ndarray, np.ndarray]:
    """The faces of a video run (a ``pipeline.VideoResult``) matched to a known ground-truth person: their rows in
    result.detections (K,) and those people (K,), as ``facecluster eval`` scores them."""
    rows = np.flatnonzero(result.tracks.track_ids >= 0)
    boxes = result.detections.boxes
    pred = [{"frame": int(result.detections.frames[i]), **dict(zip(("x1", "y1", "x2", "y2"), boxes[i].tolist())), "person": str(k)}
            for k, i in enumerate(rows)]
    pairs, _ = match_faces(pred, read_rows(gt / "faces.csv"))
    scored = [(int(p), t) for p, t in pairs if t not in EXCLUDED_LABELS]
    return rows[np.asarray([p for p, _ in scored], np.int64)], np.asarray([t for _, t in scored])
