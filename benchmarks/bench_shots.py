"""The shot detector's constants chosen leave-one-set-out on every dev-suite clip with ground-truth shots.

Each clip's frame signatures are computed once (cached in WORK); every combination of GRID (the hard-cut constants
and the gradual-transition ones, ``gradual_max_len`` 0 being "no gradual transitions") is scored by cut F1 against
the ground truth: a cut within ±2 frames of a labelled cut, or anywhere in the frames of a labelled gradual
transition (``shots.csv``'s transition columns), matches it. The strict F1 (±2 frames of the labelled frame only) is
reported beside it. The objective is the F1 of all clips' cuts together (every missed or extra cut counts the same
wherever it is; a clip's own F1 would let one clip of a few cuts, or of none, outweigh a film). For each clip: the
combination chosen on the other clips and its F1 there (held out), the current constants' F1, and the cuts missed /
found in excess. Then the current constants on darkened copies of the clips (each thumbnail dimmed: ``DARKENED``,
gain after gamma), as the frames of a dark film scene would be; the ground truth is the same. Writes
``results/shots.md``.

    .venv/bin/python benchmarks/bench_shots.py [--work DIR]
"""
from __future__ import annotations

import argparse
import itertools
import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
from provenance import write_markdown
from suite import gt_shot_starts, gt_transitions, load_suite

from facecluster.research.evaluate import CUT_TOLERANCE
from facecluster.video.decode import iter_frames
from facecluster.video.shots import THUMB_SIZE, ShotDetectorParams, boundary_f1, change_scores, detect_cuts, frame_signature

RESULTS = Path(__file__).resolve().parent / "results"
HARD = {"structure_weight": [0.25, 0.5, 0.75], "threshold": [0.06, 0.08, 0.1, 0.12], "peak_ratio": [2.0, 2.5, 2.75, 3.0, 4.0]}
GRADUAL = [{"gradual_max_len": 0}] + [{"gradual_max_len": m, "gradual_lookahead": k, "gradual_min_change": c, "gradual_flank_ratio": r}
                                      for m in (24, 32) for k in (8, 12, 24) for c in (0.3, 0.4, 0.5) for r in (1.25, 1.5, 2.0)]


# Darkened copies: (name, gain, gamma): 255 * (x / 255) ** gamma * gain.
DARKENED = [("dark (gain 0.35)", 0.35, 1.0), ("very dark, flat (gain 0.2 after gamma 1.8)", 0.2, 1.8)]


def thumbnails(video: Path, cache: Path) -> np.ndarray:
    """(F, 36, 64, 3) uint8: every frame as the shot detector sees it (cached)."""
    if cache.is_file():
        return np.load(cache)["t"]
    thumbs = np.stack([f.rgb for f in iter_frames(video, thumbnail=THUMB_SIZE)])
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, t=thumbs)
    return thumbs


def signatures(thumbs: np.ndarray, gain: float = 1.0, gamma: float = 1.0) -> np.ndarray:
    """(F, 256 + 2304) signatures of thumbnails dimmed to ``255 * (x / 255) ** gamma * gain``."""
    if (gain, gamma) != (1.0, 1.0):
        thumbs = np.clip(np.round(255.0 * (thumbs / 255.0) ** gamma * gain), 0, 255).astype(np.uint8)
    return np.stack([frame_signature(t) for t in thumbs])


