"""Training cost of CCL, SSiam and TSiam on 2 CPU cores for 10k, 40k and 100k faces.

Faces are drawn from a mixture whose component means are the real Jurassic Park
dlib embeddings (../shared/data/embeddings), with spread like real tracks;
tracks hold 16 faces of one component, and tracks come in pairs that share
frames (so TSiam has negatives). One epoch is timed for every setting (after a
warm-up batch) and the total is epochs × that; settings marked "full" are also
run to the end. Writes benchmarks/results/learn_cost.md.

    .venv/bin/python benchmarks/bench_learn_cost.py [--sizes 10000 40000 100000] [--full 40000]
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from provenance import write_markdown

from facecluster.learn.variants import TRACK_METHODS, make_learner


def synthetic(n: int, data: Path, seed: int = 0):
    rng = np.random.default_rng(seed)
    means = np.load(data / "embeddings" / "jurassic_park_dlib128.npz")["encodings"].astype(np.float32)
    per_track = 16
    tracks = n // per_track
    comp = rng.integers(0, len(means), size=tracks)
    X = means[np.repeat(comp, per_track)] + rng.normal(scale=0.05, size=(tracks * per_track, 128)).astype(np.float32)
    track_ids = np.repeat(np.arange(tracks), per_track)
    frames = np.repeat((np.arange(tracks) // 2) * 100, per_track) + np.tile(np.arange(per_track), tracks)
    return X.astype(np.float32), track_ids, frames


def time_fit(method: str, variant: str, X, track_ids, frames, epochs: int | None) -> tuple[float, int]:
    learner = make_learner(method, variant, 0)
    total_epochs = learner.epochs
    if epochs is not None:
        learner.set_params(epochs=epochs)
    t0 = time.perf_counter()
    learner.fit(X) if method not in TRACK_METHODS else learner.fit(X, track_ids, frames)
    return time.perf_counter() - t0, total_epochs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("FACECLUSTER_DATA", "../shared/data"))
    ap.add_argument("--sizes", type=int, nargs="*", default=[10000, 40000, 100000])
    ap.add_argument("--full", type=int, nargs="*", default=[40000], help="sizes also trained to the end")
    args = ap.parse_args()
    import torch

    lines = [f"# Training cost, {torch.get_num_threads()} threads, CPU", "",
             "| faces | method | set-up s | s / epoch | epochs | total s (est.) | total s (run) |", "|---|---|---|---|---|---|---|"]
    settings = [("ccl", "tuned"), ("ccl", "paper"), ("ssiam", "paper"), ("ssiam", "tuned"), ("tsiam", "paper"),
                ("tsiam", "tuned"), ("both", "tuned")]
    for n in args.sizes:
        X, tids, frames = synthetic(n, Path(args.data))
        for method, variant in settings:
            one, epochs = time_fit(method, variant, X, tids, frames, 1)
            two, _ = time_fit(method, variant, X, tids, frames, 2)
            per_epoch = max(two - one, 0.0)
            setup = max(one - per_epoch, 0.0)
            full = ""
            if n in args.full and method in ("tsiam", "ccl"):
                full = f"{time_fit(method, variant, X, tids, frames, None)[0]:.1f}"
            lines.append(f"| {n} | {method} {variant} | {setup:.2f} | {per_epoch:.2f} | {epochs} | {setup + per_epoch * epochs:.0f} | {full} |")
            print(lines[-1], flush=True)
    out = Path(__file__).parent / "results" / "learn_cost.md"
    out.parent.mkdir(exist_ok=True)
    write_markdown(out, "\n".join(lines), "bench_learn_cost.py")


if __name__ == "__main__":
    main()
