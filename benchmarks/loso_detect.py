"""Leave-one-set-out choice of the key-frame detection settings from dev-suite runs at several settings.

Reads ``results/dev_suite_<label>.json`` of each label given (runs of ``dev_suite.py`` with ``--detect-every`` /
``--full-frame-every`` options, each ``--fresh``, so that wall times are first runs'). For each clip: the setting
chosen on the OTHER clips (the cheapest, by their summed wall time, whose detection recall is >= TARGET on every
one of them; where none is, the one whose worst recall there is highest) and the recall, B-cubed F and wall ÷
duration it then gets on this clip. Writes ``results/dev_suite_detect_loso.md`` (or ``--out NAME``).

    .venv/bin/python benchmarks/loso_detect.py default k3_m1 k2_m2 k1_m1 [--out dev_suite_detect_loso.md]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from provenance import write_markdown

RESULTS = Path(__file__).resolve().parent / "results"
TARGET = 0.98


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("labels", nargs="+")
    ap.add_argument("--out", default="dev_suite_detect_loso.md", help="file name under results/")
    args = ap.parse_args()
    runs, options = {}, {}
    for label in args.labels:
        doc = json.loads((RESULTS / f"dev_suite_{label}.json").read_text())["results"]
        runs[label] = {r["set"]: r for r in doc["rows"] if r.get("detection_recall") is not None and r.get("wall_s")}
        options[label] = doc["options"] or "(defaults)"
    clips = sorted(set.intersection(*(set(r) for r in runs.values())))

    def pick(among: list[str]) -> str:
        ok = [lab for lab in args.labels if all(runs[lab][c]["detection_recall"] >= TARGET for c in among)]
        if ok:
            return min(ok, key=lambda lab: sum(runs[lab][c]["wall_s"] for c in among))
        return max(args.labels, key=lambda lab: min(runs[lab][c]["detection_recall"] for c in among))

    lines = ["# Leave-one-set-out: key-frame detection settings", "",
             f"Settings: {', '.join(f'`{lab}` = `{options[lab]}`' for lab in args.labels)}. For each clip, the setting chosen "
             f"on the other clips (the cheapest whose detection recall is >= {TARGET} on all of them, else the one with the "
             "highest worst recall), and what it gets on this clip. Wall times: fresh processes, 2 cores, this machine "
             "(noisy: compare within one run).", "",
             "| clip | " + " | ".join(f"`{lab}` recall, wall ÷ duration" for lab in args.labels) + " | held out: chosen → recall, B³F, wall ÷ duration |",
             "|---|" + "---|" * len(args.labels) + "---|"]
    held = []
    for c in clips:
        lab = pick([m for m in clips if m != c])
        r = runs[lab][c]
        held.append(r["detection_recall"])
        cells = " | ".join(f"{runs[x][c]['detection_recall']:.3f}, {runs[x][c]['wall_per_duration']:.2f}" for x in args.labels)
        lines.append(f"| {c} | {cells} | `{lab}` → **{r['detection_recall']:.3f}**, {r['bcubed_f']:.3f}, {r['wall_per_duration']:.2f} |")
    chosen = pick(clips)
    lines += ["", f"Chosen on all clips: `{chosen}` ({options[chosen]}). Held out: {sum(h >= TARGET for h in held)} of "
                  f"{len(held)} clips at recall >= {TARGET}; lowest {min(held):.3f}."]
    write_markdown(RESULTS / args.out, "\n".join(lines), "loso_detect.py")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
