"""Detection on key frames only: what detecting every k-th frame costs in recall and clustering.

For each dev clip and each k, ``facecluster run --detect-every k`` (key frames aligned to the
shots: each shot's first and last frame always detected; tracks carry interpolated boxes
between their detected faces) is scored against the clip's ground truth: detection recall
(true faces matched at IoU ≥ 0.5 by an output face, detected or interpolated), precision,
B-cubed F with the default cues and with ``--cues face`` (K unknown), the detection stage's
time and the whole run's wall time ÷ the video's duration. Writes
benchmarks/results/detect_every.md.

    .venv/bin/python benchmarks/bench_detect_every.py [--every 1 2 3 4 5 6] [--workers 2]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from datasets import CLIPS, data_root
from provenance import write_markdown


def run(data: Path, clip: str, every: int, cues: str, workers: int, work: Path) -> dict:
    from facecluster.app import process_videos
    from facecluster.config import PipelineConfig
    from facecluster.research.evaluate import evaluate_dirs

    video = data / "video" / f"{clip}.mp4"
    out = work / f"{clip}-{every}-{cues}"
    t0 = time.perf_counter()
    (outcome,) = process_videos([video], out, PipelineConfig(workers=workers, detect_every=every, cues=cues), force=True)
    wall = time.perf_counter() - t0
    scores = evaluate_dirs(out / clip, data / "video" / "gt" / clip)
    r = outcome.result
    return {"wall_s": wall, "duration_s": r.info.duration_s, "detect_s": r.timings["detect"], **scores}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--every", type=int, nargs="+", default=[1, 2, 3, 4, 5, 6])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clips", nargs="+", default=list(CLIPS))
    args = parser.parse_args()
    data = data_root()
    lines = ["# Detection on every k-th frame (key frames aligned to shots, tracks interpolated between faces)", "",
             f"2 cores, workers={args.workers}. Recall and precision over the ground-truth faces (IoU ≥ 0.5); "
             "B-cubed F over matched faces, K unknown.", "",
             "| clip | k | detect s | wall ÷ duration | recall | precision | B-cubed F (default cues) | B-cubed F (--cues face) | people |",
             "|---|---|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for clip in args.clips:
            for every in args.every:
                default = run(data, clip, every, "auto", args.workers, Path(tmp))
                face = run(data, clip, every, "face", args.workers, Path(tmp))
                line = (f"| {clip} | {every} | {default['detect_s']:.1f} | {default['wall_s'] / default['duration_s']:.2f} | "
                        f"{default['detection_recall']:.3f} | {default['detection_precision']:.3f} | {default['bcubed_f']:.3f} | "
                        f"{face['bcubed_f']:.3f} | {default['num_people_pred']} |")
                lines.append(line)
                print(line, flush=True)
    write_markdown(Path(__file__).resolve().parent / "results" / "detect_every.md", "\n".join(lines), "bench_detect_every.py")


if __name__ == "__main__":
    main()
