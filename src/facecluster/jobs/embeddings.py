"""``facecluster cluster``: people from an embeddings file, written as a CSV of labels.

Inputs: ``.npy`` (an (n, d) array), ``.npz`` (the array named ``embeddings``, ``X`` or
``vectors``, or its only array) or ``.parquet`` (a list column ``embedding``, as
facecluster's own ``faces.parquet`` has; else every numeric column). Rows without an
embedding (null in Parquet) are left out of the clustering and get an empty person.
Cannot-links: an optional CSV of two row numbers a line (a header line is allowed).
Output: ``row,person`` a line, rows numbered from 0 as in the input, person 0 the largest.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facecluster.cache import atomic_write_text
from facecluster.errors import InputError, ParameterError

HEADER = ["row", "person"]
NPZ_NAMES = ("embeddings", "X", "vectors")


@dataclass(frozen=True)
class ClusteredFile:
    """What ``facecluster cluster`` did: rows read, rows clustered, people found, the labels file."""

    rows: int
    clustered: int
    people: int
    output: Path


def read_embeddings(path: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """(n_valid, d) float32 embeddings, the (n_valid,) input row of each, and the number of input rows, from path;
    InputError naming the problem."""
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InputError(path, "no such file")
    try:
        if suffix == ".npy":
            X = np.load(path, allow_pickle=False)
        elif suffix == ".npz":
            with np.load(path, allow_pickle=False) as data:
                names = [n for n in NPZ_NAMES if n in data.files] or (data.files if len(data.files) == 1 else [])
                if not names:
                    raise InputError(path, f"holds arrays {', '.join(data.files) or '(none)'}; name the embeddings 'embeddings'")
                X = data[names[0]]
        elif suffix == ".parquet":
            return _read_parquet(path)
        else:
            raise InputError(path, "unknown embeddings format (use .npy, .npz or .parquet)")
    except InputError:
        raise
    except (OSError, ValueError, EOFError) as exc:
        raise InputError(path, f"not a readable {suffix} file ({str(exc).splitlines()[0][:80]})") from None
    if X.ndim != 2:
        raise InputError(path, f"embeddings must be a 2-d array (faces, dimensions) (here: shape {X.shape})")
    return X, np.arange(len(X)), len(X)


def _read_parquet(path: Path) -> tuple[np.ndarray, np.ndarray, int]:
    from facecluster.outputs.parquet import _pyarrow

    pa, pq = _pyarrow()
    try:
        table = pq.read_table(str(path))
    except (OSError, pa.ArrowException) as exc:
        raise InputError(path, f"not a readable Parquet file ({str(exc).splitlines()[0][:80]})") from None
    if "embedding" in table.column_names:
        vectors = table.column("embedding").to_pylist()
        rows = np.asarray([i for i, v in enumerate(vectors) if v is not None], np.int64)
        if not len(rows):
            return np.zeros((0, 0), np.float32), rows, table.num_rows
        lengths = {len(vectors[i]) for i in rows}
        if len(lengths) != 1:
            raise InputError(path, f"embeddings of different lengths ({', '.join(map(str, sorted(lengths)[:3]))})")
        return np.asarray([vectors[i] for i in rows], np.float32), rows, table.num_rows
    numeric = [name for name, typ in zip(table.column_names, table.schema.types) if pa.types.is_floating(typ)]
    if not numeric:
        raise InputError(path, "has no 'embedding' column and no floating-point columns")
    X = np.stack([table.column(name).to_numpy(zero_copy_only=False) for name in numeric], axis=1).astype(np.float32)
    keep = np.isfinite(X).all(axis=1)
    return X[keep], np.flatnonzero(keep), table.num_rows


def read_cannot_links(path: Path, rows: int) -> np.ndarray:
    """(m, 2) int64 row pairs from a CSV of two row numbers a line; InputError naming the line."""
    if not path.is_file():
        raise InputError(path, "no such file")
    pairs = []
    with open(path, newline="", encoding="utf-8") as f:
        for number, line in enumerate(csv.reader(f), start=1):
            if not line or (number == 1 and not line[0].strip().lstrip("-").isdigit()):
                continue  # blank line or header
            try:
                a, b = (int(v) for v in line[:2])
            except ValueError:
                raise InputError(path, f"line {number}: expected two row numbers (here: {','.join(line)[:40]})") from None
            if not (0 <= a < rows and 0 <= b < rows):
                raise InputError(path, f"line {number}: row numbers must lie in 0..{rows - 1} (here: {a}, {b})")
            pairs.append((a, b))
    return np.asarray(pairs, np.int64).reshape(-1, 2)


def check_labels_file(output: Path, force: bool) -> None:
    """Refuse to overwrite a file that facecluster did not write (its first line is not ``row,person``) unless ``force``."""
    if output.is_symlink():
        raise InputError(output, "is a symbolic link; refusing to write through it")
    if output.is_dir():
        raise InputError(output, "is a folder; give a file name such as labels.csv")
    if output.exists() and not force:
        try:
            with open(output, encoding="utf-8") as f:
                ours = f.readline().strip() == ",".join(HEADER)
        except (OSError, UnicodeDecodeError):
            ours = False
        if not ours:
            raise InputError(output, "exists and was not written by facecluster; choose another -o or pass --force")


def cluster_file(path: str | Path, output: str | Path, *, cannot_link: str | Path | None = None, n_clusters: int | None = None,
                 method: str = "auto", distance_threshold: float | str = "auto", random_state: int = 0,
                 force: bool = False) -> ClusteredFile:
    """Cluster the embeddings in ``path`` and write ``output`` (CSV: row, person)."""
    from facecluster.cluster.embeddings import cluster_embeddings

    path, output = Path(path), Path(output)
    if output.resolve() == path.resolve():
        raise InputError(output, "is the input file; choose another -o")
    check_labels_file(output, force)
    X, rows, total = read_embeddings(path)
    pairs = np.zeros((0, 2), np.int64)
    if cannot_link is not None:
        pairs = read_cannot_links(Path(cannot_link), total)
        position = np.full(total, -1, np.int64)
        position[rows] = np.arange(len(rows))
        pairs = position[pairs]
        pairs = pairs[(pairs >= 0).all(axis=1)]  # pairs that name a row without an embedding constrain nothing
    try:
        labels = cluster_embeddings(X, cannot_link=pairs, n_clusters=n_clusters, method=method,
                                    distance_threshold=distance_threshold, random_state=random_state) if len(X) else np.zeros(0, np.int64)
    except ParameterError as exc:
        raise InputError(path, str(exc)) from None
    person = [""] * total
    for row, label in zip(rows.tolist(), labels.tolist()):
        person[row] = str(label)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows((i, p) for i, p in enumerate(person))
    atomic_write_text(output, buffer.getvalue())
    return ClusteredFile(total, len(X), int(labels.max()) + 1 if len(labels) else 0, output)
