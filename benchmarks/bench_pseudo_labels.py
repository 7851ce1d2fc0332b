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
from suite import load_suite, scored_faces

from facecluster.config import PipelineConfig
from facecluster.learn import variants
from facecluster.pipeline.video import run_video

RESULTS = Path(__file__).resolve().parent / "results"


def track_labels(r, gt: Path) -> np.ndarray:
    """(T,) each track's majority ground-truth label ('' where none is known)."""
    which, truth = scored_faces(r, gt)
    votes: dict[int, Counter] = {}
    for row, t in zip(which.tolist(), truth.tolist()):
        votes.setdefault(int(r.tracks.track_ids[row]), Counter())[t] += 1
    return np.array([votes[t].most_common(1)[0][0] if t in votes else "" for t in range(r.tracks.num_tracks)])


def ccl_links(r, labels: np.ndarray) -> dict:
    """CCL (the tuned variant, seed 0) fitted on a run's embedded faces, its pseudo-clusters against the tracks'
    ground-truth labels (T,) ('' unknown): over pairs of tracks whose people are known, the pairs it links, how many
    of them are one person, how many pairs are one person; precision, recall (None without pairs), whether it trained."""
    learner = variants.make_learner("ccl", "tuned", 0)
    emb = r.embeddings
    tids = r.tracks.track_ids[emb.rows]
    learner.fit(emb.vectors, tids, r.detections.frames[emb.rows])
    pseudo = np.full(r.tracks.num_tracks, -1)
    for t in np.unique(tids):
        pseudo[t] = Counter(learner.pseudo_labels_[tids == t].tolist()).most_common(1)[0][0]
    known = np.flatnonzero((labels != "") & (pseudo >= 0))
    a, b = np.triu_indices(len(known), 1)
    same_truth = labels[known][a] == labels[known][b]
    same_pseudo = pseudo[known][a] == pseudo[known][b]
    linked, correct, same = int(same_pseudo.sum()), int((same_pseudo & same_truth).sum()), int(same_truth.sum())
    return {"tracks": len(known), "pseudo_clusters": len(set(pseudo[known].tolist())), "people": len(set(labels[known].tolist())),
            "linked_pairs": linked, "correct_pairs": correct, "same_person_pairs": same,
            "precision": correct / linked if linked else None, "recall": correct / same if same else None,
            "trained": bool(learner.trained_)}


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
        c = ccl_links(r, track_labels(r, v.gt))
        totals += [c["linked_pairs"], c["correct_pairs"], c["same_person_pairs"]]
        none_f = none_rows.get(v.name, {}).get("bcubed_f")
        ccl_f = ccl_rows.get(v.name, {}).get("held_out", [None])[0]
        fmt = lambda x: "–" if x is None or x != x else f"{x:.3f}"  # noqa: E731
        lines.append(f"| {v.name} | {c['tracks']} | {c['pseudo_clusters']} / {c['people']} | {c['linked_pairs']} | "
                     f"{fmt(c['precision'])} | {fmt(c['recall'])} | {'yes' if c['trained'] else 'no'} | {fmt(none_f)} | {fmt(ccl_f)} |")
        print(lines[-1], flush=True)
    lines += ["", f"All clips: {int(totals[0])} linked pairs, precision {totals[1] / max(totals[0], 1):.3f}, recall "
                  f"{totals[1] / max(totals[2], 1):.3f}.", ""]
    write_markdown(RESULTS / "pseudo_labels.md", "\n".join(lines), "bench_pseudo_labels.py")


if __name__ == "__main__":
    main()
