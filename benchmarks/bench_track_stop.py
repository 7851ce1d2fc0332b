"""Where a video's stop distance comes from when too few pairs of tracks are on screen together.

With fewer than ``MIN_CANNOT_PAIRS`` pairs known to differ, the stop rule used to take nearest neighbours as evidence
wherever there were ``MIN_ITEMS`` tracks or more (1.4 × the 90th percentile of each track's nearest-neighbour
distance), and the network's fallback distance below that. This scores both on every labelled clip of a
``dev_suite.py`` run (``--work``, reused as a cache; ``--scaled-work`` and ``--scale``: the same for the clips scaled
with ``dev_suite.py --scale``): each clip clustered, faces alone, K unknown, at fixed stop distances
(``STOPS``), and at the nearest-neighbour term, at the fallback and at the rule's own stop distance (what a run of
this code uses); with each clip's best range (B-cubed F within 0.01 of its best). Writes
``results/track_stop.md`` and ``.json``.

    .venv/bin/python benchmarks/bench_track_stop.py --work /tmp/ds/default [--scaled-work /tmp/ds/default_1080p --scale 1080]
"""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
from dev_suite import scaled_copy
from provenance import write_json, write_markdown
from suite import load_suite, scored_faces

from facecluster.cluster import stop_rule
from facecluster.cluster.registry import fallback
from facecluster.config import PipelineConfig
from facecluster.distances import pairwise
from facecluster.pipeline.video import run_video
from facecluster.research.metrics import all_scores
from facecluster.video.tracking import overlapping_pairs, track_spans

RESULTS = Path(__file__).resolve().parent / "results"
STOPS = np.round(np.arange(0.6, 1.45, 0.05), 2)  # SFace's units


def nearest_neighbour_term(features: np.ndarray) -> float:
    """The stop rule's nearest-neighbour term for track features (T >= 2, D): the rule with no pair known to differ
    and no fallback."""
    return stop_rule.stop_distance(pairwise(features))


def clip_row(video: Path, gt: Path, folder: Path, name: str, size: str) -> dict | None:
    workers = os.cpu_count() or 1
    run = run_video(video, folder, PipelineConfig(workers=workers, cues="face"))
    keep = run.track_person >= 0
    if keep.sum() < 2:
        return None
    which, truth = scored_faces(run, gt)
    first, last = track_spans(run.tracks, run.detections)

    def score_at(stop: float) -> float:
        fixed = run_video(video, folder, PipelineConfig(workers=workers, cues="face", distance_threshold=float(stop)))
        return all_scores(truth, fixed.track_person[fixed.tracks.track_ids[which]])["bcubed_f"]

    scores = np.asarray([score_at(stop) for stop in STOPS])
    nearest = nearest_neighbour_term(run.track_features[keep])
    fall = fallback("tracks", run.config.network)
    good = STOPS[scores >= scores.max() - 0.01]
    return {"set": name, "size": size, "tracks": int(keep.sum()), "pairs": int(len(overlapping_pairs(first, last))),
            "nearest": nearest, "fallback": fall, "rule": run.stop_distance, "best_low": float(good.min()),
            "best_high": float(good.max()), "best_f": float(scores.max()), "f_nearest": score_at(nearest),
            "f_fallback": score_at(fall), "f_rule": all_scores(truth, run.track_person[run.tracks.track_ids[which]])["bcubed_f"],
            "scores": scores.tolist()}


def render(rows: list[dict]) -> str:
    lines = ["# A video's stop distance with few pairs of tracks on screen together", "",
             "Each labelled clip clustered faces alone, K unknown, at fixed stop distances "
             f"{STOPS[0]:.2f}–{STOPS[-1]:.2f} (SFace's units), and at the nearest-neighbour term "
             "(1.4 × the 90th percentile of each track's nearest-neighbour distance, the rule's evidence where fewer than "
             f"{stop_rule.MIN_CANNOT_PAIRS} pairs are known to differ and there are {stop_rule.MIN_ITEMS} tracks or more, "
             "until this round) and at the fallback distance; `rule`: the stop distance this code's rule gives and the "
             "B-cubed F of that run. Best range: the stop distances within 0.01 of the clip's best B-cubed F.", "",
             "| clip | size | tracks | pairs on screen together | best range | nearest-neighbour term → B³F | "
             "fallback → B³F | rule → B³F |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['set']} | {r['size']} | {r['tracks']} | {r['pairs']} | {r['best_low']:.2f}–{r['best_high']:.2f} "
                     f"({r['best_f']:.3f}) | {r['nearest']:.3f} → {r['f_nearest']:.3f} | {r['fallback']:.3f} → "
                     f"{r['f_fallback']:.3f} | {r['rule']:.3f} → {r['f_rule']:.3f} |")
    for size in sorted({r["size"] for r in rows}):
        part = [r for r in rows if r["size"] == size]
        nn, fb = np.array([r["f_nearest"] for r in part]), np.array([r["f_fallback"] for r in part])
        lines += ["", f"{size}: {len(part)} clips; mean B-cubed F at the nearest-neighbour term {nn.mean():.3f}, at the "
                  f"fallback {fb.mean():.3f}; the nearest-neighbour term lower on {(nn < fb - 0.005).sum()} clips, higher on "
                  f"{(nn > fb + 0.005).sum()}; inside the best range: nearest-neighbour term "
                  f"{sum(r['best_low'] - 0.025 <= r['nearest'] <= r['best_high'] + 0.025 for r in part)}, fallback "
                  f"{sum(r['best_low'] - 0.025 <= r['fallback'] <= r['best_high'] + 0.025 for r in part)}."]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, required=True, help="a dev_suite.py run folder at the default settings")
    ap.add_argument("--scaled-work", type=Path, default=None, help="a dev_suite.py --scale run folder")
    ap.add_argument("--scale", type=int, default=1080)
    args = ap.parse_args()
    rows = []
    for v in load_suite().videos:
        if v.gt is None:
            continue
        runs = [(v, args.work, "native")]
        if args.scaled_work is not None and (args.scaled_work / v.name).is_dir():
            runs.append((scaled_copy(v, args.scale, args.scaled_work.parent / f"scaled-{args.scale}"), args.scaled_work,
                         f"{args.scale}p"))
        for clip, work, size in runs:
            if (work / v.name).is_dir():
                row = clip_row(clip.video, clip.gt, work / v.name, v.name, size)
                if row is not None:
                    rows.append(row)
                    print(v.name, size, flush=True)
    text = render(rows)
    write_markdown(RESULTS / "track_stop.md", text, "bench_track_stop.py")
    write_json(RESULTS / "track_stop.json", {"stops": STOPS.tolist(), "rows": rows}, "bench_track_stop.py")
    print(text)


if __name__ == "__main__":
    main()
