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
from scipy.optimize import linear_sum_assignment

from facecluster.boxes import box_iou
from facecluster.research.evaluate import EXCLUDED_LABELS

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
    return np.asarray([int(r["first_frame"]) for r in read_rows(gt / "shots.csv")], np.int64)


def shot_scores(pred_starts, true_starts, tolerance: int = 2) -> dict:
    """Cut detection precision, recall and F1: a predicted cut (a shot start after the first) matches a true one
    within ``tolerance`` frames, one to one (greedy by distance)."""
    pred = sorted(int(s) for s in pred_starts if s > 0)
    true = sorted(int(s) for s in true_starts if s > 0)
    pairs = sorted((abs(p - t), i, j) for i, p in enumerate(pred) for j, t in enumerate(true) if abs(p - t) <= tolerance)
    used_p, used_t = set(), set()
    for _, i, j in pairs:
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
    hit = len(used_p)
    precision = hit / len(pred) if pred else 1.0
    recall = hit / len(true) if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    missed = [t for j, t in enumerate(true) if j not in used_t]
    extra = [p for i, p in enumerate(pred) if i not in used_p]
    return {"cut_precision": precision, "cut_recall": recall, "shot_f1": f1, "cuts_true": len(true), "cuts_pred": len(pred),
            "cuts_missed": missed, "cuts_extra": extra}


def impure_tracks(pred_rows: list[dict], true_rows: list[dict], min_faces: int = 3, min_iou: float = 0.5) -> list[dict]:
    """Predicted tracks that hold at least ``min_faces`` faces of each of two ground-truth people.

    pred_rows: faces.csv rows of a run (frame, track_id, x1..y2); true_rows: ground-truth faces.csv rows. Faces are
    matched per frame by IoU (Hungarian, IoU >= ``min_iou``); labels ``false``/``unsure`` are not people."""
    by_frame: dict[int, tuple[list, list]] = {}
    for r in true_rows:
        b, lab = by_frame.setdefault(int(r["frame"]), ([], []))
        b.append([float(r[k]) for k in ("x1", "y1", "x2", "y2")])
        lab.append(r["label"])
    pred_by_frame: dict[int, tuple[list, list]] = {}
    for r in pred_rows:
        b, tid = pred_by_frame.setdefault(int(r["frame"]), ([], []))
        b.append([float(r[k]) for k in ("x1", "y1", "x2", "y2")])
        tid.append(int(r["track_id"]))
    counts: dict[int, dict[str, int]] = {}
    for frame, (pb, tids) in pred_by_frame.items():
        if frame not in by_frame:
            continue
        tb, labels = by_frame[frame]
        iou = box_iou(np.asarray(pb, np.float64), np.asarray(tb, np.float64))
        for i, j in zip(*linear_sum_assignment(-iou)):
            if iou[i, j] >= min_iou and labels[j] not in EXCLUDED_LABELS:
                c = counts.setdefault(tids[i], {})
                c[labels[j]] = c.get(labels[j], 0) + 1
    out = []
    for tid, c in sorted(counts.items()):
        people = {lab: n for lab, n in c.items() if n >= min_faces}
        if len(people) >= 2:
            out.append({"track_id": tid, "people": people})
    return out
