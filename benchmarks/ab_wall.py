"""Wall time of two checkouts of facecluster on the same clips, run alternately in one sitting.

This machine's speed drifts by 10–20 % over minutes, so two ``dev_suite.py`` runs one after the other cannot show a
change of that size. Here each clip is run with checkout A, then at once with checkout B (``facecluster run`` in a
fresh process, a fresh output folder each time, ``PYTHONPATH`` set to the checkout's ``src``), ``--reps`` times over.
Reports each run's wall time and detection-stage time, and B ÷ A per clip (median over the repetitions). Writes
``results/ab_<label>.md`` and ``.json``.

    .venv/bin/python benchmarks/ab_wall.py --a /tmp/wt_before --b /tmp/wt_after --label window_search \
        --clips supernatural_a,supernatural_b [--reps 2] [--options "..."] [--scaled WORK/scaled-1080]
"""
from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from provenance import commit, write_json, write_markdown
from suite import load_suite

RESULTS = Path(__file__).resolve().parent / "results"


def one_run(code: Path, video: Path, options: list[str], out: Path) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "PYTHONPATH": str(code / "src")}
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "facecluster", "run", str(video), "-o", str(out), *options], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    timings = json.loads((out / video.stem / "timings.json").read_text())
    return {"wall_s": wall, "detect_s": timings["detect"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--a", type=Path, required=True, help="checkout A (the baseline)")
    ap.add_argument("--b", type=Path, required=True, help="checkout B")
    ap.add_argument("--label", required=True)
    ap.add_argument("--clips", required=True, help="comma-separated dev-suite clip names")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--options", default="")
    ap.add_argument("--scaled", type=Path, default=None,
                    help="run the clips' scaled copies made by dev_suite.py --scale (its WORK/scaled-HEIGHT folder)")
    args = ap.parse_args()
    suite = load_suite()
    options = shlex.split(args.options)
    runs: dict[str, dict[str, list[dict]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.reps):
            for name in args.clips.split(","):
                video = suite.by_name(name).video
                video = args.scaled / "video" / video.name if args.scaled else video
                for side, code in (("a", args.a), ("b", args.b)):
                    r = one_run(code, video, options, Path(tmp) / side)
                    runs.setdefault(name, {}).setdefault(side, []).append(r)
                    print(rep, name, side, r, flush=True)
    lines = [f"# A/B wall time: {args.label}", "", __doc__.split("\n\n")[1].replace("\n", " "), "",
             f"A: `{args.a}` at {commit(args.a)}; B: `{args.b}` at {commit(args.b)}; options: `{args.options or '(defaults)'}`; "
             f"{args.reps} repetitions" + (f"; the clips scaled by dev_suite.py ({args.scaled.name})" if args.scaled else "") + ".", "",
             "| clip | A wall s | B wall s | B ÷ A wall | A detect s | B detect s | B ÷ A detect |", "|---|---|---|---|---|---|---|"]
    for name, sides in runs.items():
        a_wall, b_wall = ([r["wall_s"] for r in sides[s]] for s in "ab")
        a_det, b_det = ([r["detect_s"] for r in sides[s]] for s in "ab")
        ratio = float(np.median(np.divide(b_wall, a_wall)))
        det_ratio = float(np.median(np.divide(b_det, a_det)))
        fmt = lambda xs: ", ".join(f"{x:.1f}" for x in xs)  # noqa: E731
        lines.append(f"| {name} | {fmt(a_wall)} | {fmt(b_wall)} | **{ratio:.2f}** | {fmt(a_det)} | {fmt(b_det)} | {det_ratio:.2f} |")
    write_markdown(RESULTS / f"ab_{args.label}.md", "\n".join(lines), "ab_wall.py")
    write_json(RESULTS / f"ab_{args.label}.json", {"a": str(args.a), "b": str(args.b), "a_commit": commit(args.a),
                                                   "b_commit": commit(args.b), "runs": runs}, "ab_wall.py")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
