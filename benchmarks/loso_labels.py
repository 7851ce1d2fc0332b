"""Leave-one-set-out choice among dev-suite runs that differ in one option, by B-cubed F.

Reads ``results/dev_suite_<label>.json`` of each label (runs of ``dev_suite.py`` with one option changed, e.g.
``--faces-per-track``; ``--reuse`` runs are fine: no wall times are used). For each clip scored in all of them: the
label with the best mean B-cubed F over the OTHER clips (ties: the earlier label) and the B-cubed F it then gets on
this clip. Writes ``results/<out>``.

    .venv/bin/python benchmarks/loso_labels.py default faces12 faces8 --out faces_per_track.md
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from provenance import write_markdown

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("labels", nargs="+")
    ap.add_argument("--out", required=True, help="file name under results/")
    args = ap.parse_args()
    labels = args.labels
    docs = {lab: json.loads((RESULTS / f"dev_suite_{lab}.json").read_text())["results"] for lab in labels}
    runs = {lab: {r["set"]: r["bcubed_f"] for r in docs[lab]["rows"] if r.get("bcubed_f") is not None
                  and r.get("detection_recall") is not None} for lab in labels}
    sets = sorted(set.intersection(*(set(r) for r in runs.values())))
    lines = ["# Leave-one-set-out among dev-suite runs, by B-cubed F", "",
             "Runs: " + ", ".join(f"`{lab}` ({docs[lab]['options'] or 'defaults'})" for lab in labels) + ". For each clip, "
             "the run with the best mean B³F on the other clips, and its B³F here.", "",
             "| clip | " + " | ".join(labels) + " | held out: chosen → B³F |", "|---|" + "---|" * (len(labels) + 1)]
    held = []
    for s in sets:
        others = [o for o in sets if o != s]
        best = max(labels, key=lambda lab: (round(float(np.mean([runs[lab][o] for o in others])), 6), -labels.index(lab)))
        held.append(runs[best][s])
        lines.append(f"| {s} | " + " | ".join(f"{runs[lab][s]:.3f}" for lab in labels) + f" | `{best}` → **{runs[best][s]:.3f}** |")
    lines += ["", "Mean B³F: " + ", ".join(f"`{lab}` {np.mean([runs[lab][s] for s in sets]):.4f}" for lab in labels)
              + f"; held out {np.mean(held):.4f} over {len(sets)} clips."]
    write_markdown(RESULTS / args.out, "\n".join(lines), "loso_labels.py")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
