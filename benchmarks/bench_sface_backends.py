"""SFace on its two backends, OpenVINO (in f32, and in bf16 where the CPU runs it) and OpenCV's dnn: time a face and how
far apart their vectors are.

Chips: the aligned chips of real faces (the first ``--faces`` faces a default run of a dev-suite clip embeds, from
its ``dev_suite.py`` run folder ``--work``). For each backend and core count (``--threads``): milliseconds of wall
time a face, best of ``--reps`` passes over all the chips through :class:`SFaceEmbedder`; and the largest difference
of each backend's vectors from OpenCV's on one core (absolute, relative to the vector's largest component, and the
smallest cosine between the two), and whether a backend's vectors are the same bit for bit whatever its core count. Writes ``results/sface_backends.md``.

    .venv/bin/python benchmarks/bench_sface_backends.py --work /tmp/ds/default [--clip sweden] [--faces 320]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from provenance import write_markdown
from suite import load_suite

from facecluster.config import PipelineConfig
from facecluster.faces.embed.sface import SFaceAligner, SFaceEmbedder, default_precision
from facecluster.pipeline.video import run_video
from facecluster.video.decode import iter_frames

RESULTS = Path(__file__).resolve().parent / "results"


def real_chips(clip: str, work: Path, count: int) -> np.ndarray:
    """(count, 112, 112, 3) uint8: the chips of the first ``count`` faces a default run of ``clip`` embeds."""
    v = load_suite().by_name(clip)
    run = run_video(v.video, work / clip, PipelineConfig(workers=2))
    rows = np.sort(run.embeddings.rows)[:count]
    by_frame: dict[int, list[int]] = {}
    for r in rows.tolist():
        by_frame.setdefault(int(run.detections.frames[r]), []).append(r)
    aligner, chips = SFaceAligner(), []
    for frame in iter_frames(v.video, frames=set(by_frame)):
        chips.append(aligner.chips(frame.rgb, run.detections.boxes[by_frame[frame.index]]))
    return np.concatenate(chips)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, required=True, help="a dev_suite.py run folder")
    ap.add_argument("--clip", default="sweden")
    ap.add_argument("--faces", type=int, default=320)
    ap.add_argument("--threads", default="1,2")
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    chips = real_chips(args.clip, args.work, args.faces)
    reference = SFaceEmbedder(threads=1, backend="opencv").embed(chips)
    scale = np.abs(reference).max(axis=1)
    lines = ["# SFace's backends", "", f"{len(chips)} chips of real faces ({args.clip}); wall time a face, best of "
             f"{args.reps} passes; differences from OpenCV's vectors on one core.", "",
             "| backend | precision | cores | ms a face (wall) | largest difference | relative | smallest cosine | same bits as on 1 core |",
             "|---|---|---|---|---|---|---|---|"]
    runs = [("openvino", "f32"), ("opencv", "f32")]
    if default_precision("openvino") != "f32":
        runs.insert(0, ("openvino", "auto"))
    for backend, precision in runs:
        first = None
        for threads in (int(t) for t in args.threads.split(",")):
            embedder = SFaceEmbedder(threads=threads, backend=backend, precision=precision)
            embedder.embed(chips[:32])  # warm up
            best = float("inf")
            for _ in range(args.reps):
                t0 = time.perf_counter()
                vectors = embedder.embed(chips)
                best = min(best, time.perf_counter() - t0)
            first = vectors if first is None else first
            diff = np.abs(vectors - reference).max(axis=1)
            cosine = (vectors * reference).sum(1) / np.linalg.norm(vectors, axis=1) / np.linalg.norm(reference, axis=1)
            lines.append(f"| {backend} | {embedder.precision} | {threads} | {1000 * best / len(chips):.2f} | {diff.max():.1e} | "
                         f"{(diff / scale).max():.1e} | {cosine.min():.6f} | {'yes' if np.array_equal(vectors, first) else 'no'} |")
            print(lines[-1], flush=True)
    write_markdown(RESULTS / "sface_backends.md", "\n".join(lines), "bench_sface_backends.py")


if __name__ == "__main__":
    main()
