"""Readers for per-face feature files as the TV benchmarks' users have them.

Three layouts, all read into :class:`FaceFeatures` (faces in track order):

1. MATLAB v5 ``<series>_s<SS>e<EE>_features_VGG2.mat``: a struct array ``Tracks``
   (``trackerId``, ``frames``; optional ``numframes``) and ``features``, either
   D × F (faces of all tracks concatenated in ``Tracks`` order), D × F × C (C crops
   of each face; ``crop`` picks one), or D × Fmax × T (one page per track, the first
   ``numframes`` columns used).
2. HDF5 (MATLAB v7.3 or plain): dataset ``features_vgg`` of shape (C, F, D) — MATLAB's
   D × F × C as h5py reads it — or (F, D), and a group ``Tracks`` with ``trackerId``
   and ``numframes`` (numeric datasets, or MATLAB's cell-style object references).
3. A folder of ``<trackId>.npy`` files, each (frames, D).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facecluster.errors import InputError, MissingDependencyError

CENTER_CROP = 4  # in the 10-crop features of later work, index 4 is the centre crop


@dataclass(frozen=True)
class FaceFeatures:
    """tracker_ids: (T,) int64; counts: (T,) faces per track; vectors: (N, D) float32,
    the faces of track 0, then track 1, …"""

    tracker_ids: np.ndarray
    counts: np.ndarray
    vectors: np.ndarray

    def of_track(self, index: int) -> np.ndarray:
        start = int(self.counts[:index].sum())
        return self.vectors[start : start + int(self.counts[index])]


def read_features(path: str | Path, *, crop: int = CENTER_CROP) -> FaceFeatures:
    """Read any of the three layouts, chosen by what ``path`` is."""
    path = Path(path)
    if path.is_dir():
        return _read_npy_folder(path)
    if not path.is_file():
        raise InputError(path, "no such file or folder")
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"\x89HDF"):
        return _read_hdf5(path, crop)
    with open(path, "rb") as f:
        f.seek(512)
        if f.read(8).startswith(b"\x89HDF"):  # MATLAB v7.3: HDF5 after a 512-byte header
            return _read_hdf5(path, crop)
    return _read_mat_v5(path, crop)


def _read_npy_folder(folder: Path) -> FaceFeatures:
    files = sorted((p for p in folder.glob("*.npy") if p.stem.lstrip("-").isdigit()), key=lambda p: int(p.stem))
    if not files:
        raise InputError(folder, "no <trackId>.npy files")
    arrays = []
    for p in files:
        a = np.load(p, allow_pickle=False)
        if a.ndim != 2:
            raise InputError(p, f"expected (frames, D), got shape {a.shape}")
        arrays.append(a.astype(np.float32))
    dims = {a.shape[1] for a in arrays}
    if len(dims) != 1:
        raise InputError(folder, f"tracks have different feature sizes: {sorted(dims)}")
    return FaceFeatures(
        tracker_ids=np.asarray([int(p.stem) for p in files], np.int64),
        counts=np.asarray([len(a) for a in arrays], np.int64),
        vectors=np.concatenate(arrays),
    )


def _split_features(path: Path, features: np.ndarray, counts: np.ndarray, crop: int, d_first: bool) -> np.ndarray:
    """(N, D) from a features array; ``d_first``: MATLAB order D × F [× C|T]."""
    total = int(counts.sum())
    if features.ndim == 2:
        mat = features.T if d_first else features
        if mat.shape[0] != total:
            raise InputError(path, f"features hold {mat.shape[0]} faces but Tracks count {total}")
        return mat.astype(np.float32)
    if features.ndim != 3:
        raise InputError(path, f"features must have 2 or 3 dimensions (here: shape {features.shape})")
    if d_first and features.shape[2] == len(counts) and features.shape[1] >= counts.max() and features.shape[1] != total:
        pages = [features[:, : int(c), t].T for t, c in enumerate(counts)]  # D × Fmax × T
        return np.concatenate(pages).astype(np.float32)
    crops = features.shape[2] if d_first else features.shape[0]
    if not 0 <= crop < crops:
        crop = 0 if crops == 1 else crop
        if not 0 <= crop < crops:
            raise InputError(path, f"crop {crop} asked, file has {crops} crops")
    mat = features[:, :, crop].T if d_first else features[crop]
    if mat.shape[0] != total:
        raise InputError(path, f"features hold {mat.shape[0]} faces but Tracks count {total}")
    return mat.astype(np.float32)


def _read_mat_v5(path: Path, crop: int) -> FaceFeatures:
    from scipy.io import loadmat

    try:
        data = loadmat(str(path), squeeze_me=True, struct_as_record=False)
    except Exception as exc:
        raise InputError(path, f"not a readable MATLAB file ({type(exc).__name__})") from None
    for name in ("Tracks", "features"):
        if name not in data:
            raise InputError(path, f"no variable {name!r} (found: {', '.join(k for k in data if not k.startswith('__'))})")
    tracks = np.atleast_1d(data["Tracks"])
    ids = np.asarray([int(t.trackerId) for t in tracks], np.int64)
    counts = np.asarray(
        [int(t.numframes) if hasattr(t, "numframes") else np.size(t.frames) for t in tracks], np.int64
    )
    vectors = _split_features(path, np.asarray(data["features"]), counts, crop, d_first=True)
    return FaceFeatures(tracker_ids=ids, counts=counts, vectors=vectors)


def _read_hdf5(path: Path, crop: int) -> FaceFeatures:
    try:
        import h5py
    except ImportError:
        raise MissingDependencyError("HDF5 feature files need h5py: pip install h5py") from None
    with h5py.File(path, "r") as f:
        if "features_vgg" not in f or "Tracks" not in f:
            raise InputError(path, f"expected 'features_vgg' and 'Tracks' (found: {', '.join(f.keys())})")
        tracks = f["Tracks"]
        ids = _h5_column(f, tracks, "trackerId").astype(np.int64)
        if "numframes" in tracks:
            counts = _h5_column(f, tracks, "numframes").astype(np.int64)
        else:
            raise InputError(path, "Tracks has no 'numframes'")
        features = np.asarray(f["features_vgg"])
    return FaceFeatures(tracker_ids=ids, counts=counts, vectors=_split_features(path, features, counts, crop, d_first=False))


def _h5_column(f, group, name: str) -> np.ndarray:
    """A per-track scalar column: a numeric dataset, or MATLAB cell-style object references."""
    import h5py

    col = group[name]
    if col.dtype == h5py.ref_dtype:
        return np.asarray([np.asarray(f[ref]).ravel()[0] for ref in np.asarray(col).ravel()])
    return np.asarray(col).ravel()
