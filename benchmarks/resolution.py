"""The dev clips' cost and people at their own size against the same clips scaled up (``dev_suite.py --scale 1080``).

Reads ``results/dev_suite_<native>.json`` and ``results/dev_suite_<scaled>.json`` (runs of the same options, each
``--fresh``) and writes ``results/resolution.md``: per clip, wall time per second of video at each size (the scaled
copy has the same frames; its container's duration can differ, so both are divided by the native duration), their
ratio, and B-cubed F and detection recall at each size (the scaled ground truth is the native one with its boxes
scaled). The target (issue 33): ratio <= 2 and B-cubed F within 0.01 on every clip.

    .venv/bin/python benchmarks/resolution.py NATIVE_LABEL SCALED_LABEL
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from provenance import write_markdown

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("native")
    ap.add_argument("scaled")
    args = ap.parse_args()
    docs = {label: json.loads((RESULTS / f"dev_suite_{label}.json").read_text())["results"] for label in (args.native, args.scaled)}
    native = {r["set"]: r for r in docs[args.native]["rows"] if r.get("wall_s")}
    scaled = {r["set"]: r for r in docs[args.scaled]["rows"] if r.get("wall_s")}
    lines = ["# Cost and people at each clip's own size and scaled up", "",
             f"Native: `{args.native}` ({docs[args.native]['options'] or 'defaults'}); scaled: `{args.scaled}` "
             f"({docs[args.scaled]['options']}). Wall s per s: the whole fresh-process run ÷ the native duration. Target: "
             "ratio ≤ 2, B³F within 0.01.", "",
             "| clip | wall s/s native | scaled | ratio | B³F native | scaled | Δ | recall native | scaled |",
             "|---|---|---|---|---|---|---|---|---|"]
    ratios, deltas = [], []
    for name in native:
        if name not in scaled:
            continue
        a, b = native[name], scaled[name]
        duration = a["duration_s"]
        wa, wb = a["wall_s"] / duration, b["wall_s"] / duration
        ratios.append((wb / wa, name))
        row = f"| {name} | {wa:.2f} | {wb:.2f} | {wb / wa:.2f} "
        if a.get("bcubed_f") is not None and b.get("bcubed_f") is not None:
            delta = b["bcubed_f"] - a["bcubed_f"]
            deltas.append((delta, name))
            row += (f"| {a['bcubed_f']:.3f} | {b['bcubed_f']:.3f} | {delta:+.3f} | {a['detection_recall']:.3f} "
                    f"| {b['detection_recall']:.3f} |")
        else:
            row += "| – | – | – | – | – |"
        lines.append(row)
    if ratios:
        worst_ratio, worst_b = max(ratios), min(deltas) if deltas else (0.0, "–")
        lines += ["", f"Highest ratio: {worst_ratio[1]} ({worst_ratio[0]:.2f}); clips over 2: "
                      f"{sum(r > 2 for r, _ in ratios)} of {len(ratios)}. Largest B³F loss: {worst_b[1]} ({worst_b[0]:+.3f}); "
                      f"clips losing more than 0.01: {sum(d < -0.01 for d, _ in deltas)} of {len(deltas)}."]
    write_markdown(RESULTS / "resolution.md", "\n".join(lines), "resolution.py")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
