"""Every clustering method on every labelled dataset, with known and estimated K.

Datasets: the precomputed embeddings (face level), celebs11 photos embedded with
dlib (face level), and the two labelled clips at track level (our tracks, with
cannot-links between tracks on screen together; scored over the tracked faces that
match a ground-truth box). Estimated K uses each method's default stopping rule
(see facecluster.cluster_methods.DEFAULTS); density methods mark noise, which is
scored as one singleton cluster per noise item. Writes benchmarks/results/cluster.md.

    .venv/bin/python benchmarks/bench_cluster.py [--data DIR] [--work DIR]
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from datasets import CLIPS, clip_tracks, embedding_sets, photo_faces
from provenance import write_markdown

from facecluster.cluster.registry import CONSTRAINED_METHODS, make_clusterer
from facecluster.distances import l2_normalize
from facecluster.research.metrics import all_scores


def density(X: np.ndarray, method: str) -> np.ndarray:
    """scikit-learn's DBSCAN (eps 0.5, min 3: Immich's defaults) or HDBSCAN (min cluster 2), noise -> singletons."""
    from sklearn.cluster import DBSCAN, HDBSCAN

    Xn = l2_normalize(X)
    if method == "dbscan":
        labels = DBSCAN(eps=0.5, min_samples=3).fit_predict(Xn)
    else:
        labels = HDBSCAN(min_cluster_size=2).fit_predict(Xn)
    noise = labels < 0
    labels = labels.copy()
    labels[noise] = labels.max() + 1 + np.arange(noise.sum())
    return labels


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("FACECLUSTER_DATA", "../shared/data"))
    ap.add_argument("--work", default="/tmp/facecluster-bench")
    args = ap.parse_args()
    data, work = Path(args.data), Path(args.work)
    sets = {name: (X, y, None, None, None) for name, (X, y) in embedding_sets(data).items()}
    X, y = photo_faces(data / "faces" / "celebs11", work / "celebs11_dlib.npz")
    sets["celebs11 (dlib)"] = (X, y, None, None, None)
    for clip in CLIPS:
        F, cannot, face_track, face_label = clip_tracks(data, clip, work)
        sets[f"{clip} (tracks)"] = (F, face_label, cannot, face_track, None)
    lines = ["| dataset | items | method | K | WCP | NMI | B-cubed F | people est. / true | s |", "|---|---|---|---|---|---|---|---|---|"]
    for name, (X, y, cannot, face_track, _) in sets.items():
        true_k = len(np.unique(y))
        expand = (lambda labels: labels[face_track]) if face_track is not None else (lambda labels: labels)
        runs = [(m, mode) for m in CONSTRAINED_METHODS for mode in ("known", "estimated")] + [("hdbscan", "estimated"), ("dbscan", "estimated")]
        for method, mode in runs:
            t0 = time.perf_counter()
            if method in ("hdbscan", "dbscan"):
                labels = density(X, method)
            else:
                model = make_clusterer(method, n_clusters=true_k if mode == "known" else None)
                labels = model.fit_predict(l2_normalize(X), cannot_link=cannot)
            secs = time.perf_counter() - t0
            pred = expand(labels)
            s = all_scores(y, pred)
            lines.append(
                f"| {name} | {len(X)} | {method} | {mode} | {s['wcp']:.3f} | {s['nmi']:.3f} | {s['bcubed_f']:.3f} | "
                f"{len(np.unique(labels))} / {true_k} | {secs:.2f} |"
            )
            print(lines[-1], flush=True)
    out = Path(__file__).parent / "results" / "cluster.md"
    out.parent.mkdir(exist_ok=True)
    write_markdown(out, "# Clustering methods, known and estimated K\n\n" + "\n".join(lines), "bench_cluster.py")


if __name__ == "__main__":
    main()
