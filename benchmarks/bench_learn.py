"""Every learner and variant on every labelled set, K given and K estimated, over 3 seeds.

Sets (``learn_sets``): both clips and the two joined into one video, clustered by the
pipeline's own clustering stage with ``--cues face`` and the default cues; the two
embedding sets and the two photo sets (one dlib face a photo). Learners: none, SSiam,
TSiam, both (TSiam with half its pairs mined as SSiam does) and CCL, each with the
``tuned`` (default) and ``paper`` variants; the track learners only where there are
tracks. K given: the true number of people (face sets: Ward, the paper's protocol);
K estimated: the self-calibrated stop (for CCL, whose output keeps the base scale,
calibrated on the base vectors, as the pipeline does). Scores: WCP and B-cubed F, mean ± std over the seeds,
people found, and the training time. Writes benchmarks/results/learn.md and .json.

    .venv/bin/python benchmarks/bench_learn.py [--data DIR] [--seeds 0 1 2] [--learners ccl ...]
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
from learn_sets import load_clips, load_face_sets, score_faces
from provenance import write_json, write_markdown

from facecluster.cluster.embeddings import make_embedding_clusterer
from facecluster.distances import l2_normalize
from facecluster.learn.variants import BASE_SCALE_METHODS, TRACK_METHODS, make_learner
from facecluster.research.metrics import all_scores

LEARNERS = ["none", "ssiam", "tsiam", "both", "ccl"]
# CCL made to train on a face set without tracks (its default leaves such vectors as they are).
WITHOUT_TRACKS = "tuned, trained without tracks"


def base_stop(X: np.ndarray) -> float:
    """The stop distance the library calibrates on a face set's base vectors."""
    model = make_embedding_clusterer(len(X))
    model.fit(l2_normalize(np.asarray(X, np.float32)))
    return float(model.distance_threshold_)


def adapted(learner: str, variant: str, seed: int, X: np.ndarray, tids, frames, secs: list[float]) -> tuple[np.ndarray, float]:
    """The features ``learner`` makes of X (X itself for ``none``) and their distance scale against X (CCL's
    ``distance_scale_``, 1.0 for the others); the training time is appended to ``secs``.
    Track learners get the faces' tracks and frames where there are any."""
    if learner == "none":
        return X, 1.0
    if variant == WITHOUT_TRACKS:
        model = make_learner(learner, "tuned", seed).set_params(train_without_tracks=True)
    else:
        model = make_learner(learner, variant, seed)
    t0 = time.perf_counter()
    model.fit(X, tids, frames) if learner in TRACK_METHODS and tids is not None else model.fit(X)
    secs.append(time.perf_counter() - t0)
    return model.transform(X), float(getattr(model, "distance_scale_", 1.0))


def clip_rows(clip, learner: str, variant: str, seeds: list[int]) -> list[dict]:
    X, tids, frames = clip.learner_inputs()
    runs: dict[tuple, list] = {}
    secs = []
    for seed in seeds if learner != "none" else [0]:
        F, scale = adapted(learner, variant, seed, X, tids, frames, secs)
        for cues in ("face", "auto"):
            for known in (True, False):
                s = clip.score(F, cues=cues, known_k=known, calibrate_on=X if learner in BASE_SCALE_METHODS else None, scale=scale)
                runs.setdefault((cues, known), []).append(s)
    return [{"set": clip.name, "faces": len(X), "k_true": clip.k, "cues": cues, "k": "given" if known else "estimated",
             "learner": learner, "variant": variant if learner != "none" else "–", "runs": runs[(cues, known)],
             "fit_s": float(np.mean(secs)) if secs else None} for (cues, known) in runs]


def face_rows(name: str, X: np.ndarray, y: np.ndarray, learner: str, variant: str, seeds: list[int]) -> list[dict]:
    stop = base_stop(X)
    runs: dict[bool, list] = {}
    secs = []
    for seed in seeds if learner != "none" else [0]:
        F, scale = adapted(learner, variant, seed, X, None, None, secs)
        runs.setdefault(True, []).append(score_faces(F, y, known_k=True))
        if learner not in BASE_SCALE_METHODS:
            runs.setdefault(False, []).append(score_faces(F, y, known_k=False))
        else:
            from facecluster import cluster_embeddings

            labels = cluster_embeddings(F, distance_threshold=stop * scale, random_state=seed)
            runs.setdefault(False, []).append({**all_scores(y, labels), "people": len(np.unique(labels))})
    return [{"set": name, "faces": len(X), "k_true": len(np.unique(y)), "cues": "–", "k": "given" if known else "estimated",
             "learner": learner, "variant": variant if learner != "none" else "–", "runs": runs[known],
             "fit_s": float(np.mean(secs)) if secs else None} for known in (True, False)]


def fmt(values: list[float]) -> str:
    a = np.asarray(values)
    return f"{a.mean():.3f}" if len(a) == 1 else f"{a.mean():.3f} ± {a.std():.3f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("FACECLUSTER_DATA", "../shared/data"))
    ap.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    ap.add_argument("--learners", nargs="*", default=LEARNERS)
    ap.add_argument("--work", default="/tmp/facecluster-bench-learn")
    args = ap.parse_args()
    data, work = Path(args.data), Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    lines = ["| set | faces | K | cues | learner | variant | WCP | B-cubed F | people (true) | fit s |",
             "|---|---|---|---|---|---|---|---|---|---|"]

    def add(new: list[dict]) -> None:
        for r in new:
            rows.append(r)
            people = sorted({s["people"] for s in r["runs"]})
            fit = "–" if r["fit_s"] is None else f"{r['fit_s']:.1f}"
            lines.append(f"| {r['set']} | {r['faces']} | {r['k']} | {r['cues']} | {r['learner']} | {r['variant']} | "
                         f"{fmt([s['wcp'] for s in r['runs']])} | {fmt([s['bcubed_f'] for s in r['runs']])} | "
                         f"{'/'.join(map(str, people))} ({r['k_true']}) | {fit} |")
            print(lines[-1], flush=True)

    for clip in load_clips(data, work):
        for learner in args.learners:
            for variant in (("tuned", "paper") if learner != "none" else ("–",)):
                add(clip_rows(clip, learner, variant, args.seeds))
    for name, (X, y) in load_face_sets(data, work).items():
        for learner in args.learners:
            if learner in TRACK_METHODS and learner != "ccl":
                continue  # no tracks in a face set
            variants = {"none": ("–",), "ccl": ("tuned", WITHOUT_TRACKS, "paper")}.get(learner, ("tuned", "paper"))
            for variant in variants:
                add(face_rows(name, X, y, learner, variant, args.seeds))
    intro = ("Clips: the pipeline's clustering stage on the adapted features of its embedded faces (`--cues face` and the "
             "default cues); scored on the faces matched to the ground truth, as `facecluster eval` does. Face sets: Ward with K "
             "given, `cluster_embeddings` with K estimated. For CCL the stop distance is calibrated on the base vectors, "
             f"times CCL's `distance_scale_` (as the pipeline does); SSiam/TSiam calibrate it in their own space. Seeds {args.seeds}; mean ± std; fit s: one training on 2 cores.")
    out = Path(__file__).parent / "results"
    write_markdown(out / "learn.md", "\n".join(["# Learners on every labelled set", "", intro, "", *lines]), "bench_learn.py")
    write_json(out / "learn.json", json.loads(json.dumps(rows, default=float)), "bench_learn.py")


if __name__ == "__main__":
    main()
