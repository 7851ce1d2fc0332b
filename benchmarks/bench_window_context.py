"""How much of the frame an unsure face needs around it to be found again, and which faces a half-size search finds.

The key-frame search (:mod:`facecluster.faces.detect.windows`) looks for the faces of the frames between two
whole-searched key frames in windows around them, and searches at half size where the faces allow. CenterFace's
score for a face depends on the frame around it, so faces it was unsure of (under ``HALF_SURE`` above its threshold)
get wider windows and full size. This measures, on the dev clips' own frames, what that costs in faces found:

- **context**: every face CenterFace finds in a whole frame with a score under threshold + ``HALF_SURE``, searched
  again in one window reaching r of its box sides (r = 0.5 … 3), as the search cuts it (on the network's grid);
  found again if a face of that window scores at or above the threshold at IoU ≥ 0.5. By the face's longer side in
  network-input pixels (what ``search_windows`` measures).
- **half size**: the same faces, the whole network input searched at half size (as ``detect_in_windows`` does for
  ``halves``; clips whose input sides are not multiples of twice the grid never get it and are left out). By the
  face's shorter side in network-input pixels (what ``large_and_sure`` measures).

Each constant is also chosen leave-one-clip-out: for each clip, on the other clips, the smallest size from which every
unsure face was found (with ``MARGIN_UNSURE_LARGE`` box sides for the context; at half size for the other), and the
share of this clip's faces of that size found. Every 5th frame, up to 120 frames with faces a clip.

    .venv/bin/python benchmarks/bench_window_context.py [--every 5] [--frames 120]
"""
from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np
from provenance import write_json, write_markdown
from suite import load_suite

REACHES = (0.5, 1.0, 1.5, 2.0, 3.0)  # box sides
CONTEXT_SIZES = (0.0, 48.0, 96.0, 192.0)  # longer side, network-input pixels: bucket lower edges
HALF_SIZES = (64.0, 128.0, 192.0, 256.0)  # shorter side, network-input pixels


def found_again(found: tuple[np.ndarray, np.ndarray], box: np.ndarray, threshold: float) -> bool:
    from facecluster.boxes import box_iou

    boxes, scores = found
    if not len(boxes):
        return False
    return bool(((box_iou(box[None], boxes)[0] >= 0.5) & (scores >= threshold)).any())


def measure_clip(video, every: int, max_frames: int) -> list[dict]:
    """One row per unsure face: its sides in network-input pixels and whether each search found it again."""
    from facecluster.faces.detect import make_detector
    from facecluster.faces.detect import windows as W
    from facecluster.video.decode import iter_frames

    detector = make_detector("centerface")
    threshold = detector.score_threshold
    rows, frames = [], 0
    for frame in iter_frames(video):
        if frame.index % every:
            continue
        boxes, scores, _ = detector.detect(frame.rgb)
        if not len(boxes):
            continue
        frames += 1
        height, width = frame.rgb.shape[:2]
        scale = detector.input_side(height, width) / max(height, width)
        image, *_ = detector.network_input(frame.rgb)
        can_halve = all(side % (2 * detector.grid) == 0 for side in image.shape[:2])
        half = (W.detect_in_windows(detector, [frame.rgb], [np.array([[0, 0, width, height]], float)], halves=[True])[0]
                if can_halve else None)
        for box, score in zip(boxes, scores):
            if score >= threshold + W.HALF_SURE:
                continue
            longer = float(max(box[2] - box[0], box[3] - box[1]))
            row = {"clip": video.stem, "longer_px": longer * scale,
                   "shorter_px": float(min(box[2] - box[0], box[3] - box[1])) * scale, "score": float(score),
                   "half": None if half is None else found_again(half, box, threshold)}
            for reach in REACHES:
                r = reach * longer
                window = np.array([[max(0, box[0] - r), max(0, box[1] - r), min(width, box[2] + r), min(height, box[3] + r)]])
                row[f"reach_{reach}"] = found_again(W.detect_in_windows(detector, [frame.rgb], [window])[0], box, threshold)
            rows.append(row)
        if frames >= max_frames:
            break
    return rows


def share(rows: list[dict], key: str) -> tuple[int, int]:
    return sum(bool(r[key]) for r in rows), len(rows)


