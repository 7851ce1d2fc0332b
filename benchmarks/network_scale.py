"""How many of one face network's distances make one of another's: the per-clip ratio of the stop distance that the
stop rule calibrated on each dev-suite clip, from two dev-suite runs that differ only in the network.

Only clips where both runs calibrated (neither fell back to a fixed distance: too few tracks or pairs on screen
together) count. The median ratio is ``facecluster.distances.NETWORK_SCALE`` of the first run's network
(dlib's = 1); its spread says how far one factor is from the truth.

    .venv/bin/python benchmarks/network_scale.py sface default   # labels of results/dev_suite_<label>.json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from provenance import write_json, write_markdown

RESULTS = Path(__file__).resolve().parent / "results"


def stops(label: str) -> dict[str, float | None]:
    doc = json.loads((RESULTS / f"dev_suite_{label}.json").read_text())["results"]
    return {r["set"]: r.get("stop_distance") for r in doc["rows"] if "stop_distance" in r}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("label")
    ap.add_argument("base")
    ap.add_argument("--fallbacks", default="0.75,0.3", help="the two runs' fallback stop distances (those clips are left out)")
    args = ap.parse_args()
    fallback_a, fallback_b = (float(x) for x in args.fallbacks.split(","))
    a, b = stops(args.label), stops(args.base)
    rows = []
    for name in a:
        if a[name] is None or b.get(name) is None or abs(a[name] - fallback_a) < 1e-4 or abs(b[name] - fallback_b) < 1e-4:
            continue
        rows.append((name, a[name], b[name], a[name] / b[name]))
    ratios = np.array([r[3] for r in rows])
    summary = {"median": float(np.median(ratios)), "min": float(ratios.min()), "max": float(ratios.max()), "clips": len(rows)}
    write_json(RESULTS / "network_scale.json", {"label": args.label, "base": args.base, "rows": rows, **summary}, "network_scale.py")
    lines = [f"# Distance scale of `{args.label}` against `{args.base}`", "",
             "The stop distance each run calibrated on each clip (L2-normalised track means), where both calibrated.", "",
             f"| clip | {args.label} | {args.base} | ratio |", "|---|---|---|---|"]
    lines += [f"| {n} | {x:.3f} | {y:.3f} | {r:.2f} |" for n, x, y, r in rows]
    lines += ["", f"Median ratio over {len(rows)} clips: **{summary['median']:.2f}** (range {summary['min']:.2f}–{summary['max']:.2f}).", ""]
    write_markdown(RESULTS / "network_scale.md", "\n".join(lines), "network_scale.py")
    print(summary)


if __name__ == "__main__":
    main()
