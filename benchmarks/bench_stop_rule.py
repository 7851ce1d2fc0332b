"""The self-calibrating stop rule (facecluster.cluster.stop_rule) against fixed stop distances,
on every labelled set, with each constant of the rule also chosen leave-one-dataset-out.

Sets: the two clips' tracks (faces alone, our pipeline's tracks and cannot-links,
scored over faces matched to the ground truth), the two photo folders (one face per
photo) and the two embedding sets (dlib Jurassic Park, FaceNet-128 five celebrities).
For each set: B-cubed F and people at the rule's stop distance, at the old fixed
distances (0.4 tracks / 0.45 faces), and at the best distance of a sweep (the
ceiling, in-sample by definition). Leave-one-dataset-out: NN_FACTOR is chosen from a
grid on the other face-level sets (mean B-cubed F) and CANNOT_QUANTILE on the other
clip, then applied to the held-out set. Writes benchmarks/results/stop_rule.md.

    .venv/bin/python benchmarks/bench_stop_rule.py [--data DIR] [--work DIR]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from datasets import clip_tracks, data_root, embedding_sets, photo_faces
from provenance import write_markdown

from facecluster.cluster import stop_rule
from facecluster.cluster.agglomerative import ConstrainedAgglomerative
from facecluster.distances import l2_normalize, pairwise
from facecluster.research.metrics import all_scores

FACTORS = [1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.8]
QUANTILES = [0.0, 0.05, 0.1, 0.2, 0.3, 0.5]
SWEEP = np.round(np.arange(0.1, 1.6, 0.025), 3)


def load(data: Path, work: Path) -> dict:
    sets = {}
    for clip in ("short_hamilton_clip", "sweden"):
        F, cannot, tids, labels = clip_tracks(data, clip, work)
        sets[clip] = {"kind": "tracks", "X": F, "cannot": cannot, "items": tids, "y": labels, "fixed": 0.4}
    for name, folder in (("five_celebrities", data / "faces" / "five_celebrities" / "train"), ("celebs11", data / "faces" / "celebs11")):
        X, y = photo_faces(folder, work / f"{name}.npz")
        sets[name] = {"kind": "faces", "X": l2_normalize(X), "cannot": np.zeros((0, 2), np.int64), "items": None, "y": y, "fixed": 0.45}
    for name, (X, y) in embedding_sets(data).items():
        sets[name] = {"kind": "faces", "X": l2_normalize(X), "cannot": np.zeros((0, 2), np.int64), "items": None, "y": y, "fixed": 0.45}
    return sets


def score(s: dict, threshold: float) -> tuple[float, int]:
    key = round(float(threshold), 6)
    if key not in s.setdefault("memo", {}):
        s["memo"][key] = _score(s, threshold)
    return s["memo"][key]


def _score(s: dict, threshold: float) -> tuple[float, int]:
    labels = ConstrainedAgglomerative(distance_threshold=threshold, linkage="average").fit_predict(s["X"], cannot_link=s["cannot"])
    pred = labels[s["items"]] if s["items"] is not None else labels
    r = all_scores(s["y"], pred)
    return r["bcubed_f"], r["num_people_pred"]


def rule(s: dict, factor: float, quantile: float) -> float:
    saved = stop_rule.NN_FACTOR, stop_rule.CANNOT_QUANTILE
    stop_rule.NN_FACTOR, stop_rule.CANNOT_QUANTILE = factor, quantile
    try:
        return stop_rule.stop_distance(pairwise(s["X"]), s["cannot"])
    finally:
        stop_rule.NN_FACTOR, stop_rule.CANNOT_QUANTILE = saved


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(data_root()))
    ap.add_argument("--work", default="/tmp/facecluster-bench-stop-rule")
    args = ap.parse_args()
    sets = load(Path(args.data), Path(args.work))
    names = list(sets)
    # F at every (factor, quantile), per set, for the leave-one-out choices.
    grid = {(f, q, n): score(sets[n], rule(sets[n], f, q))[0] for f in FACTORS for q in QUANTILES for n in names}
    lines = ["# The self-calibrating stop rule vs fixed stop distances (average linkage, faces alone)", "",
             f"Rule: stop = min({stop_rule.NN_FACTOR} × q{stop_rule.NN_QUANTILE:.0%} of nearest-neighbour distances, "
             f"q{stop_rule.CANNOT_QUANTILE:.0%} of cannot-link distances), at least {stop_rule.SCALE_FLOOR} × the median distance. "
             "'held out': the rule with NN_FACTOR chosen on the other face-level sets and CANNOT_QUANTILE on the other clip "
             "(mean B-cubed F), applied to this set. 'best': the sweep's best distance on this set (a ceiling, in-sample).", "",
             "| set | items | people | rule: distance, B³F, people | held out: factor, quantile → B³F, people | fixed (0.4 tracks / 0.45 faces): B³F, people | best: distance, B³F |",
             "|---|---|---|---|---|---|---|"]
    for n in names:
        s = sets[n]
        d = rule(s, stop_rule.NN_FACTOR, stop_rule.CANNOT_QUANTILE)
        f_rule, p_rule = score(s, d)
        face_sets = [m for m in names if m != n and sets[m]["kind"] == "faces"]
        clips = [m for m in names if m != n and sets[m]["kind"] == "tracks"]
        factor = max(FACTORS, key=lambda f: np.mean([grid[(f, stop_rule.CANNOT_QUANTILE, m)] for m in face_sets]))
        quantile = max(QUANTILES, key=lambda q: np.mean([grid[(factor, q, m)] for m in clips])) if clips else stop_rule.CANNOT_QUANTILE
        f_held, p_held = score(s, rule(s, factor, quantile))
        f_fixed, p_fixed = score(s, s["fixed"])
        sweep = [(score(s, t)[0], t) for t in SWEEP]
        f_best, t_best = max(sweep)
        lines.append(f"| {n} | {len(s['X'])} | {len(set(s['y']))} | {d:.3f}, {f_rule:.3f}, {p_rule} | {factor}, {quantile} → {f_held:.3f}, {p_held} | "
                     f"{f_fixed:.3f}, {p_fixed} | {t_best}, {f_best:.3f} |")
        print(lines[-1], flush=True)
    out = Path(__file__).parent / "results" / "stop_rule.md"
    write_markdown(out, "\n".join(lines), "bench_stop_rule.py")


if __name__ == "__main__":
    main()
