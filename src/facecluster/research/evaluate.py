"""Scoring a run against ground-truth faces (``faces.csv`` of ``../shared/data/video/gt``).

Per frame, predicted and true boxes are matched one-to-one by the Hungarian
algorithm on IoU, a match needing IoU ≥ ``min_iou``. Detection recall is the
share of true faces matched (labels ``false`` excluded), precision the share of
predicted faces matched to a true face. Clustering metrics compare predicted
person ids with true labels over the matched faces whose label is neither
``false`` nor ``unsure``. A predicted track is impure where it holds at least
``IMPURE_MIN_FACES`` matched faces of each of two people. Where the ground truth
has ``shots.csv`` and the run its ``clusters.json``, the cuts are scored too
(within ``CUT_TOLERANCE`` frames, or anywhere in a gradual transition the
ground truth spans).
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from facecluster.boxes import box_iou
from facecluster.errors import InputError
from facecluster.research.metrics import all_scores

EXCLUDED_LABELS = {"false", "unsure"}
IMPURE_MIN_FACES = 3
CUT_TOLERANCE = 2


def read_faces_csv(path: str | Path, label_column: str) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "no such file (expected a faces.csv)")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        needed = {"frame", "x1", "y1", "x2", "y2", label_column}
        missing = needed - set(reader.fieldnames or [])
        if missing:
            raise InputError(path, f"missing columns: {', '.join(sorted(missing))}")
        return list(reader)


def _by_frame(rows: list[dict], label_column: str) -> dict[int, tuple[np.ndarray, list[str]]]:
    out: dict[int, tuple[list, list]] = {}
    for r in rows:
        boxes, labels = out.setdefault(int(r["frame"]), ([], []))
        boxes.append([float(r[k]) for k in ("x1", "y1", "x2", "y2")])
        labels.append(str(r[label_column]))
    return {f: (np.asarray(b, np.float64).reshape(-1, 4), l) for f, (b, l) in out.items()}


def match_faces(pred_rows: list[dict], true_rows: list[dict], min_iou: float = 0.5, pred_column: str = "person"):
    """Matched pairs (predicted ``pred_column`` value, true label), and the detection counts."""
    pred = _by_frame(pred_rows, pred_column)
    true = _by_frame(true_rows, "label")
    pairs: list[tuple[str, str]] = []
    n_true_real = sum(1 for r in true_rows if r["label"] != "false")
    matched_true_real = 0
    matched_pred = 0
    for frame, (tboxes, tlabels) in true.items():
        if frame not in pred:
            continue
        pboxes, plabels = pred[frame]
        iou = box_iou(pboxes, tboxes)
        rows, cols = linear_sum_assignment(-iou)
        for r, c in zip(rows, cols):
            if iou[r, c] >= min_iou:
                if tlabels[c] != "false":
                    matched_true_real += 1
                    matched_pred += 1
                    pairs.append((plabels[r], tlabels[c]))
    return pairs, {"true_faces": n_true_real, "pred_faces": len(pred_rows), "matched": matched_true_real}


def impure_tracks(pred_rows: list[dict], true_rows: list[dict], min_iou: float = 0.5) -> list[dict]:
    """Predicted tracks (faces.csv rows with ``track_id``) holding at least ``IMPURE_MIN_FACES`` matched faces of each of
    two ground-truth people: [{"track_id", "people": {label: faces}}], by track id."""
    pairs, _ = match_faces(pred_rows, true_rows, min_iou, pred_column="track_id")
    counts: dict[int, dict[str, int]] = {}
    for track, label in pairs:
        if label not in EXCLUDED_LABELS:
            per = counts.setdefault(int(track), {})
            per[label] = per.get(label, 0) + 1
    out = []
    for track, per in sorted(counts.items()):
        people = {label: n for label, n in per.items() if n >= IMPURE_MIN_FACES}
        if len(people) >= 2:
            out.append({"track_id": track, "people": people})
    return out


def read_shots_csv(path: Path) -> tuple[np.ndarray, dict[int, tuple[int, int]]]:
    """Ground-truth shots (``shot,first_frame,last_frame``, optionally ``transition_first,transition_last``):
    the first frame of each shot (S,) int64, and for a shot that a gradual transition (dissolve, wipe, zoom) leads
    into, its first frame → the transition's (first, last) frames, as the labeller saw them."""
    starts, transitions = [], {}
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            start = int(row["first_frame"])
            starts.append(start)
            if (row.get("transition_first") or "").strip():
                transitions[start] = (int(row["transition_first"]), int(row["transition_last"]))
    return np.asarray(starts, np.int64), transitions


