"""On-disk cache of stage results, keyed by the stage's parameters.

Each result is one ``.npz`` file (arrays only, loaded with ``allow_pickle=False``)
named ``<stage>-<key>.npz``. The key hashes the package version, the stage's
parameters and the keys of the stages it depends on, so a change anywhere
upstream invalidates everything downstream. Files are written to a temporary
name in the same folder and renamed, so a killed run never leaves half a file.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from facecluster._version import __version__


def fingerprint_file(path: str | Path, chunk: int = 4 << 20) -> str:
    """A quick identity of a file's content: size plus SHA-256 of its first and last 4 MiB."""
    path = Path(path)
    size = path.stat().st_size
    h = hashlib.sha256(str(size).encode())
    with open(path, "rb") as f:
        h.update(f.read(chunk))
        if size > 2 * chunk:
            f.seek(size - chunk)
            h.update(f.read(chunk))
    return h.hexdigest()[:24]


def stage_key(stage: str, params: dict, upstream: list[str]) -> str:
    """Hex key of one stage's result."""
    blob = json.dumps({"v": __version__, "stage": stage, "params": params, "up": upstream}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


class StageCache:
    """Stage results under one folder; ``enabled=False`` recomputes (and overwrites) everything."""

    def __init__(self, folder: str | Path, *, enabled: bool = True) -> None:
        self.folder = Path(folder)
        self.enabled = enabled

    def _path(self, stage: str, key: str) -> Path:
        return self.folder / f"{stage}-{key}.npz"

    def files_folder(self, stage: str, key: str) -> Path:
        """A folder for one stage result kept as files rather than arrays (not created here)."""
        return self.folder / f"{stage}-{key}"

    def load(self, stage: str, key: str) -> dict[str, np.ndarray] | None:
        path = self._path(stage, key)
        if not self.enabled or not path.is_file():
            return None
        try:
            with np.load(path, allow_pickle=False) as data:
                return {name: data[name] for name in data.files}
        except (OSError, ValueError, EOFError):
            return None  # unreadable: recompute

    def save(self, stage: str, key: str, arrays: dict[str, np.ndarray]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self._path(stage, key)
        fd, tmp = tempfile.mkstemp(prefix=f".{stage}-", suffix=".npz.tmp", dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


STALE_TEMPORARY_S = 600.0  # a hidden temporary file this old was left by a killed run, not being written now


def remove_stale_temporaries(folder: str | Path, older_than_s: float = STALE_TEMPORARY_S) -> int:
    """Remove the hidden temporary files (``.<name>-<random>.tmp``, as :class:`StageCache`, :func:`atomic_write_text`
    and the report's crops name them) that a killed run left anywhere under ``folder``, a run's own output folder,
    once they are ``older_than_s`` seconds old (a run writing into the same folder now is left alone). Returns how
    many were removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    now = time.time()
    removed = 0
    for path in folder.rglob(".*.tmp"):
        try:
            if path.is_file() and not path.is_symlink() and now - path.stat().st_mtime >= older_than_s:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            continue  # renamed or removed by its writer meanwhile
    return removed


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write a text file so that readers see either the old or the whole new content."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
