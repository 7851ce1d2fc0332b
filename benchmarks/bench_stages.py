"""Time each pipeline stage on the real clips in ../shared/data/video.

For each clip, in a fresh child process (so peak memory is that clip's alone):
decode+shots, detection, tracking, alignment+embedding, clothing and clustering, with
frames/s, faces/s, wall time ÷ video duration (the whole run, imports and model loading
included) and peak resident memory (the process and its embedding workers); and, in
another child, the time to decode every frame and nothing else, the floor a run is
compared with (whole run ÷ decode-only). ``--loops 1 4 16`` also runs a clip looped
that many times into one file (made with ffmpeg in a temporary folder, not kept) to
see whether peak memory grows with the video's length. Writes
benchmarks/results/stages.md and .json.

    .venv/bin/python benchmarks/bench_stages.py [--data DIR] [--workers N] [--clips a b] [--detect-every k] [--full-frame-every m]
        [--loops 1 4 16]
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

CLIPS = ["short_hamilton_clip", "sweden", "facenet_pytorch_crowd"]


def decode_only(video: Path) -> dict:
    """Seconds to decode every frame of the video (RGB arrays, as the pipeline gets them)."""
    import time

    from facecluster.video.decode import iter_frames

    t0 = time.perf_counter()
    frames = sum(1 for _ in iter_frames(video))
    return {"decode_s": time.perf_counter() - t0, "frames": frames}


def looped(video: Path, times: int, folder: Path) -> Path:
    """The video repeated ``times`` times into one file (ffmpeg concat, no re-encoding)."""
    import imageio_ffmpeg

    if times == 1:
        return video
    listing = folder / f"{video.stem}-x{times}.txt"
    listing.write_text("".join(f"file '{video.resolve()}'\n" for _ in range(times)))
    out = folder / f"{video.stem}-x{times}.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-f", "concat", "-safe", "0", "-i", str(listing),
                    "-c", "copy", str(out)], check=True)
    return out


def one(video: Path, workers: int, every: int = 1, full_every: int = 1) -> dict:
    import time

    t_start = time.perf_counter()
    from facecluster import PipelineConfig, run_video

    with tempfile.TemporaryDirectory() as tmp:
        r = run_video(video, tmp, PipelineConfig(workers=workers, detect_every=every, full_frame_every=full_every), force=True)
    wall = time.perf_counter() - t_start
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
        "wall_s": wall,
        "realtime_factor": wall / r.info.duration_s,
        "shots_fps": frames / r.timings["shots"] if r.timings["shots"] else None,  # 0: found in the detection pass
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
    ap.add_argument("--clips", nargs="*", default=CLIPS, help="clips of DATA/video/, by stem (sweden) or file name (sweden.mp4)")
    from facecluster import PipelineConfig

    ap.add_argument("--detect-every", type=int, default=PipelineConfig.detect_every)
    ap.add_argument("--full-frame-every", type=int, default=PipelineConfig.full_frame_every)
    ap.add_argument("--loops", type=int, nargs="*", default=[])
    ap.add_argument("--one", help=argparse.SUPPRESS)
    ap.add_argument("--decode", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(Path(args.one), args.workers, args.detect_every, args.full_frame_every)))
        return
    if args.decode:
        print(json.dumps(decode_only(Path(args.decode))))
        return

    def child(*extra: str) -> dict:
        proc = subprocess.run([sys.executable, __file__, *extra, "--workers", str(args.workers), "--detect-every", str(args.detect_every),
                               "--full-frame-every", str(args.full_frame_every)], capture_output=True, text=True, check=True)
        return json.loads(proc.stdout.strip().splitlines()[-1])

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for clip in args.clips:
            source = Path(args.data) / "video" / f"{Path(clip).stem}.mp4"
            if not source.is_file():
                sys.exit(f"{source}: no such clip")
            for times in args.loops or [1]:
                video = looped(source, times, Path(tmp))
                row = {**child("--one", str(video)), "decode_s": child("--decode", str(video))["decode_s"], "loops": times}
                rows.append(row)
                print(row, flush=True)
    lines = [
        f"# Stage timings ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, workers={args.workers}, "
        f"--detect-every {args.detect_every}, --full-frame-every {args.full_frame_every})",
        "",
        "wall = the whole run in a fresh process (imports and model loading included); decode = decoding every frame and "
        "nothing else, in another fresh process.",
        "",
        "| clip | frames | faces (tracked / embedded) | shots+decode s (fps) | detect s (fps; with the shots: one pass) | track s | embed s (faces/s) | clothing s "
        "| learn s | cluster s | wall s | wall ÷ duration | decode s | wall ÷ decode | peak RSS MB main / worker |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        t = r["timings_s"]
        shots = f"{t['shots']:.1f} ({r['shots_fps']:.0f})" if r.get("shots_fps") else "in detect"
        name = r["video"] if r["loops"] == 1 else f"{r['video']} (×{r['loops']} looped)"
        lines.append(
            f"| {name} | {r['frames']} | {r['faces_in_tracks']} / {r['faces_embedded']} | {shots} "
            f"| {t['detect']:.1f} ({r['detect_fps']:.1f}) | {t['track']:.2f} | {t['embed']:.1f} ({r['embed_faces_per_s']:.1f}) "
            f"| {t.get('clothing', 0.0):.1f} | {t.get('learn', 0.0):.2f} | {t['cluster']:.3f} | {r['wall_s']:.1f} | {r['realtime_factor']:.2f} | {r['decode_s']:.1f} "
            f"| {r['wall_s'] / r['decode_s']:.1f} | {r['peak_rss_mb_main']:.0f} / {r['peak_rss_mb_worker']:.0f} |"
        )
    out = Path(__file__).parent / "results"
    out.mkdir(exist_ok=True)
    name = "stages_loops" if args.loops else "stages"
    write_markdown(out / f"{name}.md", "\n".join(lines), "bench_stages.py")
    write_json(out / f"{name}.json", rows, "bench_stages.py")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
