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
from facecluster.faces.embed import NETWORK_ID
from facecluster.gallery import Gallery, match_to_gallery
from facecluster.jobs.videos import VideoOutcome
from facecluster.outputs.report import render_report


def open_gallery(path: str | Path) -> Gallery:
    """The gallery at ``path`` (created if absent); one-line error for a file that cannot be one."""
    return Gallery(path, NETWORK_ID)


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
                   "faces": int(src.faces[k]), "screen_time_s": float(src.screen_time_s[k])}
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
                        screen_time_s=src.screen_time_s[keep])
