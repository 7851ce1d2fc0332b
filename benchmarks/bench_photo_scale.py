"""Photo libraries at scale: cluster_embeddings on 10k–1M vectors, the labelled sets, and `images` on 20,000 photos.

Three parts, each measured in a fresh child process (wall time and peak RSS of that
process alone, the inputs' loading included):

- ``scale``: ``facecluster.cluster_embeddings`` on synthetic libraries of N faces drawn
  around real dlib descriptors (benchmarks/synthetic_faces.py), cannot-links between
  random pairs of faces of different people (one per four faces); B-cubed F against the
  generated identities, and agreement with the dense average linkage (B-cubed F of one
  partition against the other) where the dense method still runs (N ≤ 4,000).
- ``labelled``: B-cubed F and people found on the labelled sets (one face per photo of
  five_celebrities and celebs11, the Jurassic Park dlib vectors, the FaceNet-128 vectors),
  K unknown, by the dense average linkage (the method before this change), the sparse
  20-neighbour graph forced (never complete), and ``auto`` (what ``images`` and ``cluster`` now use).
- ``images``: ``facecluster images`` on a folder of 20,000 small photos generated from the
  labelled crops (random crops, flips, sizes 140–260 px, JPEG), written to a temporary
  folder and deleted after; then a rerun on the same folder (every photo cached).

Writes benchmarks/results/photo_scale.md (and .json).

    .venv/bin/python benchmarks/bench_photo_scale.py [--sizes 10000 100000 1000000] [--parts scale labelled images]
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
WORK = Path(tempfile.gettempdir()) / "facecluster-bench-photo-scale"


def peak_rss_gb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from the parent across fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1e6  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6


def child(args: list[str]) -> dict:
    """Run this script with ``args`` in a fresh process; its last stdout line is a JSON result."""
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{args}: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def library_file(n: int) -> Path:
    """The synthetic library of n faces, generated once into WORK."""
    from datasets import data_root
    from synthetic_faces import library, real_vectors

    path = WORK / f"library-{n}.npz"
    if not path.is_file():
        WORK.mkdir(parents=True, exist_ok=True)
        X_real, y_real = real_vectors(data_root(), WORK)
        X, y, pairs = library(X_real, y_real, n, seed=0)
        np.savez(path, X=X, y=y, pairs=pairs)
    return path


def one_scale(n: int, method: str) -> dict:
    from facecluster import cluster_embeddings
    from facecluster.research.metrics import bcubed

    with np.load(library_file(n)) as data:
        X, y, pairs = data["X"], data["y"], data["pairs"]
    t0 = time.perf_counter()
    labels = cluster_embeddings(X, cannot_link=pairs, method=method)
    seconds = time.perf_counter() - t0
    np.save(WORK / f"labels-{n}-{method}.npy", labels)
    return {"n": n, "method": method, "seconds": round(seconds, 1), "peak_rss_gb": round(peak_rss_gb(), 2),
            "people": int(labels.max()) + 1, "true_people": int(len(np.unique(y))), "cannot_links": int(len(pairs)),
            "bcubed_f": round(float(bcubed(y, labels)[2]), 4)}


def one_labelled() -> dict:
    from bench_stop_rule import load
    from datasets import data_root

    from facecluster.cluster import graph as graph_mod
    from facecluster.cluster.embeddings import make_embedding_clusterer
    from facecluster.cluster.registry import FALLBACK

    complete_limit = graph_mod.COMPLETE_LIMIT
    from facecluster.research.metrics import all_scores

    rows = {}
    for name, s in load(data_root(), WORK).items():
        if s["kind"] != "faces":
            continue
        row = {"faces": len(s["X"])}
        for method in ("average", "graph", "auto"):
            # "graph": the sparse 20-neighbour graph even on these small sets (where auto would not use it, and where the
            # graph would otherwise be complete), to show what the approximation costs.
            graph_mod.COMPLETE_LIMIT = 0 if method == "graph" else complete_limit
            model = make_embedding_clusterer(len(s["X"]), method=method, fallback_threshold=FALLBACK["faces"])
            scores = all_scores(s["y"], model.fit_predict(s["X"], cannot_link=s["cannot"]))
            row[method] = {"bcubed_f": round(scores["bcubed_f"], 4), "people": scores["num_people_pred"]}
        rows[name] = row
    return rows


def make_photo_folder(folder: Path, count: int, seed: int = 0) -> None:
    """``count`` small JPEGs cut from the labelled photos (five_celebrities, celebs11): random crops of 80–100 %
    of each side, horizontal flips, longer side 140–260 px."""
    from datasets import data_root
    from PIL import Image, ImageOps

    rng = np.random.default_rng(seed)
    data = data_root() / "faces"
    sources = sorted(p for p in (data / "five_celebrities" / "train").glob("*/*") if p.is_file())
    sources += sorted(p for p in (data / "celebs11").glob("*/*") if p.is_file())
    folder.mkdir(parents=True, exist_ok=True)
    images = {}
    for i in range(count):
        src = sources[int(rng.integers(len(sources)))]
        if src not in images:
            with Image.open(src) as img:
                images[src] = img.convert("RGB")
        img = images[src]
        w, h = img.size
        cw, ch = int(w * rng.uniform(0.8, 1.0)), int(h * rng.uniform(0.8, 1.0))
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        out = img.crop((x, y, x + cw, y + ch))
        if rng.random() < 0.5:
            out = ImageOps.mirror(out)
        side = int(rng.integers(140, 261))
        scale = side / max(out.size)
        out = out.resize((max(1, int(out.width * scale)), max(1, int(out.height * scale))))
        sub = folder / f"{i // 1000:03d}"
        sub.mkdir(exist_ok=True)
        out.save(sub / f"{i:06d}.jpg", quality=85)


def one_images(folder: Path, out: Path) -> dict:
    from facecluster.jobs.photos import process_photos
    from facecluster.threads import torch_threads  # noqa: F401  (the CLI's defaults: all cores)

    t0 = time.perf_counter()
    outcome = process_photos(folder, out, workers=2, force=True)
    return {"photos": outcome.num_photos, "faces": outcome.num_faces, "people": outcome.num_people,
            "seconds": round(time.perf_counter() - t0, 1), "peak_rss_gb": round(peak_rss_gb(), 2)}


def main() -> None:
    sys.path.insert(0, str(HERE))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--parts", nargs="+", default=["scale", "labelled", "images"], choices=["scale", "labelled", "images"])
    parser.add_argument("--photos", type=int, default=20_000)
    parser.add_argument("--one", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        kind = args.one[0]
        if kind == "scale":
            result = one_scale(int(args.one[1]), args.one[2])
        elif kind == "labelled":
            result = one_labelled()
        else:
            result = one_images(Path(args.one[1]), Path(args.one[2]))
        print(json.dumps(result))
        return

    from provenance import write_json, write_markdown

    results: dict = {}
    lines = ["# Photo libraries at scale (issue 20)", "", "This machine: 2 cores. Each row ran in its own process; "
             "peak RSS is that process's, the inputs' loading included.", ""]
    if "scale" in args.parts:
        rows = []
        for n in sorted(set(args.sizes) | {2_000, 4_000}):
            library_file(n)
            row = child(["--one", "scale", str(n), "graph"])
            if n <= 4_000:
                from facecluster.research.metrics import bcubed

                dense = child(["--one", "scale", str(n), "average"])
                agree = bcubed(np.load(WORK / f"labels-{n}-average.npy"), np.load(WORK / f"labels-{n}-graph.npy"))[2]
                row.update({"dense_seconds": dense["seconds"], "dense_bcubed_f": dense["bcubed_f"], "agreement": round(float(agree), 4)})
            rows.append(row)
            print(row, flush=True)
        results["scale"] = rows
        lines += ["## cluster_embeddings on synthetic libraries (128-d dlib-like vectors, K unknown)", "",
                  "| faces | cannot-links | people (true) | graph: wall s | peak RSS GB | B-cubed F | dense: wall s | B-cubed F | graph vs dense |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            lines.append(f"| {r['n']:,} | {r['cannot_links']:,} | {r['people']} ({r['true_people']}) | {r['seconds']} | {r['peak_rss_gb']} | "
                         f"{r['bcubed_f']:.3f} | {r.get('dense_seconds', '–')} | {r.get('dense_bcubed_f', '–')} | {r.get('agreement', '–')} |")
        lines.append("")
    if "labelled" in args.parts:
        rows = child(["--one", "labelled"])
        results["labelled"] = rows
        lines += ["## Labelled sets, K unknown: B-cubed F (people found)", "",
                  "dense average = the method before this change; graph = the sparse 20-neighbour graph forced; auto = dense up to 2,000 faces, graph beyond.", "",
                  "| set | faces | dense average | graph | auto |", "|---|---|---|---|---|"]
        for name, r in rows.items():
            cells = " | ".join(f"{r[m]['bcubed_f']:.3f} ({r[m]['people']})" for m in ("average", "graph", "auto"))
            lines.append(f"| {name} | {r['faces']} | {cells} |")
        lines.append("")
    if "images" in args.parts:
        folder, out = WORK / "photos", WORK / "images-out"
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
        t0 = time.perf_counter()
        make_photo_folder(folder, args.photos)
        made = time.perf_counter() - t0
        first = child(["--one", "images", str(folder), str(out)])
        rerun = child(["--one", "images", str(folder), str(out)])
        results["images"] = {"first": first, "rerun": rerun, "generate_seconds": round(made, 1)}
        lines += [f"## `images` on {args.photos:,} generated photos (140–260 px JPEGs from the labelled crops)", "",
                  "| run | photos | faces | people | wall s | peak RSS GB |", "|---|---|---|---|---|---|"]
        for label, r in (("first", first), ("rerun (all cached)", rerun)):
            lines.append(f"| {label} | {r['photos']:,} | {r['faces']:,} | {r['people']} | {r['seconds']} | {r['peak_rss_gb']} |")
        lines.append("")
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(out, ignore_errors=True)
    results_dir = HERE / "results"
    write_markdown(results_dir / "photo_scale.md", "\n".join(lines), "bench_photo_scale.py")
    write_json(results_dir / "photo_scale.json", results, "bench_photo_scale.py")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
