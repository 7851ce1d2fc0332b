"""How right CCL's pseudo-labels are, clip by clip: the evidence a learner trains on, against the ground truth.

For every labelled clip of the dev suite, the default run's cached stages (``--work``, a ``dev_suite.py`` run folder)
give the tracks and their base vectors; CCL (the tuned variant) is fitted as ``--learn ccl`` would, and each track
gets its pseudo-cluster. Over pairs of tracks whose ground-truth person is known: precision of the pairs CCL puts in
one pseudo-cluster (the share that are one person), recall (the share of one person's track pairs it joins), and the
e2e B-cubed F of the run with and without CCL (from ``results/dev_suite_loso_ccl.json`` and
``results/dev_suite_sface.json``, when present). Writes ``results/pseudo_labels.md``.

    .venv/bin/python benchmarks/bench_pseudo_labels.py [--work /tmp/facecluster-dev-suite/sface]
"""
from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from pathlib import Path

import numpy as np
from provenance import write_markdown
from suite import load_suite, read_rows

from facecluster.config import PipelineConfig
from facecluster.learn import variants
from facecluster.pipeline.video import run_video
from facecluster.research.evaluate import EXCLUDED_LABELS, match_faces

RESULTS = Path(__file__).resolve().parent / "results"


def track_labels(r, gt: Path) -> np.ndarray:
    """(T,) each track's majority ground-truth label ('' where none is known)."""
    rows = np.flatnonzero(r.tracks.track_ids >= 0)
    pred = [{"frame": int(r.detections.frames[i]), **dict(zip(("x1", "y1", "x2", "y2"), r.detections.boxes[i].tolist())),
             "person": str(k)} for k, i in enumerate(rows)]
    pairs, _ = match_faces(pred, read_rows(gt / "faces.csv"))
    votes: dict[int, Counter] = {}
    for p, t in pairs:
        if t not in EXCLUDED_LABELS:
            votes.setdefault(int(r.tracks.track_ids[rows[int(p)]]), Counter())[t] += 1
    return np.array([votes[t].most_common(1)[0][0] if t in votes else "" for t in range(r.tracks.num_tracks)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/facecluster-dev-suite/sface"))
    args = ap.parse_args()
    ccl_rows = {}
    if (RESULTS / "dev_suite_loso_ccl.json").is_file():
        ccl_rows = {r["set"]: r for r in json.loads((RESULTS / "dev_suite_loso_ccl.json").read_text())["results"]["rows"]}
    none_rows = {}
    if (RESULTS / "dev_suite_sface.json").is_file():
        none_rows = {r["set"]: r for r in json.loads((RESULTS / "dev_suite_sface.json").read_text())["results"]["rows"]}
    lines = ["# CCL's pseudo-labels against the ground truth, on SFace", "",
             "Pairs of tracks whose person the ground truth knows. Precision: of the pairs CCL puts in one pseudo-cluster, "
             "the share that are one person; recall: of one person's track pairs, the share it joins. 'trained': CCL "
             "found enough evidence to train (else it leaves the base space). B³F: the default run (`--learn none`) and "
             "CCL held out (`dev_suite_loso_ccl.md`).", "",
             "| clip | tracks | pseudo-clusters / people | linked pairs | precision | recall | trained | B³F none | B³F CCL |",
             "|---|---|---|---|---|---|---|---|---|"]
    totals = np.zeros(3)
    for v in load_suite().videos:
        if v.gt is None or not (args.work / v.name).is_dir():
            continue
        r = run_video(v.video, args.work / v.name, PipelineConfig(workers=os.cpu_count() or 1))
        labels = track_labels(r, v.gt)
        learner = variants.make_learner("ccl", "tuned", 0)
        emb = r.embeddings
        learner.fit(emb.vectors, r.tracks.track_ids[emb.rows], r.detections.frames[emb.rows])
        tids = r.tracks.track_ids[emb.rows]
        pseudo = np.full(r.tracks.num_tracks, -1)
        for t in np.unique(tids):
            pseudo[t] = Counter(learner.pseudo_labels_[tids == t].tolist()).most_common(1)[0][0]
        known = np.flatnonzero((labels != "") & (pseudo >= 0))
        a, b = np.triu_indices(len(known), 1)
        same_truth = labels[known][a] == labels[known][b]
        same_pseudo = pseudo[known][a] == pseudo[known][b]
        linked, correct = int(same_pseudo.sum()), int((same_pseudo & same_truth).sum())
        totals += [linked, correct, int(same_truth.sum())]
        precision = correct / linked if linked else float("nan")
        recall = correct / same_truth.sum() if same_truth.any() else float("nan")
        none_f = none_rows.get(v.name, {}).get("bcubed_f")
        ccl_f = ccl_rows.get(v.name, {}).get("held_out", [None])[0]
        fmt = lambda x: "–" if x is None or x != x else f"{x:.3f}"  # noqa: E731
        lines.append(f"| {v.name} | {len(known)} | {len(set(pseudo[known].tolist()))} / {len(set(labels[known].tolist()))} | "
                     f"{linked} | {fmt(precision)} | {fmt(recall)} | {'yes' if learner.trained_ else 'no'} | {fmt(none_f)} | {fmt(ccl_f)} |")
        print(lines[-1], flush=True)
    lines += ["", f"All clips: {int(totals[0])} linked pairs, precision {totals[1] / max(totals[0], 1):.3f}, recall "
                  f"{totals[1] / max(totals[2], 1):.3f}.", ""]
    write_markdown(RESULTS / "pseudo_labels.md", "\n".join(lines), "bench_pseudo_labels.py")


if __name__ == "__main__":
    main()
