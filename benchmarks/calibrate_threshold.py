"""Sweep the average-linkage stop distance on labelled data in ../shared/data.

Datasets: the two labelled clips (track-level clustering of our own pipeline's
tracks, cannot-links on, scored over faces matched to the ground truth) and the
Jurassic Park dlib embeddings (face level, L2-normalised). Writes a table to
benchmarks/results/calibrate_threshold.md.

    .venv/bin/python benchmarks/calibrate_threshold.py [--data DIR] [--out OUT]
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from provenance import write_markdown

from facecluster.cluster.agglomerative import ConstrainedAgglomerative
from facecluster.config import PipelineConfig
from facecluster.distances import l2_normalize
from facecluster.outputs.video import write_video_outputs
from facecluster.pipeline.video import run_video
from facecluster.research.evaluate import evaluate_dirs
from facecluster.research.metrics import all_scores

THRESHOLDS = [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8]
CLIPS = ["short_hamilton_clip", "sweden"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("FACECLUSTER_DATA", "../shared/data"))
    ap.add_argument("--out", default="/tmp/facecluster-calibrate")
    ap.add_argument("--learn", default="none", help="none | ssiam | tsiam | both (clips only)")
    ap.add_argument("--variant", default="tuned")
    args = ap.parse_args()
    data = Path(args.data)
    lines = ["| dataset | threshold | WCP | NMI | B-cubed F | people est. | people true |", "|---|---|---|---|---|---|---|"]
    for clip in CLIPS:
        for th in THRESHOLDS:
            cfg = PipelineConfig(distance_threshold=th, workers=os.cpu_count() or 1, learn=args.learn, learn_variant=args.variant)
            folder = Path(args.out) / clip
            result = run_video(data / "video" / f"{clip}.mp4", folder, cfg)
            write_video_outputs(result, folder, chips=False)
            s = evaluate_dirs(folder, data / "video" / "gt" / clip)
            lines.append(f"| {clip} | {th} | {s['wcp']:.3f} | {s['nmi']:.3f} | {s['bcubed_f']:.3f} | {s['num_people_pred']} | {s['num_people_true']} |")
            print(lines[-1], flush=True)
    jp = np.load(data / "embeddings" / "jurassic_park_dlib128.npz")
    X, y = l2_normalize(jp["encodings"]), jp["names"]
    for th in THRESHOLDS if args.learn == "none" else []:
        labels = ConstrainedAgglomerative(distance_threshold=th, linkage="average").fit_predict(X)
        s = all_scores(y, labels)
        lines.append(f"| jurassic_park_dlib128 | {th} | {s['wcp']:.3f} | {s['nmi']:.3f} | {s['bcubed_f']:.3f} | {s['num_people_pred']} | {s['num_people_true']} |")
        print(lines[-1], flush=True)
    suffix = "" if args.learn == "none" else f"_{args.learn}_{args.variant}"
    out = Path(__file__).parent / "results" / f"calibrate_threshold{suffix}.md"
    out.parent.mkdir(exist_ok=True)
    what = "dlib features" if args.learn == "none" else f"{args.learn} ({args.variant}) features"
    write_markdown(out, f"# Average-linkage stop distance, {what}\n\n" + "\n".join(lines), "calibrate_threshold.py")


if __name__ == "__main__":
    main()
