"""Every learner on every labelled clip of the dev suite, on the default network: what it gains or loses, and why.

For each clip, the stages of a default run (``--work``: a ``dev_suite.py`` run folder, reused as a cache; the
learners' trainings are cached beside them) are clustered again with each learner (``--learn``: SSiam, TSiam, both,
CCL; the tuned and the paper's variants) and without (``none``), faces alone and with the default cues, K unknown,
each learner with ``--seeds`` seeds; and faces alone with K known, which leaves the stop rule out: whether a learner
orders the merges better than the base vectors, whatever the stop distance. Scored as ``dev_suite.py`` scores a
run: e2e B-cubed F over the faces matched to the ground truth.

Why a learner gains or loses: the pairs it trains on, against the ground truth (each embedded face takes its track's
majority ground-truth label; faces of unknown people are left out):

- SSiam: the pairs it mines from the base vectors (``mine_ssiam_pairs``, 20 batches): precision of its positives
  (the share that are one person) and of its negatives (the share that are two);
- TSiam: its track pairs (``TrackPairs``, 20 batches' worth): positives from one track, negatives from two tracks on
  screen together;
- CCL: the tracks it links into one pseudo-cluster: precision (the share of linked track pairs that are one person)
  and recall (the share of one person's track pairs it links); whether it trained at all.

Then, leave-one-set-out, which learner a default should be: for each clip, the learner with the best mean B-cubed F
over the other clips (faces alone and default cues averaged) and what it gets on this one. Writes
``results/learn_suite.md`` and ``.json``.

    .venv/bin/python benchmarks/bench_learn_suite.py --work /tmp/ds/default [--seeds 0,1,2] [--sets a,b]
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from bench_pseudo_labels import ccl_links, track_labels
from provenance import write_json, write_markdown
from suite import load_suite, scored_faces

from facecluster.config import PipelineConfig
from facecluster.learn.mining import TrackPairs, mine_ssiam_pairs
from facecluster.pipeline.video import run_video
from facecluster.research.metrics import all_scores

RESULTS = Path(__file__).resolve().parent / "results"
LEARNERS = [("none", "tuned"), ("ccl", "tuned"), ("ssiam", "tuned"), ("tsiam", "tuned"), ("both", "tuned"),
            ("ccl", "paper"), ("ssiam", "paper"), ("tsiam", "paper"), ("both", "paper")]
CUES = ("face", "auto")
# Scored modes: the two cues with K unknown, and faces alone with K known (``K``: the true number of people), which
# leaves the stop rule out and measures the order in which a learner's distances merge tracks.
MODES = (*CUES, "K")
BATCHES = 20  # batches of pairs drawn to measure a Siamese learner's pairs


def name_of(method: str, variant: str) -> str:
    return method if method == "none" else f"{method} ({variant})"


def pair_precision(labels: np.ndarray, first: np.ndarray, second: np.ndarray, similar: np.ndarray) -> dict:
    """Precision of positive and negative pairs where both faces' people are known; labels (n,) ('' unknown)."""
    known = (labels[first] != "") & (labels[second] != "")
    same = labels[first] == labels[second]
    pos, neg = known & (similar == 1), known & (similar == 0)
    return {"positives": int(pos.sum()), "positive_precision": float(same[pos].mean()) if pos.any() else None,
            "negatives": int(neg.sum()), "negative_precision": float((~same[neg]).mean()) if neg.any() else None}


def siamese_pairs(method: str, X: np.ndarray, face_labels: np.ndarray, tids: np.ndarray, frames: np.ndarray) -> dict:
    """Precision of the pairs SSiam mines (method ``ssiam``) or TSiam draws (``tsiam``) on the base vectors X (n, d)."""
    import torch

    from facecluster.distances import l2_normalize

    rng = np.random.default_rng(0)
    parts = []
    if method == "ssiam":
        Xt = torch.from_numpy(np.ascontiguousarray(l2_normalize(X), np.float32))
        for _ in range(BATCHES):
            parts.append(mine_ssiam_pairs(Xt, rng))
    else:
        try:
            pairs = TrackPairs(tids, frames)
        except ValueError:
            return {"positives": 0, "positive_precision": None, "negatives": 0, "negative_precision": None}
        for _ in range(BATCHES):
            a, b = pairs.positives(rng, 64)
            c, d = pairs.negatives(rng, 64) if len(pairs.cooccurring) else (np.zeros(0, np.int64), np.zeros(0, np.int64))
            parts.append((np.concatenate([a, c]), np.concatenate([b, d]),
                          np.concatenate([np.ones(len(a), np.int64), np.zeros(len(c), np.int64)])))
    first, second, similar = (np.concatenate([p[k] for p in parts]) for k in range(3))
    return pair_precision(face_labels, first, second, similar)