def cut_scores(pred_dir: Path, gt_dir: Path) -> dict | None:
    """Cut precision, recall, F1 and the missed / extra cuts of a run's shots (clusters.json) against the ground
    truth's shots.csv (a cut found anywhere in a labelled gradual transition counts), and ``f1_strict``: the F1
    with every cut matched within CUT_TOLERANCE frames of its labelled frame; None where either is missing."""
    import json

    from facecluster.video.shots import boundary_f1

    if not (gt_dir / "shots.csv").is_file() or not (pred_dir / "clusters.json").is_file():
        return None
    true, transitions = read_shots_csv(gt_dir / "shots.csv")
    doc = json.loads((pred_dir / "clusters.json").read_text(encoding="utf-8"))
    pred = np.asarray([int(a) for a, _ in doc.get("shots", [])])
    scores = boundary_f1(pred, true, CUT_TOLERANCE, transitions)
    scores["f1_strict"] = boundary_f1(pred, true, CUT_TOLERANCE)["f1"]
    return scores


def evaluate_dirs(pred_dir: str | Path, gt_dir: str | Path, min_iou: float = 0.5) -> dict:
    """Scores of the run in ``pred_dir`` against ``gt_dir`` (each holding a faces.csv)."""
    pred_rows = read_faces_csv(Path(pred_dir) / "faces.csv", "person")
    true_rows = read_faces_csv(Path(gt_dir) / "faces.csv", "label")
    pairs, counts = match_faces(pred_rows, true_rows, min_iou)
    scored = [(p, t) for p, t in pairs if t not in EXCLUDED_LABELS]
    result: dict = {
        "detection_recall": counts["matched"] / counts["true_faces"] if counts["true_faces"] else 0.0,
        "detection_precision": counts["matched"] / counts["pred_faces"] if counts["pred_faces"] else 0.0,
        "faces_true": counts["true_faces"],
        "faces_pred": counts["pred_faces"],
        "faces_matched": counts["matched"],
        "faces_scored": len(scored),
    }
    if scored:
        p = np.asarray([s[0] for s in scored])
        t = np.asarray([s[1] for s in scored])
        result.update(all_scores(t, p))
    else:
        result.update({"wcp": 0.0, "nmi": 0.0, "bcubed_f": 0.0, "num_people_true": 0, "num_people_pred": 0})
    # Over the matched faces, as scored above; then over whole files, as a user counts them.
    result["num_people_true_matched"] = result.pop("num_people_true")
    result["num_people_pred_matched"] = result.pop("num_people_pred")
    result["num_people_true"] = len({r["label"] for r in true_rows if r["label"] not in EXCLUDED_LABELS})
    result["num_people_pred"] = len({r["person"] for r in pred_rows})
    if pred_rows and "track_id" in pred_rows[0]:
        impure = impure_tracks(pred_rows, true_rows, min_iou)
        result["impure_tracks"] = len(impure)
        result["impure"] = impure
    cuts = cut_scores(Path(pred_dir), Path(gt_dir))
    if cuts is not None:
        result.update({"cut_precision": cuts["precision"], "cut_recall": cuts["recall"], "cut_f1": cuts["f1"],
                       "cut_f1_strict": cuts["f1_strict"],
                       "cuts_missed": cuts["missed"], "cuts_extra": cuts["extra"]})
    return result
