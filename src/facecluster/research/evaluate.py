"""Scoring a run against ground-truth faces (``faces.csv`` of ``../shared/data/video/gt``).

Per frame, predicted and true boxes are matched one-to-one by the Hungarian
algorithm on IoU, a match needing IoU ≥ ``min_iou``. Detection recall is the
share of true faces matched (labels ``false`` excluded), precision the share of
predicted faces matched to a true face. Clustering metrics compare predicted
person ids with true labels over the matched faces whose label is neither
``false`` nor ``unsure``.
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


def match_faces(pred_rows: list[dict], true_rows: list[dict], min_iou: float = 0.5):
    """Matched pairs (predicted label, true label), and the detection counts."""
    pred = _by_frame(pred_rows, "person")
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
    return result