def clip_rows(v, work: Path, seeds: list[int]) -> dict:
    """Scores of every learner × cues × seed on one clip, and the evidence each learner trains on."""
    base = run_video(v.video, work / v.name, PipelineConfig(workers=os.cpu_count() or 1))
    which, truth = scored_faces(base, v.gt)
    track_label = track_labels(base, v.gt)
    emb = base.embeddings
    tids = base.tracks.track_ids[emb.rows]
    face_labels = track_label[tids]
    evidence = {"ssiam": siamese_pairs("ssiam", emb.vectors, face_labels, tids, base.detections.frames[emb.rows]),
                "tsiam": siamese_pairs("tsiam", emb.vectors, face_labels, tids, base.detections.frames[emb.rows]),
                "ccl": ccl_links(base, track_label)}
    scores: dict[str, dict[str, list]] = {}
    for method, variant in LEARNERS:
        for mode in MODES:
            runs = []
            for seed in ([0] if method == "none" else seeds):
                cfg = PipelineConfig(workers=os.cpu_count() or 1, learn=method, learn_variant=variant, seed=seed,
                                     cues="face" if mode == "K" else mode,
                                     num_people=len(set(truth.tolist())) if mode == "K" else None)
                t0 = time.perf_counter()
                res = run_video(v.video, work / v.name, cfg)
                person = res.track_person[res.tracks.track_ids[which]]
                runs.append({"seed": seed, "bcubed_f": all_scores(truth, person)["bcubed_f"], "people": int(res.num_people),
                             "learn_s": res.timings.get("learn", 0.0), "wall_s": time.perf_counter() - t0})
            scores.setdefault(name_of(method, variant), {})[mode] = runs
    return {"set": v.name, "tracks": int(base.tracks.num_tracks), "faces": int(len(emb.rows)),
            "people_true": len(set(truth.tolist())), "evidence": evidence, "scores": scores}


def mean_f(row: dict, learner: str, mode: str) -> float:
    return float(np.mean([r["bcubed_f"] for r in row["scores"][learner][mode]]))


