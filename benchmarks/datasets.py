"""Labelled datasets from ../shared/data, loaded the same way by every benchmark."""
from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from facecluster.boxes import box_iou
from facecluster.cluster.tracks import track_means
from facecluster.config import PipelineConfig
from facecluster.pipeline.video import VideoResult, run_video
from facecluster.video.tracking import overlapping_pairs, track_spans

CLIPS = ("short_hamilton_clip", "sweden")


def data_root() -> Path:
    """``$FACECLUSTER_DATA``, else ``../shared/data`` beside the repository."""
    return Path(os.environ.get("FACECLUSTER_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def embedding_sets(data: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The precomputed embeddings: name -> (X (n, 128), labels (n,))."""
    jp = np.load(data / "embeddings" / "jurassic_park_dlib128.npz")
    fc = np.load(data / "embeddings" / "five_celebrity_facenet128.npz")
    return {
        "jurassic_park_dlib128": (jp["encodings"], jp["names"]),
        "five_celebrity_facenet128": (np.concatenate([fc["arr_0"], fc["arr_2"]]), np.concatenate([fc["arr_1"], fc["arr_3"]])),
    }


def run_clip(data: Path, clip: str, work: Path) -> VideoResult:
    return run_video(data / "video" / f"{clip}.mp4", work / clip, PipelineConfig(workers=os.cpu_count() or 1))


def gt_label_of_rows(data: Path, clip: str, r: VideoResult, rows: np.ndarray) -> np.ndarray:
    """Ground-truth label of the box each detection row matches (IoU >= 0.5), '' where none."""
    gt: dict[int, list] = {}
    for row in csv.DictReader(open(data / "video" / "gt" / clip / "faces.csv")):
        gt.setdefault(int(row["frame"]), []).append(row)
    labels = []
    for row in rows:
        cands = gt.get(int(r.detections.frames[row]), [])
        label = ""
        if cands:
            boxes = np.array([[float(c[x]) for x in ("x1", "y1", "x2", "y2")] for c in cands])
            iou = box_iou(r.detections.boxes[row][None], boxes)[0]
            if iou.max() >= 0.5 and cands[int(iou.argmax())]["label"] not in ("false", "unsure"):
                label = cands[int(iou.argmax())]["label"]
        labels.append(label)
    return np.array(labels)


def clip_tracks(data: Path, clip: str, work: Path):
    """Track-level data of a clip: features (T, 128) L2-normalised, cannot-link pairs (m, 2),
    and for scoring every tracked face matched to the ground truth: its track (k,) and label (k,)."""
    r = run_clip(data, clip, work)
    rows = np.flatnonzero(r.tracks.track_ids >= 0)
    labels = gt_label_of_rows(data, clip, r, rows)
    keep = labels != ""
    first, last = track_spans(r.tracks, r.detections)
    return track_means(r.tracks, r.embeddings), overlapping_pairs(first, last), r.tracks.track_ids[rows[keep]], labels[keep]


def clip_faces(data: Path, clip: str, work: Path):
    """Embedded faces of a clip with the ground-truth label of the box each matches."""
    r = run_clip(data, clip, work)
    labels = gt_label_of_rows(data, clip, r, r.embeddings.rows)
    keep = np.flatnonzero(labels != "")
    rows = r.embeddings.rows[keep]
    return r.embeddings.vectors[keep], labels[keep], r.tracks.track_ids[rows], r.detections.frames[rows]


def photo_faces(folder: Path, cache: Path):
    """dlib descriptors of one face per photo (the largest CenterFace detection, the
    photo padded by half its size so that tight crops still show a whole face);
    labels are the names of the folders holding the photos (``celebs11/<name>/``,
    ``five_celebrities/{train,val}/<name>/``). Cached in ``cache``."""
    import cv2

    from facecluster.faces.align import FaceAligner
    from facecluster.faces.detect import make_detector
    from facecluster.faces.embed import embed_chip_batches
    from facecluster.threads import available_cores

    if cache.is_file():
        data = np.load(cache)
        return data["X"], data["y"]
    detector, aligner = make_detector("centerface"), FaceAligner()
    chips, labels = [], []
    for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png")):
        img = cv2.imread(str(path))
        if img is None:
            continue
        rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
        pad = max(rgb.shape[:2]) // 2
        rgb = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(0, 0, 0))
        boxes, _, _ = detector.detect(rgb)
        if len(boxes):
            areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
            chips.append(aligner.chips(rgb, boxes[[int(np.argmax(areas))]])[0])
            labels.append(path.parent.name)
    batches = [np.stack(chips[i : i + 16]) for i in range(0, len(chips), 16)]
    X = np.concatenate(list(embed_chip_batches(batches, workers=available_cores())))
    y = np.array(labels)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, X=X, y=y)
    return X, y




def largest_face_per_photo(face_file: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Row of the largest face of each photo that has one: face_file (N,) photo of each face,
    boxes (N, 4) → sorted (P',) int64 rows."""
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    best: dict[int, int] = {}
    for i, f in enumerate(np.asarray(face_file).tolist()):
        if f not in best or areas[i] > areas[best[f]]:
            best[f] = i
    return np.asarray(sorted(best.values()), np.int64)
