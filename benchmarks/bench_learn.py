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
import os
import time
from pathlib import Path

import numpy as np
from datasets import clip_faces, embedding_sets, photo_faces
from provenance import write_markdown

from facecluster.cluster.agglomerative import ConstrainedAgglomerative
from facecluster.distances import l2_normalize
from facecluster.learn.variants import make_learner
from facecluster.research.metrics import all_scores


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
    sets = {name: (X, y, None, None) for name, (X, y) in embedding_sets(data).items()}
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
    write_markdown(out, f"# Base vs learned features, Ward with known K, seeds {args.seeds}\n\n" + "\n".join(lines), "bench_learn.py")


if __name__ == "__main__":
    main()
