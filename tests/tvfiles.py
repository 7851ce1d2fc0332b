"""Writers of TV-annotation and feature files in the documented layouts, for tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.io import savemat


def write_facetracks(path: Path, tracks: list[dict]) -> Path:
    """tracks: dicts with trackerId, groundTruthIdentity, frames, x, y, w, h (arrays per face)."""
    fields = ["x", "y", "w", "h", "pan", "frames", "timestamps", "trackerId", "groundTruthIdentity", "lip_diff"]
    arr = np.empty(len(tracks), dtype=[(f, object) for f in fields])
    for i, t in enumerate(tracks):
        n = len(t["frames"])
        arr[i] = (
            np.asarray(t["x"], float), np.asarray(t["y"], float), np.asarray(t["w"], float), np.asarray(t["h"], float),
            np.zeros(n), np.asarray(t["frames"], float), np.asarray(t["frames"], float) / 25.0,
            int(t["trackerId"]), t["groundTruthIdentity"], np.zeros(n),
        )
    savemat(str(path), {"FaceTracks": arr})
    return path


def episode_tracks(episode) -> list[dict]:
    """An AnnotatedEpisode back into track dicts."""
    out = []
    for t in range(episode.num_tracks):
        faces = np.flatnonzero(episode.face_track == t)
        b = episode.boxes[faces]
        out.append({"trackerId": int(episode.tracker_ids[t]), "groundTruthIdentity": str(episode.labels[t]),
                    "frames": episode.frames[faces], "x": b[:, 0], "y": b[:, 1], "w": b[:, 2] - b[:, 0], "h": b[:, 3] - b[:, 1]})
    return out


def write_features_v5(path: Path, ids, counts, vectors, layout: str = "concat", crops: int = 1, crop: int = 0) -> Path:
    """MATLAB v5 features: 'concat' D×F, 'crops' D×F×C (``vectors`` at index ``crop``), 'pages' D×Fmax×T."""
    arr = np.empty(len(ids), dtype=[("trackerId", object), ("frames", object), ("numframes", object)])
    for i, (t, c) in enumerate(zip(ids, counts)):
        arr[i] = (int(t), np.arange(int(c), dtype=float), int(c))
    if layout == "concat":
        feats = vectors.T
    elif layout == "crops":
        feats = np.random.default_rng(0).normal(size=(vectors.shape[1], len(vectors), crops)).astype(np.float32)
        feats[:, :, crop] = vectors.T
    else:
        fmax = int(max(counts))
        feats = np.zeros((vectors.shape[1], fmax, len(ids)), np.float32)
        start = 0
        for i, c in enumerate(counts):
            feats[:, :c, i] = vectors[start : start + c].T
            start += c
    savemat(str(path), {"Tracks": arr, "features": feats})
    return path


def write_features_h5(path: Path, ids, counts, vectors, references: bool = False, crops: int = 10, crop: int = 4) -> Path:
    import h5py

    with h5py.File(path, "w") as f:
        feats = np.random.default_rng(1).normal(size=(crops, len(vectors), vectors.shape[1])).astype(np.float32)
        feats[crop] = vectors
        f.create_dataset("features_vgg", data=feats)
        g = f.create_group("Tracks")
        if references:
            refs = f.create_group("#refs#")
            for name, values in (("trackerId", ids), ("numframes", counts)):
                col = []
                for i, v in enumerate(values):
                    ds = refs.create_dataset(f"{name}_{i}", data=np.array([[float(v)]]))
                    col.append(ds.ref)
                g.create_dataset(name, data=np.array(col, dtype=h5py.ref_dtype).reshape(-1, 1))
        else:
            g.create_dataset("trackerId", data=np.asarray(ids))
            g.create_dataset("numframes", data=np.asarray(counts))
    return path
