"""Embedding backends side by side: dlib's own ResNet vs the same network run by onnxruntime and by PyTorch.

1. Faces per second on real 150×150 chips (faces of the Hamilton and Sweden
   clips, cut at their ground-truth boxes): dlib in one process (one core) and
   in ``--workers`` processes; onnxruntime and PyTorch at batch sizes 1, 16, 64, 256
   with ``--workers`` threads. Each configuration runs in a fresh child process, so
   its peak resident memory (children included; imports and model loading too) is its own.
2. Agreement: max abs difference of the onnxruntime and PyTorch descriptors from dlib's.
3. End to end: wall time of ``facecluster run`` on the two clips with each backend.

Writes benchmarks/results/embedder.md and .json.

    .venv/bin/python benchmarks/bench_embedder.py [--data DIR] [--workers N] [--faces 512] [--skip-e2e]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from provenance import write_json, write_markdown

CLIPS = ["short_hamilton_clip", "sweden"]
TORCH_BATCHES = [1, 16, 64, 256]


def real_chips(data: Path, count: int) -> np.ndarray:
    """(count, 150, 150, 3) uint8 chips, half from each clip, at ground-truth boxes."""
    from facecluster.faces.align import FaceAligner
    from facecluster.video.decode import iter_frames

    aligner, chips = FaceAligner(), []
    for clip in CLIPS:
        boxes: dict[int, list[list[float]]] = {}
        with open(data / "video" / "gt" / clip / "faces.csv", newline="") as f:
            for row in csv.DictReader(f):
                boxes.setdefault(int(row["frame"]), []).append([float(row[k]) for k in ("x1", "y1", "x2", "y2")])
        frames = sorted(boxes)
        wanted = set(frames[:: max(1, len(frames) // (count // len(CLIPS)))])
        got = []
        for frame in iter_frames(data / "video" / f"{clip}.mp4", frames=wanted):
            got.extend(aligner.chips(frame.rgb, np.array(boxes[frame.index], np.float32)))
        chips.extend(got[: count // len(CLIPS)])
    return np.stack(chips)


def child(config: str, chips_path: str, workers: int) -> None:
    """Run one configuration and print one JSON line."""
    from facecluster.faces.embed import DlibEmbedder, OnnxRuntimeEmbedder, TorchEmbedder, embed_chip_batches

    chips = np.load(chips_path)
    backend, _, arg = config.partition(":")
    if backend == "onnxruntime":
        embedder = OnnxRuntimeEmbedder(workers)
        embedder.batch = int(arg)
        embedder.embed(chips[:1])  # warm-up
        t0 = time.perf_counter()
        vectors = embedder.embed(chips)
        cores = workers
    elif backend == "torch":
        import torch

        torch.set_num_threads(workers)
        embedder = TorchEmbedder("cpu", batch=int(arg))
        embedder.embed(chips[:1])  # warm-up (allocations, kernel choice)
        t0 = time.perf_counter()
        vectors = embedder.embed(chips)
        cores = workers
    elif backend == "dlib" and arg == "1":
        embedder = DlibEmbedder()
        embedder.embed(chips[:1])
        t0 = time.perf_counter()
        vectors = embedder.embed(chips)
        cores = 1
    else:
        batches = [chips[i : i + 32] for i in range(0, len(chips), 32)]
        t0 = time.perf_counter()
        vectors = np.concatenate(list(embed_chip_batches(batches, workers=workers, embedder="dlib")))
        cores = workers
    seconds = time.perf_counter() - t0
    np.save(chips_path.replace(".npy", f"-{backend}-{arg}.npy"), vectors)
    rss = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    print(json.dumps({"config": config, "cores": cores, "faces": len(chips), "seconds": seconds,
                      "faces_per_s": len(chips) / seconds, "peak_rss_mb": rss}))


def end_to_end(data: Path, backend: str, workers: int) -> list[dict]:
    rows = []
    for clip in CLIPS:
        with tempfile.TemporaryDirectory() as out:
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "facecluster", "run", str(data / "video" / f"{clip}.mp4"), "-o", out,
                            "--embedder", backend, "--workers", str(workers), "--force"], check=True, capture_output=True)
            wall = time.perf_counter() - t0
            timings = json.loads((Path(out) / clip / "timings.json").read_text())
        rows.append({"clip": clip, "backend": backend, "wall_s": wall, "embed_s": timings.get("embed")})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("FACECLUSTER_DATA", "../shared/data"))
    ap.add_argument("--workers", type=int, default=len(os.sched_getaffinity(0)))
    ap.add_argument("--faces", type=int, default=512)
    ap.add_argument("--skip-e2e", action="store_true")
    ap.add_argument("--child", nargs=2, metavar=("CONFIG", "CHIPS"))
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.workers)
        return
    data = Path(args.data)
    tmp = tempfile.mkdtemp()
    chips_path = os.path.join(tmp, "chips.npy")
    np.save(chips_path, real_chips(data, args.faces))
    configs = (["dlib:1", f"dlib:{args.workers}w"] + [f"onnxruntime:{b}" for b in TORCH_BATCHES]
               + [f"torch:{b}" for b in TORCH_BATCHES])
    results = []
    for config in configs:
        out = subprocess.run([sys.executable, __file__, "--workers", str(args.workers), "--child", config, chips_path],
                             check=True, capture_output=True, text=True)
        row = json.loads(out.stdout.strip().splitlines()[-1])
        print(row, flush=True)
        results.append(row)
    reference = np.load(chips_path.replace(".npy", "-dlib-1.npy"))
    for row in results:
        backend, _, arg = row["config"].partition(":")
        row["max_abs_diff_vs_dlib"] = float(np.abs(np.load(chips_path.replace(".npy", f"-{backend}-{arg}.npy")) - reference).max())
    best_dlib = max(r["faces_per_s"] for r in results if r["config"].startswith("dlib"))
    for row in results:
        row["speedup_vs_best_dlib"] = row["faces_per_s"] / best_dlib
    e2e = [] if args.skip_e2e else [row for backend in ("dlib", "onnxruntime", "torch") for row in end_to_end(data, backend, args.workers)]
    for row in e2e:
        print(row, flush=True)
    head = (f"Machine: {platform.machine()}, {args.workers} cores, Python {platform.python_version()}; "
            f"{len(reference)} real chips from {', '.join(CLIPS)}.\n")
    lines = ["# Embedding backends: dlib vs onnxruntime vs PyTorch (same network, same weights)", "", head,
             "| backend | batch | cores | faces/s | × best dlib | peak RSS (MB) | max abs diff vs dlib |",
             "|---|---|---|---|---|---|---|"]
    for r in results:
        backend, _, arg = r["config"].partition(":")
        batch = "1 (dlib loops)" if backend == "dlib" else arg
        lines.append(f"| {backend} | {batch} | {r['cores']} | {r['faces_per_s']:.1f} | {r['speedup_vs_best_dlib']:.1f} | "
                     f"{r['peak_rss_mb']:.0f} | {r['max_abs_diff_vs_dlib']:.1e} |")
    if e2e:
        lines += ["", "End to end, `facecluster run CLIP --embedder B --workers N --force` (wall time incl. start-up):", "",
                  "| clip | backend | wall (s) | embed stage (s) |", "|---|---|---|---|"]
        lines += [f"| {r['clip']} | {r['backend']} | {r['wall_s']:.1f} | {r['embed_s']:.1f} |" for r in e2e]
    out_dir = Path(__file__).parent / "results"
    write_markdown(out_dir / "embedder.md", "\n".join(lines), "bench_embedder.py")
    write_json(out_dir / "embedder.json", {"micro": results, "end_to_end": e2e}, "bench_embedder.py")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
