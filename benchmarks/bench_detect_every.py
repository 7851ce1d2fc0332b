"""Detection on key frames only: what detecting every k-th frame costs in recall and clustering.

For each dev clip and each k, ``facecluster run --detect-every k`` (key frames aligned to the
shots: each shot's first and last frame always detected; tracks carry interpolated boxes
between their detected faces), and for runs given as k:m also ``--full-frame-every m`` (every
m-th key frame searched whole, the others around the faces of those), is scored against the
clip's ground truth: detection recall
(true faces matched at IoU ≥ 0.5 by an output face, detected or interpolated), precision,
B-cubed F with the default cues and with ``--cues face`` (K unknown), the detection stage's
time and the whole run's wall time ÷ the video's duration. Writes
benchmarks/results/detect_every.md.

    .venv/bin/python benchmarks/bench_detect_every.py [--runs 1 3 4 5 3:2 3:3 3:4] [--workers 2]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from datasets import CLIPS, data_root
from provenance import write_markdown


def run(video: Path, gt: Path, every: int, full_every: int, cues: str, workers: int, work: Path) -> dict:
    from facecluster.app import process_videos
    from facecluster.config import PipelineConfig
    from facecluster.research.evaluate import evaluate_dirs

    clip = video.stem
    out = work / f"{clip}-{every}-{full_every}-{cues}"
    t0 = time.perf_counter()
    config = PipelineConfig(workers=workers, detect_every=every, full_frame_every=full_every, cues=cues)
    (outcome,) = process_videos([video], out, config, force=True)
    wall = time.perf_counter() - t0
    scores = evaluate_dirs(out / clip, gt)
    r = outcome.result
    return {"wall_s": wall, "duration_s": r.info.duration_s, "detect_s": r.timings["detect"], **scores}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", default=["1", "3", "4", "5", "3:2", "3:3", "3:4"],
                        help="k (detect every k-th frame) or k:m (and search every m-th key frame whole)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clips", nargs="+", default=[*CLIPS, "hamilton_then_sweden"],
                        help="dev clips, and hamilton_then_sweden: the two joined into one video (made here, not kept)")
    args = parser.parse_args()
    data = data_root()
    lines = ["# Detection on every k-th frame (key frames aligned to shots, tracks interpolated between faces), "
             "and on every m-th key frame whole (the others around the faces of those)", "",
             f"2 cores, workers={args.workers}. Recall and precision over the ground-truth faces (IoU ≥ 0.5); "
             "B-cubed F over matched faces, K unknown. All runs share one process: the first run's detect s also pays for "
             "loading the face network (and, with --embedder torch, PyTorch) in the background.", "",
             "| clip | k | m (key frames searched whole) | detect s | wall ÷ duration | recall | precision | B-cubed F (default cues) | "
             "B-cubed F (--cues face) | people |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for clip in args.clips:
            if clip == "hamilton_then_sweden":
                from bench_clothing import concatenate

                video, gt = concatenate(data, Path(tmp))
            else:
                video, gt = data / "video" / f"{clip}.mp4", data / "video" / "gt" / clip
            for spec in args.runs:
                every, _, full_every = spec.partition(":")
                every, full_every = int(every), int(full_every or 1)
                default = run(video, gt, every, full_every, "auto", args.workers, Path(tmp))
                face = run(video, gt, every, full_every, "face", args.workers, Path(tmp))
                line = (f"| {clip} | {every} | {'every' if full_every == 1 else full_every} | {default['detect_s']:.1f} | {default['wall_s'] / default['duration_s']:.2f} | "
                        f"{default['detection_recall']:.3f} | {default['detection_precision']:.3f} | {default['bcubed_f']:.3f} | "
                        f"{face['bcubed_f']:.3f} | {default['num_people_pred']} |")
                lines.append(line)
                print(line, flush=True)
    write_markdown(Path(__file__).resolve().parent / "results" / "detect_every.md", "\n".join(lines), "bench_detect_every.py")


if __name__ == "__main__":
    main()
