"""People linked across videos: each labelled clip cut into parts, run as separate videos, linked.

Hamilton is cut into two parts and Sweden into three (equal frame ranges, so a person
can appear in several parts); `facecluster run PART1 PART2 ... -o OUT` clusters each
part on its own and links their people (OUT/people.json). Scored over all faces of all
parts matched to the ground truth (IoU ≥ 0.5): collection-level B-cubed F of the
linked identities, people found / true, and whether any collection person holds two
people of one part (never, by construction: a check). `--cues face` and the default
cues, each with the default `--learn ccl` and with `--learn none`. Writes benchmarks/results/parts.md.

    .venv/bin/python benchmarks/bench_parts.py [--data DIR] [--work DIR]
"""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from datasets import data_root
from provenance import write_markdown

from facecluster.research.evaluate import EXCLUDED_LABELS, match_faces, read_faces_csv
from facecluster.research.metrics import all_scores

PARTS = {"short_hamilton_clip": 2, "sweden": 3}


def cut(data: Path, clip: str, parts: int, work: Path) -> list[tuple[Path, list[dict]]]:
    """The clip as ``parts`` videos of equal frame ranges, each with its ground-truth rows (frames shifted)."""
    import av

    from facecluster.video.decode import iter_frames, probe

    frames = [f.rgb for f in iter_frames(data / "video" / f"{clip}.mp4")]
    fps = round(probe(data / "video" / f"{clip}.mp4").fps)
    with open(data / "video" / "gt" / clip / "faces.csv", newline="") as f:
        truth = list(csv.DictReader(f))
    bounds = np.linspace(0, len(frames), parts + 1).astype(int)
    out = []
    for k in range(parts):
        video = work / f"{clip}_part{k + 1}.mp4"
        a, b = int(bounds[k]), int(bounds[k + 1])
        if not video.is_file():
            with av.open(str(video), "w") as container:
                stream = container.add_stream("libx264", rate=fps)
                stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
                stream.options = {"crf": "18"}
                for rgb in frames[a:b]:
                    for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")):
                        container.mux(packet)
                for packet in stream.encode():
                    container.mux(packet)
        rows = [{**r, "frame": str(int(r["frame"]) - a)} for r in truth if a <= int(r["frame"]) < b]
        out.append((video, rows))
    return out


def score(out: Path, parts: list[tuple[Path, list[dict]]]) -> dict:
    people = json.loads((out / "people.json").read_text())
    identity = {(a["source"], a["person"]): p["id"] for p in people["people"] for a in p["appearances"]}
    two_of_one_part = any(len(p["appearances"]) != len({a["source"] for a in p["appearances"]}) for p in people["people"])
    pred, true = [], []
    for video, rows in parts:
        pairs, _ = match_faces(read_faces_csv(out / video.stem / "faces.csv", "person"), rows)
        for person, label in pairs:
            if label not in EXCLUDED_LABELS:
                pred.append(identity.get((video.stem, int(person)), f"{video.stem}:{person}"))
                true.append(label)
    s = all_scores(np.asarray(true), np.asarray([str(p) for p in pred]))
    return {**s, "two_of_one_part": two_of_one_part, "stop_distance": people["linking"].get("stop_distance")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(data_root()))
    ap.add_argument("--work", default="/tmp/facecluster-bench-parts")
    args = ap.parse_args()
    data, work = Path(args.data), Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    lines = ["# People linked across parts of a clip", "",
             "Each clip cut into equal frame ranges, the parts run as separate videos in one `facecluster run`, their people "
             "linked (OUT/people.json). Scored over every face of every part matched to the ground truth.", "",
             "| clip | parts | cues | learn | collection B-cubed F | WCP | people est. / true | link stop distance | a person linked to two of one part |",
             "|---|---|---|---|---|---|---|---|---|"]
    for clip, n in PARTS.items():
        parts = cut(data, clip, n, work)
        for cues, learn in [(c, k) for c in ("face", "auto") for k in ("ccl", "none")]:
            out = work / f"out_{clip}"  # one folder: later runs reuse the first run's cache
            proc = subprocess.run([sys.executable, "-m", "facecluster", "run", *(str(v) for v, _ in parts), "-o", str(out),
                                   "--cues", cues, "--learn", learn], capture_output=True, text=True)
            if proc.returncode != 0:
                raise SystemExit(proc.stderr)
            s = score(out, parts)
            lines.append(f"| {clip} | {n} | {cues} | {learn} | {s['bcubed_f']:.3f} | {s['wcp']:.3f} | {s['num_people_pred']} / {s['num_people_true']} | "
                         f"{s['stop_distance']} | {'yes' if s['two_of_one_part'] else 'no'} |")
            print(lines[-1], flush=True)
    write_markdown(Path(__file__).parent / "results" / "parts.md", "\n".join(lines), "bench_parts.py")


if __name__ == "__main__":
    main()
