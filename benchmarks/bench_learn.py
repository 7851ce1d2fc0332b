"""Base features vs SSiam vs TSiam, Ward clustering with known K, over 3 seeds.

Datasets (../shared/data): the Jurassic Park dlib embeddings (218 faces, 6 actors),
the five-celebrity FaceNet embeddings (train + val, 110 faces, 5 people), and the
faces our pipeline embeds on the two labelled clips (face level, labels from the
ground-truth box each face matches; TSiam uses our tracks). Scores: WCP, NMI
(sqrt normalisation) and B-cubed F over faces, mean ± std over seeds.
Writes benchmarks/results/learn.md.

    .venv/bin/python benchmarks/bench_learn.py [--data DIR] [--seeds 0 1 2]
"""
from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

import numpy as np

from facecluster.cluster import ConstrainedAgglomerative, l2_normalize
from facecluster.detect.base import box_iou
from facecluster.learn.variants import make_learner
from facecluster.metrics import all_scores
from facecluster.pipeline import PipelineConfig, run_video


def clip_faces(data: Path, clip: str, work: Path):
    """Embedded faces of a clip with the ground-truth label of the box each matches."""
    r = run_video(data / "video" / f"{clip}.mp4", work / clip, PipelineConfig(workers=os.cpu_count() or 1))
    gt: dict[int, list] = {}
    for row in csv.DictReader(open(data / "video" / "gt" / clip / "faces.csv")):
        gt.setdefault(int(row["frame"]), []).append(row)
    keep, labels = [], []
    for k, row in enumerate(r.embeddings.rows):
        f = int(r.detections.frames[row])
        cands = gt.get(f, [])
        if not cands:
            continue
        iou = box_iou(r.detections.boxes[row][None], np.array([[float(c[x]) for x in ("x1", "y1", "x2", "y2")] for c in cands]))[0]
        if iou.max() >= 0.5:
            keep.append(k)
            labels.append(cands[int(iou.argmax())]["label"])
    keep = np.array(keep)
    rows = r.embeddings.rows[keep]
    return r.embeddings.vectors[keep], np.array(labels), r.tracks.track_ids[rows], r.detections.frames[rows]


def photo_faces(folder: Path, cache: Path):
    """dlib descriptors of one face per photo (the largest CenterFace detection, the
    photo padded by half its size so that tight crops still show a whole face);
    labels are the folder names. Cached in ``cache``."""
    import cv2

    from facecluster.detect import make_detector
    from facecluster.embed import FaceAligner, default_workers, embed_chip_batches

    if cache.is_file():
        data = np.load(cache)
        return data["X"], data["y"]
    detector, aligner = make_detector("centerface"), FaceAligner()
    chips, labels = [], []
    for path in sorted(folder.glob("*/*")):
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
    X = np.concatenate(list(embed_chip_batches(batches, workers=default_workers())))
    y = np.array(labels)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, X=X, y=y)
    return X, y


def score(F, y):
    labels = ConstrainedAgglomerative(n_clusters=len(np.unique(y)), linkage="ward").fit_predict(l2_normalize(F))
    return all_scores(y, labels)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("FACECLUSTER_DATA", "../shared/data"))
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    ap.add_argument("--work", default="/tmp/facecluster-bench-learn")
    args = ap.parse_args()
    data = Path(args.data)
    sets = {}
    jp = np.load(data / "embeddings" / "jurassic_park_dlib128.npz")
    sets["jurassic_park_dlib128"] = (jp["encodings"], jp["names"], None, None)
    fc = np.load(data / "embeddings" / "five_celebrity_facenet128.npz")
    sets["five_celebrity_facenet128"] = (np.concatenate([fc["arr_0"], fc["arr_2"]]), np.concatenate([fc["arr_1"], fc["arr_3"]]), None, None)
    X, y = photo_faces(data / "faces" / "celebs11", Path(args.work) / "celebs11_dlib.npz")
    sets["celebs11 (photos, dlib)"] = (X, y, None, None)
    for clip in ("short_hamilton_clip", "sweden"):
        sets[clip] = clip_faces(data, clip, Path(args.work))
    lines = ["| dataset | faces | K | features | WCP | NMI | B-cubed F | fit s |", "|---|---|---|---|---|---|---|---|"]
    for name, (X, y, tids, frames) in sets.items():
        s = score(X, y)
        lines.append(f"| {name} | {len(y)} | {len(np.unique(y))} | base | {s['wcp']:.3f} | {s['nmi']:.3f} | {s['bcubed_f']:.3f} | – |")
        print(lines[-1], flush=True)
        methods = ["ssiam"] + (["tsiam", "both"] if tids is not None else [])
        for method in methods:
            for variant in ("paper", "tuned"):
                runs, secs = [], []
                for seed in args.seeds:
                    learner = make_learner(method, variant, seed)
                    t0 = time.perf_counter()
                    learner.fit(X) if method == "ssiam" else learner.fit(X, tids, frames)
                    secs.append(time.perf_counter() - t0)
                    runs.append(score(learner.transform(X), y))
                cell = lambda k: f"{np.mean([r[k] for r in runs]):.3f} ± {np.std([r[k] for r in runs]):.3f}"  # noqa: E731
                lines.append(f"| {name} | {len(y)} | {len(np.unique(y))} | {method} {variant} | {cell('wcp')} | {cell('nmi')} | {cell('bcubed_f')} | {np.mean(secs):.1f} |")
                print(lines[-1], flush=True)
    out = Path(__file__).parent / "results" / "learn.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(f"# Base vs learned features, Ward with known K, seeds {args.seeds}\n\n" + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
