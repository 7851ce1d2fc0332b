"""``facecluster images``: a photo folder from files to written outputs."""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from facecluster.cache import remove_stale_temporaries
from facecluster.cluster.linking import SourcePeople
from facecluster.faces.embed import network_id, resolve_embedder
from facecluster.outputs.folders import check_output_folder


@dataclass
class PhotoOutcome:
    folder: Path
    num_photos: int
    num_faces: int
    num_people: int
    skipped: list[tuple[str, str]]
    seconds: float
    people: SourcePeople | None = None  # for linking albums


def process_photos(root: str | Path, out_root: str | Path, *, num_people: int | None = None, cluster: str = "average",
                   distance_threshold: float | None = None, learn: str = "none", seed: int = 0, workers: int = 1,
                   network: str = "sface", embedder: str = "auto", export_folders: bool = False, copy: bool = False, parquet: bool = False,
                   force: bool = False, inputs: list[Path] = (), hook=None, warn=None) -> PhotoOutcome:
    """``facecluster images``: every face in the photos under ``root``, clustered into people, written to
    ``out_root/<root's name>/``. That folder is checked first (:func:`~facecluster.outputs.folders.check_output_folder`):
    never inside ``root`` or another of the run's ``inputs``, no links, no files of the user's unless ``force``."""
    from facecluster.outputs.photos import write_photo_outputs
    from facecluster.pipeline.photos import cluster_photo_faces, embed_photos

    t0 = time.perf_counter()
    root = Path(root)
    folder = Path(out_root) / (root.resolve().name or "photos")
    check_output_folder(folder, force, inputs=[root, *inputs])
    remove_stale_temporaries(folder)  # what a killed run left half-written
    faces = embed_photos(root, workers=workers, network=network, embedder=embedder, cache_dir=folder / "cache", hook=hook, warn=warn)
    t1 = time.perf_counter()
    person = cluster_photo_faces(faces, num_people=num_people, method=cluster, threshold=distance_threshold, learn=learn, seed=seed,
                                 network=network)
    faces.timings["cluster"] = time.perf_counter() - t1
    params = {"num_people": num_people, "cluster": cluster, "distance_threshold": distance_threshold, "learn": learn, "seed": seed,
              "detector": "centerface", "network": network_id(network),
              "backend": resolve_embedder(embedder, network=network)}
    write_photo_outputs(faces, person, folder, params, export_folders=export_folders, copy=copy, parquet=parquet)
    from facecluster.outputs.people import people_of_photos

    return PhotoOutcome(folder, len(faces.files), len(person), int(person.max()) + 1 if len(person) else 0, faces.skipped,
                        time.perf_counter() - t0, people_of_photos(faces.vectors, person, folder.name, network))
