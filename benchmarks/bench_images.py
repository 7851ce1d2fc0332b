"""`facecluster images` on the labelled photo folders of ../shared/data/faces.

Each photo's label is the name of the folder it sits in; a photo may show other
people too, so only its largest face is scored. Reports WCP, NMI (sqrt), B-cubed F
and the estimated vs true number of people, with K estimated and with K given.
Writes benchmarks/results/images.md.

    .venv/bin/python benchmarks/bench_images.py [--data DIR] [--work DIR]
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
from datasets import largest_face_per_photo
from provenance import write_markdown

from facecluster.pipeline.photos import cluster_photo_faces, embed_photos
from facecluster.research.metrics import all_scores

SETS = {"five_celebrities": "faces/five_celebrities", "celebs11": "faces/celebs11"}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=os.environ.get("FACECLUSTER_DATA", "../shared/data"))
    args = ap.parse_args()
    lines = ["| photos | faces found / photos | K | learn | WCP | NMI | B-cubed F | people est. / true | s |", "|---|---|---|---|---|---|---|---|---|"]
    for name, rel in SETS.items():
        t0 = time.perf_counter()
        faces = embed_photos(Path(args.data) / rel, workers=os.cpu_count() or 1)
        embed_s = time.perf_counter() - t0
        scored = largest_face_per_photo(faces.face_file, faces.boxes)
        truth = np.asarray([Path(faces.files[faces.face_file[i]]).parent.name for i in scored])
        k_true = len(np.unique(truth))
        for k, learn in ((None, "none"), (k_true, "none"), (None, "ssiam"), (k_true, "ssiam")):
            person = cluster_photo_faces(faces, num_people=k, learn=learn)
            s = all_scores(truth, person[scored])
            lines.append(
                f"| {name} | {len(faces.vectors)} / {len(faces.files)} | {'given' if k else 'estimated'} | {learn} | {s['wcp']:.3f} | "
                f"{s['nmi']:.3f} | {s['bcubed_f']:.3f} | {int(person.max()) + 1} / {k_true} | {embed_s:.0f} |"
            )
            print(lines[-1], flush=True)
    out = Path(__file__).parent / "results" / "images.md"
    out.parent.mkdir(exist_ok=True)
    write_markdown(out, "# facecluster images on labelled photo folders (largest face per photo scored)\n\n" + "\n".join(lines), "bench_images.py")


if __name__ == "__main__":
    main()
