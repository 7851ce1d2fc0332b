"""Time each pipeline stage on the real clips in ../shared/data/video.

For each clip, in a fresh child process (so peak memory is that clip's alone):
decode+shots, detection, tracking, alignment+embedding and clustering, with
frames/s, faces/s, wall time ÷ video duration and peak resident memory (the
process and its embedding workers). Writes benchmarks/results/stages.md and .json.

    .venv/bin/python benchmarks/bench_stages.py [--data DIR] [--workers N] [--clips a b]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from provenance import write_json, write_markdown

CLIPS = ["short_hamilton_clip", "sweden"]


def one(video: Path, workers: int) -> dict:
    from facecluster import PipelineConfig, run_video

    with tempfile.TemporaryDirectory() as tmp:
        r = run_video(video, tmp, PipelineConfig(workers=workers), force=True)
    frames = r.info.num_frames
    faces = int((r.tracks.track_ids >= 0).sum())
    embedded = len(r.embeddings.rows)
    total = sum(r.timings.values())
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "video": video.name,
        "frames": frames,
        "duration_s": r.info.duration_s,
        "detections": len(r.detections),
        "faces_in_tracks": faces,
        "faces_embedded": embedded,
        "tracks": r.tracks.num_tracks,
        "people": r.num_people,
        "timings_s": r.timings,
        "total_s": total,
        "realtime_factor": total / r.info.duration_s,
        "shots_fps": frames / r.timings["shots"],
        "detect_fps": frames / r.timings["detect"],
        "embed_faces_per_s": embedded / r.timings["embed"] if embedded else 0.0,
        "peak_rss_mb_main": self_kb / 1024,
        "peak_rss_mb_worker": child_kb / 1024,
        "workers": workers,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("FACECLUSTER_DATA", "../shared/data"))
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--clips", nargs="*", default=CLIPS)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(Path(args.one), args.workers)))
        return
    rows = []
    for clip in args.clips:
        video = Path(args.data) / "video" / f"{clip}.mp4"
        proc = subprocess.run([sys.executable, __file__, "--one", str(video), "--workers", str(args.workers)],
                              capture_output=True, text=True, check=True)
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    lines = [
        f"# Stage timings ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, workers={args.workers})",
        "",
        "| clip | frames | faces (tracked / embedded) | shots+decode s (fps) | detect s (fps) | track s | embed s (faces/s) | clothing s | cluster s | total s | × duration | peak RSS MB main / worker |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        t = r["timings_s"]
        lines.append(
            f"| {r['video']} | {r['frames']} | {r['faces_in_tracks']} / {r['faces_embedded']} | {t['shots']:.1f} ({r['shots_fps']:.0f}) "
            f"| {t['detect']:.1f} ({r['detect_fps']:.1f}) | {t['track']:.2f} | {t['embed']:.1f} ({r['embed_faces_per_s']:.1f}) "
            f"| {t.get('context', 0.0):.1f} | {t['cluster']:.3f} | {r['total_s']:.1f} | {r['realtime_factor']:.2f} | {r['peak_rss_mb_main']:.0f} / {r['peak_rss_mb_worker']:.0f} |"
        )
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    write_markdown(out / "stages.md", "\n".join(lines), "bench_stages.py")
    write_json(out / "stages.json", rows, "bench_stages.py")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
