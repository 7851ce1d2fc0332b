"""SFace beside dlib's network on the dev suite: per set, each network's default run (in-sample), faces alone, and its
leave-one-set-out figure of the stop-rule constants (held out), from results already written by ``dev_suite.py`` and
``loso.py``. Writes ``results/networks.md``; ``compare.py`` puts the same table into ``RESULTS.md``.

    .venv/bin/python benchmarks/network_table.py [--sface sface] [--dlib default]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from provenance import write_markdown

RESULTS = Path(__file__).resolve().parent / "results"
# (label of the default run, of the --cues face run, of the stop-rule LOSO) per network
RUNS = {"sface": ("sface", "sface_cues_face", "dev_suite_loso"), "dlib": ("dlib", "dlib_cues_face", "dev_suite_loso_dlib")}


def _rows(name: str) -> tuple[dict, str]:
    path = RESULTS / f"{name}.json"
    if not path.is_file():
        return {}, ""
    doc = json.loads(path.read_text())
    rows = doc["results"]["rows"]
    return {r["set"]: r for r in rows}, doc.get("commit", "")


def network_lines() -> list[str]:
    """The markdown table and summary comparing the two networks (empty where the runs are missing)."""
    runs = {}
    for net, (default, faces, loso) in RUNS.items():
        runs[net] = {"default": _rows(f"dev_suite_{default}"), "faces": _rows(f"dev_suite_{faces}"), "loso": _rows(loso)}
    if not runs["sface"]["default"][0] or not runs["dlib"]["default"][0]:
        return []

    def cell(row: dict | None, f="bcubed_f") -> str:
        if not row or row.get(f) is None:
            return "–"
        return f"{row[f]:.3f} ({row.get('people_pred', '?')})"

    def held(row: dict | None) -> str:
        return "–" if not row else f"{row['held_out'][0]:.3f} ({row['held_out'][1]})"

    sets = [s for s, r in runs["sface"]["default"][0].items() if r.get("bcubed_f") is not None]
    lines = ["| set | people | dlib held out | **SFace held out** | dlib default | SFace default | dlib faces alone | SFace faces alone |",
             "|---|---|---|---|---|---|---|---|"]
    gains, faces_gains, below = [], [], []
    for s in sets:
        d, f = runs["dlib"]["default"][0].get(s), runs["sface"]["default"][0].get(s)
        dl, sl = runs["dlib"]["loso"][0].get(s), runs["sface"]["loso"][0].get(s)
        df, sf = runs["dlib"]["faces"][0].get(s), runs["sface"]["faces"][0].get(s)
        true = f.get("people_true", "–")
        lines.append(f"| {s} | {true} | {held(dl)} | **{held(sl)}** | {cell(d)} | {cell(f)} | {cell(df)} | {cell(sf)} |")
        if dl and sl:
            gains.append(sl["held_out"][0] - dl["held_out"][0])
            if gains[-1] < 0:
                below.append(f"{s} ({gains[-1]:+.3f})")
        if df and sf and df.get("bcubed_f") is not None and sf.get("bcubed_f") is not None:
            faces_gains.append(sf["bcubed_f"] - df["bcubed_f"])
    commits = {net: runs[net]["default"][1] for net in runs}
    lines += ["", f"Held out (stop-rule constants chosen on the other sets), mean gain of SFace over dlib: "
              f"**{np.mean(gains):+.3f}** over {len(gains)} sets; below dlib on: {', '.join(below) or 'none'}. "
              f"Faces alone (in-sample): {np.mean(faces_gains):+.3f} over {len(faces_gains)} sets. "
              "People in brackets. Default and faces-alone columns are in-sample (every constant chosen on these sets); "
              f"runs: SFace at {commits['sface'][:10]}, dlib at {commits['dlib'][:10]} "
              "(`results/dev_suite_<label>.json`, labels in `benchmarks/network_table.py`)."]
    return lines


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    lines = network_lines()
    write_markdown(RESULTS / "networks.md", "\n".join(["# SFace and dlib's network on the dev suite", "", *lines, ""]),
                   "network_table.py")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
