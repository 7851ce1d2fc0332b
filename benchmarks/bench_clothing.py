"""Faces alone vs faces + clothing (facecluster.cues) on the labelled clips and on a two-scene concatenation.

For Hamilton, Sweden, and Hamilton followed by Sweden in one video (no clothing is
shared across the join), runs `facecluster run` with `--cues face` and
`--cues face+clothing`, K given and K estimated, and scores with `facecluster
eval`. Also reports the clothing calibration (weight, AUC, pairs) and the scenes
found. Writes benchmarks/results/clothing.md.

    .venv/bin/python benchmarks/bench_clothing.py [--data DIR] [--work DIR]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
from pathlib import Path

from provenance import write_markdown

from facecluster.app import process_videos
from facecluster.config import PipelineConfig
from facecluster.research.evaluate import evaluate_dirs

CLIPS = ["short_hamilton_clip", "sweden"]
TRUE_K = {"short_hamilton_clip": 13, "sweden": 31, "hamilton_then_sweden": 44}


def concatenate(data: Path, work: Path) -> tuple[Path, Path]:
    """hamilton_then_sweden.mp4 and its ground-truth folder (frames of Sweden shifted by Hamilton's length).

    Both clips name some of their people ``person_1`` … ``person_9``: in the joined ground truth each
    label carries its clip's name (``sweden:person_2``), so that two different people stay two. (Until
    2026-11-30 they did not: 9 of Hamilton's people were scored as Sweden's, and every joined score
    before then counted keeping them apart as splitting one person.)"""
    import av
    import numpy as np

    from facecluster.research.evaluate import EXCLUDED_LABELS
    from facecluster.video.decode import iter_frames

    video, gt = work / "hamilton_then_sweden.mp4", work / "gt_hamilton_then_sweden"
    if video.is_file() and (gt / "faces.csv").is_file():
        with open(gt / "faces.csv", newline="") as f:
            if all(":" in row["label"] or row["label"] in EXCLUDED_LABELS for row in csv.DictReader(f)):
                return video, gt
    gt.mkdir(parents=True, exist_ok=True)
    offset, rows = 0, []
    with av.open(str(video), "w") as out:
        stream = out.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        stream.options = {"crf": "18"}
        for clip in CLIPS:
            n = 0
            for frame in iter_frames(data / "video" / f"{clip}.mp4"):
                for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame.rgb), format="rgb24")):
                    out.mux(packet)
                n += 1
            with open(data / "video" / "gt" / clip / "faces.csv", newline="") as f:
                for row in csv.DictReader(f):
                    row["frame"] = str(int(row["frame"]) + offset)
                    if row["label"] not in EXCLUDED_LABELS:
                        row["label"] = f"{clip}:{row['label']}"
                    rows.append(row)
            offset += n
        for packet in stream.encode():
            out.mux(packet)
    with open(gt / "faces.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return video, gt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("FACECLUSTER_DATA", "../shared/data"))
    ap.add_argument("--work", default="/tmp/facecluster-bench-clothing")
    args = ap.parse_args()
    data, work = Path(args.data), Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    joined, joined_gt = concatenate(data, work)
    sets = [(data / "video" / f"{c}.mp4", data / "video" / "gt" / c) for c in CLIPS] + [(joined, joined_gt)]
    lines = ["# Faces alone vs faces + clothing", "",
             "`facecluster run CLIP --cues {face,face+clothing} [--num-people K]`, scored by `facecluster eval` (faces matched to "
             "the ground truth). hamilton_then_sweden: the two clips in one video (no clothing shared across the join).", "",
             "| video | K | cues | WCP | NMI | B-cubed F | people est. / true | clothing weight (AUC; same / different pairs) | scenes | shots |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for video, gt in sets:
        name = video.stem
        for k in (TRUE_K[name], None):
            for cues in ("face", "face+clothing"):
                (outcome,) = process_videos([video], work / "runs", PipelineConfig(workers=len(os.sched_getaffinity(0)), cues=cues, num_people=k))
                assert outcome.error is None, outcome.error
                s = evaluate_dirs(outcome.folder, gt)
                doc = json.loads((outcome.folder / "clusters.json").read_text())
                c = doc.get("clothing_cue")
                cal = f"{c['weight']:.2f} ({c['auc']:.2f}; {c['same_pairs']} / {c['different_pairs']})" if c else "–"
                lines.append(f"| {name} | {'given' if k else 'estimated'} | {cues} | {s['wcp']:.3f} | {s['nmi']:.3f} | {s['bcubed_f']:.3f} | "
                             f"{s['num_people_pred']} / {TRUE_K[name]} | {cal} | {c['scenes'] if c else '–'} | {doc['num_shots']} |")
                print(lines[-1], flush=True)
    write_markdown(Path(__file__).parent / "results" / "clothing.md", "\n".join(lines), "bench_clothing.py")


if __name__ == "__main__":
    main()
