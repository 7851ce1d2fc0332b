"""The faces found in each photo, cached per file, so that a rerun embeds only new or changed photos.

A photo's key hashes its path under the album, size and modification time, with the
detector's and face network's versions: change any and the photo is processed again.
Results are written in chunks of ``CHUNK`` photos (``photos-<hash>.npz`` under the run's
``cache`` folder, each written whole through a temporary file), so an interrupted run
loses at most the last chunk, and a folder of 100,000 photos makes a few hundred files.
Entries of photos that were removed stay in the cache, unused.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facecluster.cache import StageCache

CHUNK = 256  # photos a cache file
CODE_VERSION = 1  # bump when a change alters the faces found in a photo (padding, detection, alignment)


@dataclass(frozen=True)
class PhotoEntry:
    """The faces of one photo: boxes (k, 4) float32 in photo pixels, scores (k,) float32, vectors (k, 128) float32."""

    boxes: np.ndarray
    scores: np.ndarray
    vectors: np.ndarray


def photo_key(root: Path, path: Path, params: dict) -> str:
    """Hex key of one photo's faces: its path under root, size, modification time and the stage parameters."""
    stat = path.stat()
    blob = json.dumps({"file": str(path.relative_to(root)), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                       "code": CODE_VERSION, **params}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:24]


class PhotoCache:
    """Per-photo faces under a run's cache folder (None: in memory only); ``reuse=False``
    ignores what the folder holds (new entries are still written)."""

    def __init__(self, folder: str | Path | None, *, reuse: bool = True) -> None:
        self.store = None if folder is None else StageCache(folder)
        self.entries: dict[str, PhotoEntry] = {}
        self.pending: dict[str, PhotoEntry] = {}
        if reuse and self.store is not None and self.store.folder.is_dir():
            for path in sorted(self.store.folder.glob("photos-*.npz")):
                data = self.store.load("photos", path.stem.removeprefix("photos-"))
                if data is not None and {"keys", "counts", "boxes", "scores", "vectors"} <= set(data):
                    self._read(data)

    def _read(self, data: dict[str, np.ndarray]) -> None:
        ends = np.cumsum(data["counts"])
        starts = ends - data["counts"]
        if len(ends) and ends[-1] != len(data["vectors"]):
            return  # inconsistent file: ignore it, its photos are processed again
        for key, a, b in zip(data["keys"].tolist(), starts.tolist(), ends.tolist()):
            self.entries[key] = PhotoEntry(data["boxes"][a:b], data["scores"][a:b], data["vectors"][a:b])

    def get(self, key: str) -> PhotoEntry | None:
        return self.entries.get(key)

    def add(self, key: str, entry: PhotoEntry) -> None:
        """Remember one photo's faces; written once ``CHUNK`` are pending (and by :meth:`flush`)."""
        self.entries[key] = entry
        self.pending[key] = entry
        if len(self.pending) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if not self.pending or self.store is None:
            self.pending.clear()
            return
        keys = sorted(self.pending)
        entries = [self.pending[k] for k in keys]
        name = hashlib.sha256("".join(keys).encode()).hexdigest()[:20]
        self.store.save("photos", name, {
            "keys": np.asarray(keys),
            "counts": np.asarray([len(e.boxes) for e in entries], np.int64),
            "boxes": np.concatenate([e.boxes for e in entries]).reshape(-1, 4).astype(np.float32),
            "scores": np.concatenate([e.scores for e in entries]).astype(np.float32),
            "vectors": np.concatenate([e.vectors for e in entries]).astype(np.float32),
        })
        self.pending.clear()
