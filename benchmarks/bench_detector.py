"""CenterFace's cost per frame by backend, threading and input size, with recall against the dev clips' ground truth.

Backends: OpenCV's dnn module (one call at a time, OpenCV's own threads) and onnxruntime (one
intra-op thread per call and ``--threads`` frames side by side, as
:meth:`CenterFaceDetector.detect_many` runs them; or all threads inside one call). For each
dev clip and each longest input side: milliseconds a frame (median over the frames timed,
decoding excluded) and detection recall over every ground-truth face (IoU ≥ 0.5, every
frame detected: no key frames, no tracking). On the 1080p clip, which has no ground truth,
recall is over the faces ≥ 24 px that detection at full size finds. Writes
benchmarks/results/detector.md and .json.

    .venv/bin/python benchmarks/bench_detector.py [--sides 1280 640 544 480] [--threads 2]
"""
from __future__ import annotations

import argparse
import csv
import time
from pathlib import Path

import numpy as np
from datasets import data_root
from provenance import write_json, write_markdown

from facecluster.boxes import box_iou
from facecluster.faces.detect.centerface import CenterFaceDetector
from facecluster.video.decode import iter_frames

RESULTS = Path(__file__).resolve().parent / "results"
TIMED_FRAMES = 60


def ground_truth(data: Path, clip: str) -> dict[int, np.ndarray] | None:
    """frame -> true boxes (K, 4), or None for a clip without ground truth."""
    path = data / "video" / "gt" / clip / "faces.csv"
    if not path.exists():
        return None
    boxes: dict[int, list] = {}
    for row in csv.DictReader(open(path)):
        boxes.setdefault(int(row["frame"]), []).append([float(row[k]) for k in ("x1", "y1", "x2", "y2")])
    return {f: np.asarray(b, np.float32) for f, b in boxes.items()}


def recall(truth: list[np.ndarray], found: list[np.ndarray], min_side: float = 0.0) -> tuple[float, int]:
    """Share of true boxes (side ≥ min_side) that a found box overlaps at IoU ≥ 0.5, and their number."""
    hits = total = 0
    for true, boxes in zip(truth, found):
        if len(true):
            true = true[np.minimum(true[:, 2] - true[:, 0], true[:, 3] - true[:, 1]) >= min_side]
        if not len(true):
            continue
        total += len(true)
        if len(boxes):
            hits += int((box_iou(true, boxes).max(axis=1) >= 0.5).sum())
    return hits / max(total, 1), total


def timed(detector: CenterFaceDetector, frames: list[np.ndarray], side_by_side: bool) -> float:
    """Median milliseconds a frame over the first TIMED_FRAMES frames (after one warm-up call)."""
    sample = frames[:TIMED_FRAMES]
    detector.detect(sample[0])
    step = detector.threads if side_by_side else 1
    times = []
    for i in range(0, len(sample) - step + 1, step):
        t0 = time.perf_counter()
        detector.detect_many(sample[i : i + step]) if side_by_side else detector.detect(sample[i])
        times.append((time.perf_counter() - t0) / step)
    return 1000 * float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sides", type=int, nargs="+", default=[1280, 640, 544, 480])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clips", nargs="+", default=["short_hamilton_clip", "sweden", "facenet_pytorch_crowd"])
    args = parser.parse_args()
    data = data_root()
    rows = []
    for clip in args.clips:
        truth_by_frame = ground_truth(data, clip)
        step = 1 if truth_by_frame is not None else 5  # the 1080p clip: every 5th frame is enough for recall
        frames = [(f.index, f.rgb) for f in iter_frames(data / "video" / f"{clip}.mp4") if f.index % step == 0]
        indices, images = [i for i, _ in frames], [rgb for _, rgb in frames]
        height, width = images[0].shape[:2]
        sides = sorted({min(s, max(height, width)) for s in args.sides} | {max(height, width)}, reverse=True)
        reference = None
        for side in sides:
            fast = CenterFaceDetector(max_input_side=side, threads=args.threads)
            found = [b for b, _, _ in fast.detect_many(images)]
            if truth_by_frame is not None:
                truth = [truth_by_frame.get(i, np.zeros((0, 4), np.float32)) for i in indices]
                value, total = recall(truth, found)
                what = "all true faces"
            else:
                reference = reference if reference is not None else found  # full size comes first
                value, total = recall(reference, found, min_side=24)
                what = "faces ≥ 24 px found at full size"
            row = {"clip": clip, "size": f"{width}×{height}", "side": side, "recall": value, "faces": total, "recall_of": what,
                   "opencv_ms": timed(CenterFaceDetector(max_input_side=side, backend="opencv"), images, False),
                   "ort_one_call_ms": timed(_ort_all_threads(side, args.threads), images, False),
                   "ort_side_by_side_ms": timed(fast, images, True)}
            fast.close()
            rows.append(row)
            print(row, flush=True)
    lines = ["# CenterFace: cost per frame and recall by backend and input size", "",
             f"2 cores; milliseconds a frame, median over {TIMED_FRAMES} frames, decoding excluded. OpenCV: cv2.dnn with its "
             f"own threads; onnxruntime one call: {args.threads} intra-op threads in one call; onnxruntime side by side: one "
             f"thread per call, {args.threads} frames at once (the default, `detect_many`). Recall: every frame detected, "
             "IoU ≥ 0.5.", "",
             "| clip | frame | longest input side | OpenCV ms | onnxruntime one call ms | onnxruntime side by side ms | recall | of |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['clip']} | {r['size']} | {r['side']} | {r['opencv_ms']:.1f} | {r['ort_one_call_ms']:.1f} | "
                     f"{r['ort_side_by_side_ms']:.1f} | {r['recall']:.4f} | {r['faces']} {r['recall_of']} |")
    write_markdown(RESULTS / "detector.md", "\n".join(lines), "bench_detector.py")
    write_json(RESULTS / "detector.json", rows, "bench_detector.py")


def _ort_all_threads(side: int, threads: int) -> CenterFaceDetector:
    """onnxruntime with ``threads`` intra-op threads inside each call."""
    import onnxruntime

    from facecluster.faces.detect.centerface import model_path

    detector = CenterFaceDetector(max_input_side=side, threads=1)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    detector._net._session = onnxruntime.InferenceSession(model_path(), options, providers=["CPUExecutionProvider"])
    return detector


if __name__ == "__main__":
    main()
