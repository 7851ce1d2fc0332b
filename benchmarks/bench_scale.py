"""FINCH at scale: 100k and 1M vectors of 128 dimensions, never an n×n matrix.

Vectors are drawn from a mixture whose component means are the real dlib face
embeddings of ../shared/data/embeddings/jurassic_park_dlib128.npz (218 means),
each component with an isotropic spread of 0.03 per dimension (same-person dlib
distances of about 0.4–0.5). Each size runs in a fresh child process so that its
peak memory is its own. Writes benchmarks/results/scale.md.

    .venv/bin/python benchmarks/bench_scale.py [--sizes 100000 1000000]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from provenance import write_markdown


def one(n: int, data: Path) -> dict:
    from facecluster.cluster.finch import FINCH
    from facecluster.research.metrics import all_scores

    means = np.load(data / "embeddings" / "jurassic_park_dlib128.npz")["encodings"].astype(np.float32)
    rng = np.random.default_rng(0)
    comp = rng.integers(0, len(means), size=n)
    X = means[comp] + rng.normal(scale=0.03, size=(n, 128)).astype(np.float32)
    t0 = time.perf_counter()
    model = FINCH(exact_limit=50_000).fit(X)
    secs = time.perf_counter() - t0
    levels = [int(p.max() + 1) for p in model.partitions_]
    best = max(model.partitions_, key=lambda p: all_scores(comp[:200_000], p[:200_000])["nmi"])
    s = all_scores(comp[:200_000], best[:200_000])
    return {
        "n": n,
        "seconds": secs,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "levels": levels,
        "best_level_clusters": int(best.max() + 1),
        "best_level_nmi_first_200k": s["nmi"],
        "components": len(means),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("FACECLUSTER_DATA", "../shared/data"))
    ap.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000])
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, Path(args.data))))
        return
    lines = [f"# FINCH at scale ({platform.machine()}, {os.cpu_count()} cores; approximate neighbours by faiss IVF-Flat)", "",
             "| vectors | wall s | peak RSS GB | clusters per level | best level: clusters (NMI vs the 218 components, first 200k) |",
             "|---|---|---|---|---|"]
    for n in args.sizes:
        proc = subprocess.run([sys.executable, __file__, "--one", str(n), "--data", args.data], capture_output=True, text=True)
        if proc.returncode:
            print(proc.stderr[-2000:])
            raise SystemExit(proc.returncode)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        lines.append(f"| {n:,} | {r['seconds']:.0f} | {r['peak_rss_gb']:.2f} | {r['levels']} | {r['best_level_clusters']} ({r['best_level_nmi_first_200k']:.3f}) |")
        print(lines[-1], flush=True)
    out = Path(__file__).parent / "results" / "scale.md"
    out.parent.mkdir(exist_ok=True)
    write_markdown(out, "\n".join(lines), "bench_scale.py")


if __name__ == "__main__":
    main()
