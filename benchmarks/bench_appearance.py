"""The tracker's appearance check (facecluster.appearance) on the ground-truth faces of the dev suite.

For every clip with ground truth, every labelled face gets its signature (from the decoded frame). Pairs:

- same person: two faces of one ground-truth track 1-6 frames apart (what the tracker links at key-frame spacing);
- neighbours: faces of two different people 0-12 frames apart in one shot whose boxes overlap by IoU >= 0.3 (what
  the IoU tracker, which bridges up to 12 frames at the default key-frame spacing, could join);
- across a cut: a face of one person and a face of another up to 12 frames later after a ground-truth cut, their
  boxes overlapping by IoU >= 0.3 (where a missed cut lets a track run on).

Reports the same-person distances' upper quantiles and the share of each kind of different-person pair that a
threshold refuses, leave-one-clip-out: the threshold is the largest that refuses at most 1 in 2,000 same-person
links on the other clips. Writes ``results/appearance.md``.

    .venv/bin/python benchmarks/bench_appearance.py [--work DIR]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from provenance import write_markdown
from suite import gt_shot_starts, load_suite, read_rows

from facecluster.boxes import box_iou
from facecluster.appearance import SIZE, appearance_distance, face_signatures
from facecluster.research.evaluate import EXCLUDED_LABELS
from facecluster.video.decode import iter_frames

RESULTS = Path(__file__).resolve().parent / "results"
SAME_GAP = 6
MAX_GAP = 12
MIN_IOU = 0.3
SAME_REFUSED = 1 / 1000


def clip_pairs(video: Path, gt: Path, cache: Path) -> dict[str, np.ndarray]:
    if cache.is_file():
        return dict(np.load(cache))
    rows = [r for r in read_rows(gt / "faces.csv") if r["label"] not in EXCLUDED_LABELS]
    frames = np.asarray([int(r["frame"]) for r in rows])
    boxes = np.asarray([[float(r[k]) for k in ("x1", "y1", "x2", "y2")] for r in rows])
    tracks = np.asarray([int(r["track_id"]) for r in rows])
    labels = np.asarray([r["label"] for r in rows])
    sig = np.zeros((len(rows), SIZE), np.float16)
    by_frame: dict[int, list[int]] = {}
    for i, f in enumerate(frames.tolist()):
        by_frame.setdefault(f, []).append(i)
    for frame in iter_frames(video, frames=set(by_frame)):
        idx = by_frame[frame.index]
        sig[idx] = face_signatures(frame.rgb, boxes[idx])
    starts = gt_shot_starts(gt)
    shot = np.searchsorted(starts, frames, side="right") - 1
    same, near, cut = [], [], []
    order = np.argsort(frames, kind="stable")
    for a_pos, i in enumerate(order.tolist()):
        for j in order[a_pos + 1:].tolist():
            gap = frames[j] - frames[i]
            if gap > MAX_GAP:
                break
            if tracks[i] == tracks[j]:
                if 1 <= gap <= SAME_GAP:
                    same.append(float(appearance_distance(sig[i], sig[j])))
            elif labels[i] != labels[j] and box_iou(boxes[i][None], boxes[j][None])[0, 0] >= MIN_IOU:
                (near if shot[i] == shot[j] else cut).append(float(appearance_distance(sig[i], sig[j])))
    out = {k: np.asarray(x)[np.isfinite(x)] if len(x) else np.zeros(0) for k, x in (("same", same), ("near", near), ("cut", cut))}
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, **out)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/facecluster-bench-appearance"))
    args = ap.parse_args()
    clips = [v for v in load_suite().videos if v.gt is not None]
    pairs = {v.name: clip_pairs(v.video, v.gt, args.work / f"{v.name}.npz") for v in clips}
    for name, p in pairs.items():
        print(name, {k: len(x) for k, x in p.items()}, flush=True)
    lines = ["# The tracker's appearance check on ground-truth faces", "",
             f"Same-person pairs up to {SAME_GAP} frames apart, different-person pairs up to {MAX_GAP} with IoU >= {MIN_IOU}. Held-out threshold: the largest that refuses at most 1 in "
             f"{int(1 / SAME_REFUSED)} same-person links on the OTHER clips. 'refused' columns: share of pairs above it.", "",
             "| clip | same-person links | q99.9 same | held-out threshold | same refused | neighbour pairs (refused) | across-cut pairs (refused) |",
             "|---|---|---|---|---|---|---|"]
    for name, p in pairs.items():
        others = np.concatenate([q["same"] for m, q in pairs.items() if m != name])
        thr = float(np.quantile(others, 1 - SAME_REFUSED))
        frac = lambda x: f"{len(x)} ({(x > thr).mean():.2f})" if len(x) else "0"  # noqa: E731
        q = float(np.quantile(p["same"], 0.999)) if len(p["same"]) else float("nan")
        lines.append(f"| {name} | {len(p['same'])} | {q:.3f} | {thr:.3f} | {(p['same'] > thr).mean():.4f} | {frac(p['near'])} | {frac(p['cut'])} |")
    all_same = np.concatenate([p["same"] for p in pairs.values()])
    thr = float(np.quantile(all_same, 1 - SAME_REFUSED))
    near = np.concatenate([p["near"] for p in pairs.values()])
    cut = np.concatenate([p["cut"] for p in pairs.values()])
    lines += ["", f"On all clips: threshold {thr:.3f} refuses {(near > thr).mean():.2f} of {len(near)} neighbour pairs and "
                  f"{(cut > thr).mean():.2f} of {len(cut)} across-cut pairs."]
    write_markdown(RESULTS / "appearance.md", "\n".join(lines), "bench_appearance.py")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
