"""Linking people across albums: celebs11 split into three albums.

Each person's photos are dealt round-robin into albums A, B, C (so every album
holds different photos of the same people). Each album is clustered on its own
(as `facecluster images` does, K estimated), then the albums' people are linked
(facecluster.linking). Collection identities are scored against the folder names
on the largest face of each photo (WCP, NMI, B-cubed F, people estimated / true),
for a sweep of link thresholds. Writes benchmarks/results/linking.md.

    .venv/bin/python benchmarks/bench_linking.py [--data DIR]
"""
from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from datasets import largest_face_per_photo
from provenance import write_markdown

from facecluster.cluster.linking import LINK_THRESHOLD, link_sources
from facecluster.outputs.people import people_of_photos
from facecluster.pipeline.photos import cluster_photo_faces, embed_photos
from facecluster.research.metrics import all_scores

THRESHOLDS = ["auto", 0.3, 0.35, 0.4, 0.45, 0.5, 0.55]


def album_of_files(files: list[str], albums: int = 3) -> np.ndarray:
    """Album of each photo: each person's photos, in name order, dealt round-robin."""
    album = np.zeros(len(files), np.int64)
    seen: dict[str, int] = {}
    for i in sorted(range(len(files)), key=lambda i: files[i]):
        person = Path(files[i]).parent.name
        album[i] = seen.get(person, 0) % albums
        seen[person] = seen.get(person, 0) + 1
    return album


def subset(faces, keep_files: np.ndarray):
    """The faces of the photos in ``keep_files`` (indices into faces.files), as their own PhotoFaces."""
    new_index = -np.ones(len(faces.files), np.int64)
    new_index[keep_files] = np.arange(len(keep_files))
    rows = np.flatnonzero(new_index[faces.face_file] >= 0)
    return replace(faces, files=[faces.files[i] for i in keep_files], face_file=new_index[faces.face_file[rows]],
                   face_index=faces.face_index[rows], boxes=faces.boxes[rows], scores=faces.scores[rows], vectors=faces.vectors[rows])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("FACECLUSTER_DATA", "../shared/data"))
    args = ap.parse_args()
    t0 = time.perf_counter()
    faces = embed_photos(Path(args.data) / "faces" / "celebs11", workers=len(os.sched_getaffinity(0)))
    embed_s = time.perf_counter() - t0
    album = album_of_files(faces.files)
    albums, sources, truths = [], [], []
    for a in range(3):
        part = subset(faces, np.flatnonzero(album == a))
        person = cluster_photo_faces(part)
        scored = largest_face_per_photo(part.face_file, part.boxes)
        albums.append((part, person, scored))
        sources.append(people_of_photos(part.vectors, person, "ABC"[a]))
        truths.append(np.asarray([Path(part.files[part.face_file[i]]).parent.name for i in scored]))
    truth = np.concatenate(truths)
    lines = [
        "# Linking people across albums: celebs11 in three albums",
        "",
        f"{len(faces.files)} photos of 11 people dealt round-robin per person into albums A, B, C; each album clustered on "
        f"its own (K estimated), then people linked across albums (average linkage of person mean descriptors, never "
        f"within an album). Scored on the largest face of each photo against the folder names. Embedding: {embed_s:.0f} s.",
        "",
        "Per album (before linking): " + "; ".join(
            f"{'ABC'[a]}: {len(p.files)} photos, {int(pe.max()) + 1} people, B-cubed F "
            f"{all_scores(truths[a], pe[sc])['bcubed_f']:.3f}" for a, (p, pe, sc) in enumerate(albums)),
        "",
        "| link threshold | WCP | NMI | B-cubed F | people est. / true |",
        "|---|---|---|---|---|",
    ]
    for threshold in THRESHOLDS:
        identity, distance = link_sources(sources, threshold)
        offsets = np.cumsum([0] + [len(s.person_ids) for s in sources])
        pred = np.concatenate([identity[offsets[a] + albums[a][1][albums[a][2]]] for a in range(3)])
        s = all_scores(truth, pred)
        mark = " (default)" if threshold == LINK_THRESHOLD else ""
        shown = f"auto = {distance:.3f}" if threshold == "auto" else threshold
        lines.append(f"| {shown}{mark} | {s['wcp']:.3f} | {s['nmi']:.3f} | {s['bcubed_f']:.3f} | {int(identity.max()) + 1} / 11 |")
        print(lines[-1], flush=True)
    out = Path(__file__).parent / "results" / "linking.md"
    write_markdown(out, "\n".join(lines), "bench_linking.py")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
