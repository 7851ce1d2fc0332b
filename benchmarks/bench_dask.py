"""Wall time of `facecluster run` over the three shared clips on a local Dask cluster with 1 and 2 workers.

Each configuration runs the CLI in a fresh process with --force (no cache reuse),
alternating the order over --rounds rounds; also the in-process run for reference.
Writes benchmarks/results/dask.md.

    .venv/bin/python benchmarks/bench_dask.py [--data DIR] [--rounds 1]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from provenance import write_markdown

CLIPS = ["short_hamilton_clip.mp4", "sweden.mp4", "facenet_pytorch_crowd.mp4"]
CONFIGS = {"in-process": [], "local:1": ["--scheduler", "local:1"], "local:2": ["--scheduler", "local:2"]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("FACECLUSTER_DATA", "../shared/data"))
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    videos = [str(Path(args.data) / "video" / c) for c in CLIPS]
    times: dict[str, list[float]] = {k: [] for k in CONFIGS}
    for r in range(args.rounds):
        for name in (list(CONFIGS) if r % 2 == 0 else list(CONFIGS)[::-1]):
            with tempfile.TemporaryDirectory() as out:
                t0 = time.perf_counter()
                subprocess.run([sys.executable, "-m", "facecluster", "run", *videos, "-o", out, "--force", *CONFIGS[name]],
                               check=True, capture_output=True)
                times[name].append(time.perf_counter() - t0)
            print(name, f"{times[name][-1]:.1f} s", flush=True)
    best = {k: min(v) for k, v in times.items()}
    lines = ["# Three clips on a local Dask cluster", "",
             f"`facecluster run {' '.join(CLIPS)} -o OUT --force [--scheduler local:N]`, {len(os.sched_getaffinity(0))} cores, "
             f"best of {args.rounds} round(s), wall time including start-up.", "",
             "| run | wall (s) | ÷ local:1 |", "|---|---|---|"]
    lines += [f"| {k} | {v:.1f} | {v / best['local:1']:.2f} |" for k, v in best.items()]
    write_markdown(Path(__file__).parent / "results" / "dask.md", "\n".join(lines), "bench_dask.py")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