def pooled_f1(results: list[dict]) -> float:
    """F1 of the cuts of several clips pooled: from their counts of true, predicted and missed cuts."""
    true = sum(r["num_true"] for r in results)
    pred = sum(r["num_pred"] for r in results)
    hit = true - sum(len(r["missed"]) for r in results)
    return 2 * hit / (true + pred) if true + pred else 1.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/facecluster-bench-shots"))
    args = ap.parse_args()
    clips = [v for v in load_suite().videos if v.gt is not None and (v.gt / "shots.csv").is_file()]
    thumbs = {v.name: thumbnails(v.video, args.work / f"{v.name}_thumbs.npz") for v in clips}
    sigs = {name: signatures(t) for name, t in thumbs.items()}
    truth = {v.name: (gt_shot_starts(v.gt), gt_transitions(v.gt)) for v in clips}
    configs = [{**dict(zip(HARD, vals)), **g} for vals in itertools.product(*HARD.values()) for g in GRADUAL]
    defaults = asdict(ShotDetectorParams())
    current = {k: defaults[k] for k in configs[1]}
    configs.append(current)
    cur = len(configs) - 1
    scores: dict[str, list[dict]] = {}
    strict: dict[str, dict] = {}
    for name, sig in sigs.items():
        per_weight = {w: change_scores(sig, structure_weight=w) for w in {c["structure_weight"] for c in configs}}
        cuts = [detect_cuts(per_weight[c["structure_weight"]], replace(ShotDetectorParams(), **c), sig) for c in configs]
        scores[name] = [boundary_f1(found, truth[name][0], CUT_TOLERANCE, truth[name][1]) for found in cuts]
        strict[name] = boundary_f1(cuts[cur], truth[name][0], CUT_TOLERANCE)
        print(name, "done", flush=True)
    names = list(scores)

    def pick(among: list[str]) -> int:
        return max(range(len(configs)), key=lambda i: (pooled_f1([scores[n][i] for n in among]), i == cur))

    def show(c: dict) -> str:
        return json.dumps(c if c.get("gradual_max_len", 1) else {k: v for k, v in c.items() if not k.startswith("gradual_")}
                          | {"gradual": "off"})

    chosen = pick(names)
    hard_only = [i for i, c in enumerate(configs) if c["gradual_max_len"] == 0]
    best_hard = max(hard_only, key=lambda i: pooled_f1([scores[n][i] for n in names]))
    lines = ["# Shot detection: constants chosen leave-one-set-out", "",
             f"Grid: hard cuts `{json.dumps(HARD)}` × gradual transitions `{json.dumps(GRADUAL)}`; objective: the F1 of "
             "all the clips' cuts pooled (a cut within ±2 frames of a labelled cut, or anywhere in a labelled gradual "
             "transition, matches it). "
             f"Current constants: `{show(current)}`: pooled F1 {pooled_f1([scores[n][cur] for n in names]):.3f} "
             f"(strict, ±2 frames of the labelled frame only: {pooled_f1(list(strict.values())):.3f}). "
             f"Chosen on all clips: `{show(configs[chosen])}`: pooled F1 {pooled_f1([scores[n][chosen] for n in names]):.3f} "
             f"(in-sample). Best without gradual transitions: `{show(configs[best_hard])}`: "
             f"{pooled_f1([scores[n][best_hard] for n in names]):.3f} (in-sample).", "",
             "| clip | true cuts (gradual) | current: F1, strict F1 (missed, extra) | held out: chosen on the others → F1 (missed, extra) |",
             "|---|---|---|---|"]
    held_all = []
    for n in names:
        held = pick([m for m in names if m != n])
        held_all.append(scores[n][held])
        c, h = scores[n][cur], scores[n][held]
        lines.append(f"| {n} | {c['num_true']} ({len(truth[n][1])}) | {c['f1']:.3f}, {strict[n]['f1']:.3f} ({c['missed']}, "
                     f"{c['extra']}) | `{show(configs[held]) if held != cur else 'current'}` → **{h['f1']:.3f}** "
                     f"({h['missed']}, {h['extra']}) |")
    lines += ["", f"Held out, pooled over the clips: F1 {pooled_f1(held_all):.3f} (current constants "
                  f"{pooled_f1([scores[n][cur] for n in names]):.3f}); clips at F1 >= 0.95 held out: "
                  f"{sum(r['f1'] >= 0.95 for r in held_all)} of {len(names)}."]
    lines += ["", "## Dark footage: the current constants on darkened copies of the clips", "",
              "| clip | as it is | " + " | ".join(name for name, *_ in DARKENED) + " |", "|---|---|" + "---|" * len(DARKENED)]
    dark = {name: [] for name, *_ in DARKENED}
    for n in names:
        row = [f"{scores[n][cur]['f1']:.3f}"]
        for name, gain, gamma in DARKENED:
            sig = signatures(thumbs[n], gain, gamma)
            r = boundary_f1(detect_cuts(change_scores(sig), replace(ShotDetectorParams(), **current), sig), truth[n][0],
                            CUT_TOLERANCE, truth[n][1])
            dark[name].append(r)
            row.append(f"{r['f1']:.3f} ({r['missed']}, {r['extra']})")
        lines.append(f"| {n} | " + " | ".join(row) + " |")
    lines.append("| **pooled** (clips >= 0.95) | " + " | ".join(
        [f"{pooled_f1([scores[n][cur] for n in names]):.3f} ({sum(scores[n][cur]['f1'] >= 0.95 for n in names)})"]
        + [f"{pooled_f1(rs):.3f} ({sum(r['f1'] >= 0.95 for r in rs)})" for rs in dark.values()]) + " |")
    write_markdown(RESULTS / "shots.md", "\n".join(lines), "bench_shots.py")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
