"""A run's people recognised against a people gallery, and the gallery taught what the run found.

After the videos of a run finish (in the client, also for Dask runs: workers send
their people back and never touch the gallery), each video in input order:

1. its people are matched to the gallery's people (:func:`facecluster.gallery.match_to_gallery`);
2. the gallery records them (matched people get a reference and an appearance, the
   others become new, unnamed gallery people), replacing what an earlier run of the
   same video recorded;
3. names the user gave in the review page (``corrections.json``, already in
   ``clusters.json``) become the gallery person's name;
4. the video's ``clusters.json`` gets each person's ``gallery_id`` and, where the
   gallery person has one, ``name``; its report is re-rendered with those names.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from facecluster.cache import atomic_write_text
from facecluster.faces.embed import DEFAULT_NETWORK, network_id
from facecluster.gallery import Gallery, match_to_gallery
from facecluster.jobs.videos import VideoOutcome
from facecluster.outputs.report import render_report


def open_gallery(path: str | Path, network: str | None = DEFAULT_NETWORK) -> Gallery:
    """The gallery at ``path`` (created if absent) for ``network``'s vectors (None: whatever it holds, to list or
    name its people); one-line error for a file that cannot be one or holds another network's vectors."""
    return Gallery(path, None if network is None else network_id(network))


def face_images(folder: Path, person: int) -> list[bytes]:
    """JPEG bytes of up to FACES_PER_REFERENCE of a person's face crops in a video's output folder (the report's)."""
    from facecluster.gallery.store import FACES_PER_REFERENCE

    paths = [folder / "chips" / f"person_{person}" / f"{n}.jpg" for n in range(FACES_PER_REFERENCE)]
    return [p.read_bytes() for p in paths if p.is_file()]


def describe_face_images(images: list[bytes], network: str = DEFAULT_NETWORK) -> np.ndarray:
    """(128,) L2-normalised mean descriptor by ``network`` of stored face crops (JPEG bytes, each a square with the
    face in the middle, FACE_CONTEXT × its box's longer side: :func:`facecluster.pipeline.crops.crop_face`)."""
    import cv2

    from facecluster.distances import l2_normalize
    from facecluster.faces.embed import embed_chip_batches, make_aligner
    from facecluster.gallery.store import FACE_CONTEXT

    aligner = make_aligner(network)
    chips = []
    for data in images:
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if bgr is None:
            continue
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        side = rgb.shape[0]
        half = side / FACE_CONTEXT / 2
        box = np.array([[side / 2 - half, side / 2 - half, side / 2 + half, side / 2 + half]], np.float32)
        chips.append(aligner.chips(rgb, box))
    if not chips:
        raise ValueError("no readable face crop")
    vectors = np.concatenate(list(embed_chip_batches([np.concatenate(chips)], network=network)))
    return l2_normalize(l2_normalize(vectors).mean(0, keepdims=True))[0].astype(np.float32)


def reembed_gallery(path: str | Path, network: str = DEFAULT_NETWORK) -> dict:
    """Move the gallery at ``path`` to ``network``'s vectors, names kept (:meth:`Gallery.reembed`)."""
    gallery = Gallery(path, None)
    if gallery.stored_network == network_id(network):
        return {"moved": 0, "dropped": 0, "from": gallery.stored_network, "to": gallery.stored_network}
    return gallery.reembed(network_id(network), lambda images: describe_face_images(images, network))


def source_key(video: Path) -> str:
    """How the gallery names a video: its absolute path."""
    return str(Path(video).resolve())


def gallery_reference(gallery: Path, folder: Path) -> str:
    """How ``folder/clusters.json`` names its gallery: relative (``../people.db``) when the gallery lies in the
    run's OUT (the folder's parent), so that outputs do not depend on where OUT is; else the absolute path."""
    gallery, out_root = Path(gallery).resolve(), Path(folder).resolve().parent
    return f"../{gallery.relative_to(out_root).as_posix()}" if out_root in gallery.parents else str(gallery)


def apply_gallery(gallery: Gallery, outcomes: list[VideoOutcome]) -> dict[tuple[str, int], str]:
    """Match, record and annotate every finished video (see the module docstring).

    Returns (output folder name, person id) → gallery name, for the people who have one."""
    named: dict[tuple[str, int], str] = {}
    for outcome in outcomes:
        if outcome.error or outcome.people is None:
            continue
        src = outcome.people
        ids, vectors = gallery.person_vectors()
        usable = (src.faces > 0) & (np.linalg.norm(src.features, axis=1) > 0)
        matched = match_to_gallery(ids, vectors, _subset(src, usable)) if usable.any() else {}
        people = [{"person": int(pid), "gallery_id": matched.get(int(pid)), "vector": src.features[k],
                   "faces": int(src.faces[k]), "screen_time_s": float(src.screen_time_s[k]),
                   "images": face_images(outcome.folder, int(pid))}
                  for k, pid in enumerate(src.person_ids) if usable[k]]
        assigned = gallery.record_source(source_key(outcome.video), people)
        doc_path = outcome.folder / "clusters.json"
        doc = json.loads(doc_path.read_text(encoding="utf-8"))
        for person in doc.get("people", []):  # a name there now is the user's (corrections.json): the gallery learns it
            gid = assigned.get(int(person["id"]))
            if person.get("name") and gid is not None:
                gallery.rename(gid, person["name"])
        names = gallery.names()
        for person in doc.get("people", []):
            gid = assigned.get(int(person["id"]))
            person.pop("name", None)
            person["gallery_id"] = gid
            if gid is not None and gid in names:
                person["name"] = names[gid]
                named[(outcome.folder.name, int(person["id"]))] = names[gid]
        doc["gallery"] = gallery_reference(gallery.path, outcome.folder)
        render_report(outcome.folder, doc)
        atomic_write_text(doc_path, json.dumps(doc, indent=2) + "\n")
    return named


def _subset(src, keep: np.ndarray):
    from facecluster.cluster.linking import SourcePeople

    return SourcePeople(source=src.source, person_ids=src.person_ids[keep], features=src.features[keep], faces=src.faces[keep],
                        screen_time_s=src.screen_time_s[keep], network=src.network)
