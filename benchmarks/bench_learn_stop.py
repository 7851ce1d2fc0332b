"""Where a Siamese learner's stop distance comes from, and what that does to its clusters.

SSiam and TSiam cluster their learned track features with the stop rule run in the learned space: the 10th
percentile of the distances of the track pairs on screen together, or, where there are fewer than
``MIN_CANNOT_PAIRS`` of them, the network's fixed fallback distance, which is in SFace's units, not the learned
space's. This scores, faces alone, K unknown, for each labelled clip of a ``dev_suite.py`` run (``--work``; the
learners' trainings cached there are reused):

- ``none``: the base vectors with the stop rule (the default);
- ``learned rule``: the learner as it runs today (the stop rule in the learned space);
- ``base quantile``: the learner's features, stopped where the base vectors' stop leaves the same share of track
  pairs merged: the stop rule decides on the base vectors (whose pairs on screen together were not trained apart)
  how many pairs are one person, and the learner only decides which.

with the number of track pairs on screen together (the stop rule's evidence). Mean over ``--seeds``. Writes
``results/learn_stop.md`` and ``.json``.

    .venv/bin/python benchmarks/bench_learn_stop.py --work /tmp/ds/default [--learners ssiam,tsiam] [--seeds 0,1,2]
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from provenance import write_json, write_markdown
from suite import load_suite, scored_faces

from facecluster.cluster.registry import fallback, make_clusterer
from facecluster.cluster.stop_rule import MIN_CANNOT_PAIRS, stop_distance
from facecluster.cluster.tracks import not_a_face_tracks, track_scores
from facecluster.config import PipelineConfig
from facecluster.distances import pairwise
from facecluster.pipeline.video import NOT_A_FACE_MARGIN, run_video
from facecluster.research.metrics import all_scores
from facecluster.video.tracking import overlapping_pairs, track_spans

RESULTS = Path(__file__).resolve().parent / "results"
MODES = ("learned rule", "base quantile")


def cluster(base, learned: np.ndarray | None, mode: str, network: str, threshold: float) -> tuple[np.ndarray, int]:
    """Person of each track (T,) (-1: not a face) for the base run's tracks, with the base track features
    (``learned`` None, ``mode`` "none") or the learned ones (T, D) stopped as ``mode`` says (one of ``MODES``); and the
    number of cannot-link pairs among the kept tracks. ``threshold``: the detector's score threshold (for the
    not-a-face filter)."""
    tracks, det = base.tracks, base.detections
    base_features = base.track_features
    first, last = track_spans(tracks, det)
    cannot = overlapping_pairs(first, last)
    keep = np.flatnonzero(~not_a_face_tracks(track_scores(tracks, det.scores), base_features, cannot,
                                             low_score=threshold + NOT_A_FACE_MARGIN))
    index = np.full(tracks.num_tracks, -1)
    index[keep] = np.arange(len(keep))
    sub = index[cannot]
    sub = sub[(sub >= 0).all(axis=1)] if len(cannot) else cannot
    labels = np.full(tracks.num_tracks, -1)
    if not len(keep):
        return labels, len(sub)
    base_d = pairwise(base_features[keep])
    stop = stop_distance(base_d, sub, fallback("tracks", network))
    features = base_features if learned is None else learned
    if mode == "learned rule":
        stop = stop_distance(pairwise(learned[keep]), sub, fallback("tracks", network))
    elif mode == "base quantile":
        upper = np.triu_indices(len(keep), 1)
        share = float((base_d[upper] <= stop).mean()) if len(upper[0]) else 0.0
        stop = float(np.quantile(pairwise(learned[keep])[upper], share)) if len(upper[0]) else 0.0
    labels[keep] = make_clusterer("average", threshold=stop, network=network).fit_predict(features[keep], cannot_link=sub)
    return labels, len(sub)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--learners", default="ssiam,tsiam")
    ap.add_argument("--seeds", default="0,1,2")
    args = ap.parse_args()
    learners = args.learners.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    workers = os.cpu_count() or 1
    network, threshold = PipelineConfig().network, PipelineConfig().score_threshold
    rows = []
    for v in load_suite().videos:
        if v.gt is None:
            continue
        base = run_video(v.video, args.work / v.name, PipelineConfig(workers=workers, cues="face"))
        which, truth = scored_faces(base, v.gt)

        def score(labels: np.ndarray) -> tuple[float, int]:
            person = labels[base.tracks.track_ids[which]]
            return all_scores(truth, person)["bcubed_f"], len(set(labels[labels >= 0].tolist()))

        labels, n_cannot = cluster(base, None, "none", network, threshold)
        row = {"set": v.name, "cannot_pairs": n_cannot, "none": score(labels)}
        for learner in learners:
            runs = {mode: [] for mode in MODES}
            for seed in seeds:
                learned = run_video(v.video, args.work / v.name, PipelineConfig(workers=workers, learn=learner, cues="face", seed=seed))
                for mode in MODES:
                    runs[mode].append(score(cluster(base, learned.track_features, mode, network, threshold)[0]))
            for mode in MODES:
                row[f"{learner} / {mode}"] = (float(np.mean([r[0] for r in runs[mode]])), float(np.mean([r[1] for r in runs[mode]])))
        print(row, flush=True)
        rows.append(row)

    columns = [f"{learner} / {mode}" for learner in learners for mode in MODES]
    lines = ["# A Siamese learner's stop distance: in the learned space, or carried over from the base vectors", "",
             __doc__.split("\n\n")[1].replace("\n", " "), "",
             f"Faces alone, K unknown, mean over seeds {seeds}. ▲/▼: more than 0.005 above/under `none`. Cannot pairs: "
             f"track pairs on screen together (under {MIN_CANNOT_PAIRS}, the stop rule falls back to a fixed distance).", "",
             "| clip | cannot pairs | none | " + " | ".join(columns) + " |", "|---|---|---|" + "---|" * len(columns)]
    for row in rows:
        base_f = row["none"][0]
        cells = []
        for c in columns:
            f, people = row[c]
            mark = " ▲" if f > base_f + 0.005 else " ▼" if f < base_f - 0.005 else ""
            cells.append(f"{f:.3f}{mark} ({people:.1f})")
        lines.append(f"| {row['set']} | {row['cannot_pairs']} | {base_f:.3f} ({row['none'][1]}) | " + " | ".join(cells) + " |")
    for name, part in (("all clips", rows), ("clips where `none` < 0.97", [r for r in rows if r["none"][0] < 0.97]),
                       (f"clips with fewer than {MIN_CANNOT_PAIRS} cannot pairs", [r for r in rows if r["cannot_pairs"] < MIN_CANNOT_PAIRS])):
        if not part:
            continue
        means = [np.mean([r[c][0] for r in part]) for c in columns]
        lost = [sum(r[c][0] < r["none"][0] - 0.005 for r in part) for c in columns]
        lines.append(f"| **mean, {name}** ({len(part)}) | | **{np.mean([r['none'][0] for r in part]):.3f}** | "
                     + " | ".join(f"**{m:.3f}** (lost {n})" for m, n in zip(means, lost)) + " |")
    write_markdown(RESULTS / "learn_stop.md", "\n".join(lines), "bench_learn_stop.py")
    write_json(RESULTS / "learn_stop.json", rows, "bench_learn_stop.py")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
