"""People linked across the videos (or albums) of a collection: ``OUT/people.json`` and ``OUT/people.html``.

A person is described by the L2-normalised mean of its faces' base descriptors
(:class:`~facecluster.cluster.linking.SourcePeople`); the linking itself is
:func:`facecluster.cluster.linking.link_people`.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from facecluster.cache import atomic_write_text
from facecluster.cluster.linking import LINK_THRESHOLD, SourcePeople, common_network, link_sources
from facecluster.distances import l2_normalize
from facecluster.faces.embed import NETWORK_IDS
from facecluster.outputs.folders import OutputFiles


def people_of_video(result, folder_name: str) -> SourcePeople:
    """:class:`SourcePeople` of a finished video run (a ``pipeline.VideoResult``)."""
    from facecluster.outputs.tables import people_summary

    emb = result.embeddings
    summary = people_summary(result)
    person = result.track_person[result.tracks.track_ids[emb.rows]]
    is_person = person >= 0  # faces of tracks that are not a face describe no one
    return _source_people(
        folder_name, emb.vectors[is_person], person[is_person], result.num_people,
        [p["num_faces"] for p in summary], [p["screen_time_s"] for p in summary], result.config.network,
    )


def people_of_photos(vectors: np.ndarray, person: np.ndarray, name: str, network: str | None = None) -> SourcePeople:
    """:class:`SourcePeople` of a clustered photo album: descriptors (N, D), person of each face (N,)."""
    P = int(person.max()) + 1 if len(person) else 0
    return _source_people(name, vectors, person, P, np.bincount(person, minlength=P), np.zeros(P), network)


def _source_people(name: str, vectors: np.ndarray, person: np.ndarray, P: int, faces: np.ndarray,
                   screen_time_s: np.ndarray, network: str | None = None) -> SourcePeople:
    """People 0..P-1 of one source described by the L2-normalised mean of their faces' L2-normalised
    descriptors: vectors (N, D), person of each (N,)."""
    dim = vectors.shape[1] if vectors.ndim == 2 else 128
    sums = np.zeros((P, dim))
    if len(person):
        np.add.at(sums, person, l2_normalize(vectors.astype(np.float64)))
    return SourcePeople(
        source=name,
        person_ids=np.arange(P, dtype=np.int64),
        features=l2_normalize(sums).astype(np.float32),
        faces=np.asarray(faces, np.int64),
        screen_time_s=np.asarray(screen_time_s, np.float64),
        report=f"{name}/report.html",
        chip=[f"{name}/chips/person_{p}/0.jpg" for p in range(P)],
        network=network,
    )


def people_document(sources: list[SourcePeople], identity: np.ndarray, threshold: float | str, distance: float | None = None,
                    names: dict[tuple[str, int], str] | None = None) -> dict:
    """The content of ``people.json``; ``names``: (source, person) → name from a people gallery (a collection
    person is named after the first of its appearances that has a name)."""
    names = names or {}
    entries = [(s, k) for s in sources for k in range(len(s.person_ids))]
    people = []
    for pid in range(int(identity.max()) + 1 if len(identity) else 0):
        members = [entries[i] for i in np.flatnonzero(identity == pid)]
        named = [names[(s.source, int(s.person_ids[k]))] for s, k in members if (s.source, int(s.person_ids[k])) in names]
        people.append(
            {
                "id": pid,
                **({"name": named[0]} if named else {}),
                "appearances": [
                    {"source": s.source, "person": int(s.person_ids[k]), "faces": int(s.faces[k]),
                     "screen_time_s": round(float(s.screen_time_s[k]), 3)}
                    for s, k in members
                ],
                "num_sources": len({s.source for s, _ in members}),
                "faces": int(sum(s.faces[k] for s, k in members)),
                "screen_time_s": round(float(sum(s.screen_time_s[k] for s, k in members)), 3),
            }
        )
    network = common_network(sources) if sources else None
    return {
        "network": NETWORK_IDS.get(network) if network else None,
        "linking": {"method": "average linkage of person mean descriptors, cannot-link within a source", "threshold": threshold,
                    "stop_distance": None if distance is None else round(float(distance), 4)},
        "sources": [s.source for s in sources],
        "people": people,
    }


def write_people(out_root: str | Path, sources: list[SourcePeople], *, threshold: float | str = LINK_THRESHOLD,
                 names: dict[tuple[str, int], str] | None = None) -> tuple[Path, Path]:
    """Link, then write ``OUT/people.json`` and the collection page ``OUT/people.html``; returns both paths."""
    from facecluster.outputs.report import render_people_page

    out_root = Path(out_root)
    identity, distance = link_sources(sources, threshold)
    doc = people_document(sources, identity, threshold, distance, names)
    chips = {(s.source, int(s.person_ids[k])): s.chip[k] for s in sources for k in range(len(s.person_ids)) if k < len(s.chip)}
    reports = {s.source: s.report for s in sources}
    path = out_root / "people.json"
    atomic_write_text(path, json.dumps(doc, indent=2) + "\n")
    page = render_people_page(out_root, doc, chips, reports)
    return path, page


def write_collection(out_root: str | Path, sources: list[SourcePeople], *, index_of: list[Path] | None = None,
                     failed: dict[str, str] | None = None, names: dict[tuple[str, int], str] | None = None) -> dict[str, Path]:
    """The collection files of a run over several videos or albums, so that each reflects this run:
    ``people.json`` and ``people.html`` when two or more sources finished (else any earlier ones
    of ours are removed), and ``index.html`` over ``index_of`` (output folders) and the ``failed``
    inputs (name → problem) when ``index_of`` is given. Returns the files written by name."""
    from facecluster.outputs.report import render_index

    out_root = Path(out_root)
    files = OutputFiles(out_root)
    written: dict[str, Path] = {}
    if len(sources) >= 2:
        files.claim("people.json", "people.html")
        written["people.json"], written["people.html"] = write_people(out_root, sources, names=names)
    else:
        files.remove("people.json")
        files.remove("people.html")
    if index_of is not None:
        files.claim("index.html")
        written["index.html"] = render_index(out_root, index_of, failed)
    return written
