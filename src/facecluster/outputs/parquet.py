"""``faces.parquet``: the faces table with each face's embedding, for pandas or DuckDB users.

Columns as in faces.csv, plus ``embedding`` (list<float32>, the base descriptor;
null for faces of a video that were not embedded — see ``faces_per_track``). The schema's metadata
``facecluster.network`` names the network of the embeddings (``sface_2021dec``, ``dlib_resnet_v1``):
embeddings of different networks are not comparable.
Needs pyarrow (``pip install pyarrow``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from facecluster.errors import MissingDependencyError


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise MissingDependencyError("Parquet export needs pyarrow: pip install pyarrow") from None
    return pa, pq


def _write(pq, table, path: str | Path, network: str) -> Path:
    from facecluster.faces.embed import network_id

    table = table.replace_schema_metadata({**(table.schema.metadata or {}), b"facecluster.network": network_id(network).encode()})
    pq.write_table(table, str(path))
    return Path(path)


def _embedding_column(pa, vectors: list[np.ndarray | None]):
    return pa.array([None if v is None else v.astype(np.float32).tolist() for v in vectors], type=pa.list_(pa.float32()))


def write_video_parquet(result, path: str | Path) -> Path:
    """Faces of a video run (the rows of faces.csv, same order) with embeddings."""
    from facecluster.outputs.tables import person_of_faces

    pa, pq = _pyarrow()
    det, tids = result.detections, result.tracks.track_ids
    rows = np.flatnonzero(tids >= 0)
    rows = rows[np.lexsort((tids[rows], det.frames[rows]))]
    by_row = dict(zip(result.embeddings.rows.tolist(), result.embeddings.vectors))
    person = person_of_faces(result)
    table = pa.table({
        "frame": det.frames[rows],
        "time_s": result.frame_times[det.frames[rows]],
        "track_id": tids[rows],
        "x1": det.boxes[rows, 0], "y1": det.boxes[rows, 1], "x2": det.boxes[rows, 2], "y2": det.boxes[rows, 3],
        "score": det.scores[rows],
        "person": person[rows],
        "embedding": _embedding_column(pa, [by_row.get(int(r)) for r in rows]),
    })
    return _write(pq, table, path, result.config.network)


def write_photo_parquet(faces, person: np.ndarray, path: str | Path) -> Path:
    """Faces of a photo collection (the rows of faces.csv) with embeddings."""
    pa, pq = _pyarrow()
    table = pa.table({
        "file": [faces.files[i] for i in faces.face_file],
        "face_index": faces.face_index,
        "x1": faces.boxes[:, 0], "y1": faces.boxes[:, 1], "x2": faces.boxes[:, 2], "y2": faces.boxes[:, 3],
        "score": faces.scores,
        "person": person,
        "embedding": _embedding_column(pa, list(faces.vectors)),
    })
    return _write(pq, table, path, faces.network)