def choose_size(rows: list[dict], sizes, side_key: str, found_key: str) -> float | None:
    """The smallest size from which every face of ``rows`` was found (None: none)."""
    for size in sizes:
        if all(r[found_key] for r in rows if r[side_key] >= size):
            return size
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--every", type=int, default=5)
    ap.add_argument("--frames", type=int, default=120)
    args = ap.parse_args()
    from facecluster.faces.detect import windows as W

    suite = load_suite()
    rows: list[dict] = []
    for vs in suite.videos:
        if vs.gt is None:
            continue
        clip_rows = measure_clip(vs.video, args.every, args.frames)
        print(vs.name, len(clip_rows), "unsure faces", flush=True)
        rows += clip_rows
    clips = sorted({r["clip"] for r in rows})

    lines = ["# Window context and half-size search for unsure faces", "",
             __doc__.split("\n\n")[1].replace("\n", " "), "",
             f"Unsure: score under CenterFace's threshold + {W.HALF_SURE}. Frames: every {args.every}th, up to "
             f"{args.frames} with faces a clip; {len(rows)} unsure faces on {len(clips)} clips.", "",
             "## Found again in a window reaching r box sides", "",
             "| longer side (input px) | faces | " + " | ".join(f"r = {r}" for r in REACHES) + " |",
             "|---|---|" + "---|" * len(REACHES)]
    edges = list(CONTEXT_SIZES) + [np.inf]
    for lo, hi in zip(edges[:-1], edges[1:]):
        part = [r for r in rows if lo <= r["longer_px"] < hi]
        if part:
            cells = [f"{share(part, f'reach_{reach}')[0]} ({share(part, f'reach_{reach}')[0] / len(part):.3f})" for reach in REACHES]
            lines.append(f"| {lo:.0f}–{hi:.0f} | {len(part)} | " + " | ".join(cells) + " |")
    halved = [r for r in rows if r["half"] is not None]
    lines += ["", "## Found at half size", "", f"Clips whose network input can be halved: "
              f"{', '.join(sorted({r['clip'] for r in halved}))}.", "",
              "| shorter side (input px) | faces | found at half size |", "|---|---|---|"]
    edges = [0.0] + list(HALF_SIZES) + [np.inf]
    for lo, hi in zip(edges[:-1], edges[1:]):
        part = [r for r in halved if lo <= r["shorter_px"] < hi]
        if part:
            lines.append(f"| {lo:.0f}–{hi:.0f} | {len(part)} | {share(part, 'half')[0]} ({share(part, 'half')[0] / len(part):.3f}) |")

    reach_key = f"reach_{W.MARGIN_UNSURE_LARGE}"
    lines += ["", "## Leave one clip out", "",
              f"`LARGE_CONTEXT_SIDE`: the smallest of {list(CONTEXT_SIZES)} from which every unsure face of the other "
              f"clips was found with {W.MARGIN_UNSURE_LARGE} box sides; `HALF_ANY_SIDE`: the smallest of "
              f"{list(HALF_SIZES)} from which every unsure face of the other clips was found at half size. Then: this "
              "clip's unsure faces of that size or more, found / all.", "",
              "| clip | `LARGE_CONTEXT_SIDE` held out | found | `HALF_ANY_SIDE` held out | found |", "|---|---|---|---|---|"]
    chosen = defaultdict(list)
    for clip in clips:
        mine = [r for r in rows if r["clip"] == clip]
        others = [r for r in rows if r["clip"] != clip]
        context = choose_size(others, CONTEXT_SIZES, "longer_px", reach_key)
        halving = choose_size([r for r in others if r["half"] is not None], HALF_SIZES, "shorter_px", "half")
        chosen["context"].append(context)
        chosen["half"].append(halving)
        c_rows = [r for r in mine if context is not None and r["longer_px"] >= context]
        h_rows = [r for r in mine if halving is not None and r["half"] is not None and r["shorter_px"] >= halving]
        c_found = f"{share(c_rows, reach_key)[0]} / {len(c_rows)}"
        h_found = f"{share(h_rows, 'half')[0]} / {len(h_rows)}" if any(r["half"] is not None for r in mine) else "–"
        lines.append(f"| {clip} | {context} | {c_found} | {halving} | {h_found} |")
    all_context = choose_size(rows, CONTEXT_SIZES, "longer_px", reach_key)
    all_half = choose_size([r for r in rows if r["half"] is not None], HALF_SIZES, "shorter_px", "half")
    lines += ["", f"On all clips: `LARGE_CONTEXT_SIDE` {all_context}, `HALF_ANY_SIDE` {all_half} "
              f"(facecluster has {W.LARGE_CONTEXT_SIDE} and {W.HALF_ANY_SIDE})."]
    results = Path(__file__).resolve().parent / "results"
    write_markdown(results / "window_context.md", "\n".join(lines), "bench_window_context.py")
    write_json(results / "window_context.json", {"rows": rows, "held_out": chosen, "all": {"context": all_context, "half": all_half}},
               "bench_window_context.py")


if __name__ == "__main__":
    main()
