"""Which landmarks to align SFace's faces on, and SFace against dlib's network, on the dev suite's ground-truth tracks.

For every labelled clip of the suite, up to ``--per-track`` faces of each ground-truth track (evenly spread; tracks
labelled unsure or false left out) are embedded five ways: SFace aligned on landmarks from YuNet, CenterFace or
dlib's 5-point model, each run on the face's crop (:mod:`facecluster.faces.landmarks`), SFace on the box layout
alone (no landmark detector), and dlib's ResNet (today's chips). A track is the mean of its faces' unit vectors.
Per clip and method: track 1-NN identity (the nearest other track is the same person, over tracks whose person has
another track), same/different AUC over track pairs, and average linkage at its best threshold (B-cubed F over
faces, each track weighted by its faces; in-sample by construction: an upper bound, not a default's score).
Also: the share of faces whose landmarks the crop's detector found, the cost per face of each step, and the
median landmark layout in the box (``faces.landmarks.BOX_LAYOUT``).

    .venv/bin/python benchmarks/bench_alignment.py [--per-track 8] [--sets a,b]

Writes ``results/alignment.md`` and ``.json``; the vectors go to ``--work`` (default /tmp/bench_alignment) for reuse.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from provenance import write_json, write_markdown
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import squareform
from suite import load_suite, read_rows

from facecluster.clothing.distance import auc as pair_auc
from facecluster.faces.align import FaceAligner
from facecluster.faces.embed import OnnxRuntimeEmbedder
from facecluster.faces.embed.sface import SFaceEmbedder, align_chip
from facecluster.faces.landmarks import LandmarkFinder, box_landmarks
from facecluster.research.evaluate import EXCLUDED_LABELS
from facecluster.research.metrics import bcubed
from facecluster.video.decode import iter_frames

RESULTS = Path(__file__).resolve().parent / "results"
METHODS = ["sface_yunet", "sface_centerface", "sface_dlib", "sface_box", "dlib"]


def sample_faces(gt: Path, per_track: int) -> list[dict]:
    by_track: dict[int, list[dict]] = {}
    for row in read_rows(gt / "faces.csv"):
        if row["label"] in EXCLUDED_LABELS:
            continue
        by_track.setdefault(int(row["track_id"]), []).append(row)
    picked = []
    for rows in by_track.values():
        rows.sort(key=lambda r: int(r["frame"]))
        index = np.unique(np.round(np.linspace(0, len(rows) - 1, min(per_track, len(rows)))).astype(int))
        picked += [rows[i] for i in index]
    return picked


def embed_clip(video: Path, faces: list[dict], finders: dict, timing: dict) -> dict[str, np.ndarray]:
    sface = SFaceEmbedder(threads=2)
    dlib_net = OnnxRuntimeEmbedder(threads=2)
    aligner = FaceAligner()
    by_frame: dict[int, list[int]] = {}
    for i, row in enumerate(faces):
        by_frame.setdefault(int(row["frame"]), []).append(i)
    chips = {m: np.zeros((len(faces), 112, 112, 3), np.uint8) for m in METHODS if m != "dlib"}
    dlib_chips = np.zeros((len(faces), 150, 150, 3), np.uint8)
    layouts = []
    for frame in iter_frames(video, frames=set(by_frame)):
        if frame.index not in by_frame:
            continue
        rows = by_frame[frame.index]
        boxes = np.array([[float(faces[i][k]) for k in ("x1", "y1", "x2", "y2")] for i in rows], np.float32)
        for source, finder in finders.items():
            t = time.perf_counter()
            before = finder.found
            points = finder.find(frame.rgb, boxes)
            timing[f"landmarks_{source}"] = timing.get(f"landmarks_{source}", 0.0) + time.perf_counter() - t
            if source == "yunet" and finder.found - before == len(rows):
                size = boxes[:, 2:] - boxes[:, :2]
                layouts.append((points - boxes[:, None, :2]) / size[:, None, :])
            t = time.perf_counter()
            for j, i in enumerate(rows):
                chips[f"sface_{source}"][i] = align_chip(frame.rgb, points[j])
            timing["align"] = timing.get("align", 0.0) + time.perf_counter() - t
        for j, i in enumerate(rows):
            chips["sface_box"][i] = align_chip(frame.rgb, box_landmarks(boxes[j : j + 1])[0])
        t = time.perf_counter()
        dlib_chips[rows] = aligner.chips(frame.rgb, boxes)
        timing["dlib_chips"] = timing.get("dlib_chips", 0.0) + time.perf_counter() - t
    out = {}
    for method, stack in chips.items():
        t = time.perf_counter()
        out[method] = sface.embed(stack)
        timing["sface_embed"] = timing.get("sface_embed", 0.0) + time.perf_counter() - t
    t = time.perf_counter()
    out["dlib"] = dlib_net.embed(dlib_chips)
    timing["dlib_embed"] = timing.get("dlib_embed", 0.0) + time.perf_counter() - t
    out["layouts"] = np.concatenate(layouts) if layouts else np.zeros((0, 5, 2), np.float32)
    return out


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def score_tracks(vectors: np.ndarray, faces: list[dict], gt: Path) -> dict:
    track_of = np.array([int(r["track_id"]) for r in faces])
    tracks = np.unique(track_of)
    means = unit(np.stack([unit(vectors[track_of == t]).mean(0) for t in tracks]))
    rows = {int(r["track_id"]): r for r in read_rows(gt / "tracks.csv")}
    labels = np.array([rows[int(t)]["label"] for t in tracks])
    weights = np.array([int(rows[int(t)]["n_frames"]) for t in tracks])
    distance = np.clip(1.0 - means @ means.T, 0.0, 2.0)
    np.fill_diagonal(distance, np.inf)
    nearest = np.argmin(distance, axis=1)
    has_other = np.array([(labels == lab).sum() > 1 for lab in labels])
    nn = float(np.mean(labels[nearest][has_other] == labels[has_other])) if has_other.any() else float("nan")
    iu = np.triu_indices(len(tracks), 1)
    same = (labels[:, None] == labels[None, :])[iu]
    d = distance[iu]
    # P(a different-person pair lies farther apart than a same-person pair), ties halved.
    auc = pair_auc(d[same], d[~same]) if same.any() and (~same).any() else float("nan")
    best, best_t = 0.0, float("nan")
    if len(tracks) > 1:
        np.fill_diagonal(distance, 0.0)
        tree = linkage(squareform(distance, checks=False), method="average")
        truth = np.repeat(labels, weights)
        heights = np.unique(tree[:, 2])
        for t in np.concatenate([[0.0], (heights[:-1] + heights[1:]) / 2, heights[-1:] + 1e-9]):
            pred = np.repeat(fcluster(tree, t, criterion="distance"), weights)
            f = bcubed(truth, pred)[2]
            if f > best:
                best, best_t = f, float(t)
    else:
        best = 1.0
    return {"nn": nn, "auc": auc, "best_f": best, "best_threshold": best_t, "tracks": int(len(tracks))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-track", type=int, default=8)
    parser.add_argument("--sets", default="")
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench_alignment"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    wanted = set(filter(None, args.sets.split(",")))
    finders = {s: LandmarkFinder(s) for s in ("yunet", "centerface", "dlib")}
    timing: dict[str, float] = {}
    results, layouts, n_faces, found_counts = {}, [], 0, {}
    for vs in load_suite().videos:
        if vs.gt is None or (wanted and vs.name not in wanted):
            continue
        faces = sample_faces(vs.gt, args.per_track)
        cache = args.work / f"{vs.name}_{args.per_track}.npz"
        if cache.is_file():
            vectors = dict(np.load(cache))
        else:
            clip_timing: dict[str, float] = {}
            before = {s: (f.found, f.asked) for s, f in finders.items()}
            vectors = embed_clip(vs.video, faces, finders, clip_timing)
            for s, f in finders.items():
                vectors[f"found_{s}"] = np.array([f.found - before[s][0], f.asked - before[s][1]])
            for k, v in clip_timing.items():
                vectors[f"seconds_{k}"] = np.array(v)
            np.savez(cache, **vectors)
        n_faces += len(faces)
        for k in vectors:
            if k.startswith("seconds_"):
                timing[k[8:]] = timing.get(k[8:], 0.0) + float(vectors[k])
            if k.startswith("found_"):
                counts = found_counts.setdefault(k[6:], [0, 0])
                counts[0] += int(vectors[k][0])
                counts[1] += int(vectors[k][1])
        layouts.append(vectors["layouts"])
        results[vs.name] = {m: score_tracks(vectors[m], faces, vs.gt) for m in METHODS}
        print(vs.name, {m: round(r["best_f"], 3) for m, r in results[vs.name].items()}, flush=True)
    found = {s: c[0] / max(c[1], 1) for s, c in found_counts.items()}
    per_face_ms = {k: 1000 * v / max(n_faces, 1) for k, v in timing.items()}
    layout = np.median(np.concatenate(layouts), axis=0).round(3).tolist() if layouts else None
    write_json(RESULTS / "alignment.json", {"per_track": args.per_track, "sets": results, "landmarks_found": found,
                                            "ms_per_face": per_face_ms, "box_layout_median": layout}, "bench_alignment.py")
    lines = ["# Alignment and network on the dev suite's ground-truth tracks", "",
             f"`benchmarks/bench_alignment.py --per-track {args.per_track}`: up to {args.per_track} faces a ground-truth "
             "track, a track = the mean of its faces' unit vectors, cosine distance. 1-NN: a track's nearest other track "
             "is the same person; AUC: same/different over track pairs; best-F: average linkage at its best threshold, "
             "B-cubed F over faces (in-sample by construction: an upper bound).", ""]
    for metric, title in (("nn", "track 1-NN identity"), ("auc", "same/different AUC"), ("best_f", "average linkage, best threshold, B-cubed F")):
        lines += [f"## {title}", "", "| set | " + " | ".join(METHODS) + " |", "|---|" + "---|" * len(METHODS)]
        for name, r in results.items():
            lines.append(f"| {name} | " + " | ".join(f"{r[m][metric]:.3f}" for m in METHODS) + " |")
        means = [np.nanmean([r[m][metric] for r in results.values()]) for m in METHODS]
        lines += ["| **mean** | " + " | ".join(f"**{v:.3f}**" for v in means) + " |", ""]
    lines += ["## Best thresholds (cosine distance)", "", "| set | " + " | ".join(METHODS) + " |", "|---|" + "---|" * len(METHODS)]
    for name, r in results.items():
        lines.append(f"| {name} | " + " | ".join(f"{r[m]['best_threshold']:.2f}" for m in METHODS) + " |")
    lines += ["", "Faces whose landmarks the crop's detector found: " + ", ".join(f"{s} {v:.3f}" for s, v in found.items()),
              "", "Cost a face (ms, 2 cores; sface_embed covers the four SFace variants): " + ", ".join(f"{k} {v:.1f}" for k, v in per_face_ms.items()),
              "", f"Median YuNet landmarks in the box (fractions of its width, height): {layout}", ""]
    write_markdown(RESULTS / "alignment.md", "\n".join(lines), "bench_alignment.py")


if __name__ == "__main__":
    main()
