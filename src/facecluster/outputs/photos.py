"""Files written for a photo collection into ``OUT/<folder name>/``.

- ``faces.csv``: file, face_index, x1, y1, x2, y2, score, person
- ``clusters.json``: ``kind: photos``, parameters, skipped files, and per person: id,
  number of faces and photos, the photo files, chip file names
- ``chips/person_<id>/<n>.jpg``, ``report.html``, and with ``export_folders`` one
  folder per person under ``people/`` holding links to (or copies of) the photos.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import cv2
import numpy as np

from facecluster._version import __version__
from facecluster.cache import atomic_write_text
from facecluster.errors import InputError
from facecluster.faces.embed import network_id
from facecluster.outputs.chips import CHIPS_PER_PERSON
from facecluster.outputs.folders import OutputFiles
from facecluster.outputs.report import render_report
from facecluster.outputs.tables import photo_faces_csv
from facecluster.outputs.uncertainty import close_people
from facecluster.pipeline.crops import crop_face
from facecluster.pipeline.photos import PhotoFaces, load_photo


def write_photo_outputs(faces: PhotoFaces, person: np.ndarray, folder: str | Path, parameters: dict, *,
                        export_folders: bool = False, copy: bool = False, parquet: bool = False) -> Path:
    """Every output file of a photo collection into ``folder``; what the previous run wrote
    there is removed first (and nothing else). Returns the clusters.json path, written last."""
    folder = Path(folder)
    files = OutputFiles(folder)
    marker = folder / "clusters.json"
    marker.unlink(missing_ok=True)
    files.remove_previous()
    files.claim("faces.csv", "timings.json", "report.html", "clusters.json", *(["faces.parquet"] if parquet else []))
    atomic_write_text(folder / "faces.csv", photo_faces_csv(faces, person))
    if parquet:
        from facecluster.outputs.parquet import write_photo_parquet

        write_photo_parquet(faces, person, folder / "faces.parquet")
    P = int(person.max()) + 1 if len(person) else 0
    best = {p: (rows := np.flatnonzero(person == p))[np.argsort(-faces.scores[rows], kind="stable")][:CHIPS_PER_PERSON]
            for p in range(P)}
    files.claim(*(f"chips/person_{p}/{n}.jpg" for p in range(P) for n in range(len(best[p]))))  # one manifest update
    people = []
    for p in range(P):
        rows = np.flatnonzero(person == p)
        chips = []
        for n, r in enumerate(best[p]):
            rgb = load_photo(faces.root / faces.files[faces.face_file[r]])
            rel = f"chips/person_{p}/{n}.jpg"
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / rel), cv2.cvtColor(crop_face(rgb, faces.boxes[r]), cv2.COLOR_RGB2BGR))
            chips.append(rel)
        photos = sorted({faces.files[faces.face_file[r]] for r in rows})
        people.append({"id": p, "num_faces": int(len(rows)), "num_photos": len(photos), "files": photos, "chips": chips})
    doc = {
        "facecluster_version": __version__,
        "kind": "photos",
        "root": str(faces.root),
        "parameters": parameters,
        "network": network_id(faces.network),  # the face network of every distance here
        "num_photos": len(faces.files),
        "num_faces": int(len(person)),
        "num_people": len(people),
        "skipped": [{"file": f, "problem": why} for f, why in faces.skipped],
        "people": people,
    }
    doc["uncertain"] = {"far_tracks": [], "close_pairs": close_people(faces, person, {p["id"]: p["chips"] for p in people})}
    if export_folders:
        export_people_folders(faces, person, files, copy=copy)
    atomic_write_text(folder / "timings.json", json.dumps({k: round(v, 3) for k, v in faces.timings.items()}, indent=2) + "\n")
    render_report(folder, doc)
    atomic_write_text(marker, json.dumps(doc, indent=2) + "\n")
    return marker




def export_people_folders(faces: PhotoFaces, person: np.ndarray, files: OutputFiles, *, copy: bool = False) -> None:
    """``people/person_<id>/`` in the output folder with a link to (or a copy of) every photo showing that person.

    A file of the user's where one of ours would go is left alone and reported."""
    links = [(f"people/person_{int(p)}/{f.replace(os.sep, '__')}", f) for p in np.unique(person)
             for f in sorted({faces.files[faces.face_file[r]] for r in np.flatnonzero(person == p)})]
    for rel, _ in links:
        if os.path.lexists(files.folder / rel):
            raise InputError(files.folder / rel, "exists and was not written by facecluster; move it away or choose another -o")
    files.claim(*(rel for rel, _ in links))  # one manifest update, not one per photo
    for rel, f in links:
        dest = files.folder / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        src = (faces.root / f).resolve()
        if copy:
            shutil.copy2(src, dest)
        else:
            os.symlink(src, dest)