def render(rows: list[dict], seeds: list[int]) -> str:
    fmt = lambda x: "–" if x is None else f"{x:.3f}"  # noqa: E731
    learners = [name_of(m, v) for m, v in LEARNERS]
    lines = ["# Learners on the dev suite, on SFace", "",
             "Each labelled clip's default-run stages clustered again with each learner, K unknown (K known in the third "
             "table), e2e B-cubed F over "
             f"the faces matched to the ground truth; learners: mean over seeds {seeds}. `face`: `--cues face`; `auto`: "
             "the default cues (faces and clothing). Every learner's settings are its variant's: nothing here was tuned "
             "on these clips except CCL's tuned settings (chosen leave-one-set-out, `dev_suite_loso_ccl.md`).", ""]
    titles = {"face": "B-cubed F, cues `face`", "auto": "B-cubed F, cues `auto`",
              "K": "B-cubed F, cues `face`, K known: the order of the merges, without the stop rule"}
    for mode in MODES:
        lines += [f"## {titles[mode]}", "", "| clip | " + " | ".join(learners) + " |",
                  "|---|" + "---|" * len(learners)]
        for r in rows:
            base = mean_f(r, "none", mode)
            cells = []
            for name in learners:
                f = mean_f(r, name, mode)
                mark = "" if name == "none" else (" ▲" if f > base + 0.005 else " ▼" if f < base - 0.005 else "")
                cells.append(f"{f:.3f}{mark}")
            lines.append(f"| {r['set']} | " + " | ".join(cells) + " |")
        means = [np.mean([mean_f(r, n, mode) for r in rows]) for n in learners]
        hard = [r for r in rows if mean_f(r, "none", mode) < 0.97]
        hard_means = [np.mean([mean_f(r, n, mode) for r in hard]) for n in learners] if hard else [float("nan")] * len(learners)
        worse = [sum(mean_f(r, n, mode) < mean_f(r, "none", mode) - 0.005 for r in rows) for n in learners]
        lines += ["| **mean** | " + " | ".join(f"**{m:.3f}**" for m in means) + " |",
                  f"| mean where `none` < 0.97 ({len(hard)} clips) | " + " | ".join(f"{m:.3f}" for m in hard_means) + " |",
                  "| clips lost (> 0.005 under `none`) | " + " | ".join(str(w) for w in worse) + " |", ""]
    lines += ["## The pairs each learner trains on, against the ground truth", "",
              "SSiam: its mined pairs on the base vectors (positives: each face and its nearest face, the farthest such "
              "pairs; negatives: each face and its farthest face, the nearest such pairs). TSiam: faces of one track "
              "(positives) and of two tracks on screen together (negatives). Precision: the share of positives that "
              "are one person, of negatives that are two. CCL: the share of the track pairs it links that are one "
              "person, and of one person's track pairs that it links.", "",
              "| clip | tracks / people | SSiam positives | SSiam negatives | TSiam positives | TSiam negatives | "
              "CCL links: pairs, precision, recall | CCL trained |",
              "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        e = r["evidence"]
        lines.append(f"| {r['set']} | {r['tracks']} / {r['people_true']} | {fmt(e['ssiam']['positive_precision'])} | "
                     f"{fmt(e['ssiam']['negative_precision'])} | {fmt(e['tsiam']['positive_precision'])} "
                     f"({e['tsiam']['positives']}) | {fmt(e['tsiam']['negative_precision'])} ({e['tsiam']['negatives']}) | "
                     f"{e['ccl']['linked_pairs']}, {fmt(e['ccl']['precision'])}, {fmt(e['ccl']['recall'])} | "
                     f"{'yes' if e['ccl']['trained'] else 'no'} |")
    lines += ["", "## Leave-one-set-out: which learner a default should be", "",
              "For each clip, the learner with the best mean B-cubed F over the other clips (both cues averaged) and "
              "what it then gets on this clip (held out), against `none`.", "",
              "| clip | chosen on the others | held out: face | `none`: face | held out: auto | `none`: auto |",
              "|---|---|---|---|---|---|"]
    both = lambda r, n: (mean_f(r, n, "face") + mean_f(r, n, "auto")) / 2  # noqa: E731
    picks = []
    for r in rows:
        others = [o for o in rows if o is not r]
        pick = max(learners, key=lambda n: (np.mean([both(o, n) for o in others]), n == "none"))
        picks.append(pick)
        lines.append(f"| {r['set']} | {pick} | {mean_f(r, pick, 'face'):.3f} | {mean_f(r, 'none', 'face'):.3f} | "
                     f"{mean_f(r, pick, 'auto'):.3f} | {mean_f(r, 'none', 'auto'):.3f} |")
    held = {c: np.mean([mean_f(r, p, c) for r, p in zip(rows, picks)]) for c in CUES}
    lines += ["", f"Mean held out: faces alone {held['face']:.3f} (`none` {np.mean([mean_f(r, 'none', 'face') for r in rows]):.3f}), "
                  f"default cues {held['auto']:.3f} (`none` {np.mean([mean_f(r, 'none', 'auto') for r in rows]):.3f}).", ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, required=True, help="a dev_suite.py run folder at the default settings")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--sets", default="")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    wanted = set(filter(None, args.sets.split(",")))
    rows = []
    for v in load_suite().videos:
        if v.gt is None or (wanted and v.name not in wanted) or not (args.work / v.name).is_dir():
            continue
        t0 = time.perf_counter()
        rows.append(clip_rows(v, args.work, seeds))
        print(f"{v.name}: {time.perf_counter() - t0:.0f} s", flush=True)
    text = render(rows, seeds)
    write_markdown(RESULTS / "learn_suite.md", text, "bench_learn_suite.py")
    write_json(RESULTS / "learn_suite.json", {"seeds": seeds, "rows": rows}, "bench_learn_suite.py")
    print(text)


if __name__ == "__main__":
    main()
