"""The labelled sets a learner is measured on, and how each is scored.

- **clips** (Hamilton, Sweden, the two joined into one video): the pipeline's own
  stages up to the embeddings come from its cache; the learner adapts the
  embedded faces; the pipeline's own clustering stage groups the tracks (with
  ``--cues face`` or the default cues, K given or estimated); the faces of
  ``faces.csv`` are scored against the ground truth as ``facecluster eval`` does.
- **face sets** (the two embedding sets, the two photo sets): one face per row;
  K given: Ward on L2-normalised rows (the paper's protocol); K estimated:
  :func:`facecluster.cluster_embeddings` (average linkage, self-calibrated stop).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from bench_clothing import concatenate
from datasets import embedding_sets, photo_faces

from facecluster.cache import StageCache
from facecluster.cluster.agglomerative import ConstrainedAgglomerative
from facecluster.config import PipelineConfig
from facecluster.distances import l2_normalize
from facecluster.pipeline.video import _no_progress, _Stages
from facecluster.research.evaluate import EXCLUDED_LABELS, match_faces, read_faces_csv
from facecluster.research.metrics import all_scores
from facecluster.types import Embeddings
from facecluster.video.decode import probe

CLIP_K = {"short_hamilton_clip": 13, "sweden": 31, "hamilton_then_sweden": 44}


@dataclass
class ClipSet:
    """One video's cached stages, ready to cluster any adapted features of its embedded faces."""

    name: str
    stages: _Stages
    shots: object
    detections: object
    tracks: object
    embeddings: Embeddings
    clothing: dict
    true_rows: list[dict]

    @property
    def k(self) -> int:
        return CLIP_K[self.name]

    def learner_inputs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(n, 128) embedded faces, (n,) their tracks, (n,) their frames."""
        rows = self.embeddings.rows
        return self.embeddings.vectors, self.tracks.track_ids[rows], self.detections.frames[rows]

    def score(self, vectors: np.ndarray, *, cues: str, known_k: bool, calibrate_on: np.ndarray | None = None,
              scale: float = 1.0) -> dict:
        """Scores of the pipeline's clustering of ``vectors`` (one row per embedded face), K given (the true
        one) or estimated; ``calibrate_on``: the base vectors of the same faces where ``vectors`` were
        learned (the stop is calibrated on them, times ``scale``: the learner's ``distance_scale_``)."""
        config = replace(self.stages.config, cues=cues, num_people=self.k if known_k else None)
        self.stages.config = config
        emb = Embeddings(rows=self.embeddings.rows, vectors=np.asarray(vectors, np.float32))
        clothing = self.clothing if config.uses_clothing else None
        base = None if calibrate_on is None else Embeddings(rows=self.embeddings.rows, vectors=np.asarray(calibrate_on, np.float32))
        _, track_person = self.stages.clustering(self.detections, self.tracks, emb, self.shots, clothing, base, scale)
        tids = self.tracks.track_ids
        rows = np.flatnonzero(tids >= 0)
        pred = [{"frame": str(int(self.detections.frames[r])), **{k: str(float(v)) for k, v in zip(("x1", "y1", "x2", "y2"),
                 self.detections.boxes[r])}, "person": str(int(track_person[tids[r]]))} for r in rows]
        pairs, _ = match_faces(pred, self.true_rows)
        scored = [(p, t) for p, t in pairs if t not in EXCLUDED_LABELS]
        s = all_scores(np.array([t for _, t in scored]), np.array([p for p, _ in scored]))
        s["people"] = len(set(track_person[track_person >= 0].tolist()))
        return s


def load_clip(video: Path, gt: Path, work: Path) -> ClipSet:
    """Runs (or loads from ``work``'s cache) every stage the clustering needs."""
    config = PipelineConfig(workers=len(os.sched_getaffinity(0)))
    info = probe(video)
    stages = _Stages(video, info, StageCache(work / video.stem / "cache"), config, _no_progress)
    shots_key, shots, times = stages.shots()
    det_key, detections = stages.detections(shots_key, len(times), shots)
    track_key, detections, tracks, shots = stages.tracks(det_key, detections, shots)
    embed_key, embeddings = stages.embeddings(track_key, detections, tracks)
    _, clothing = stages.clothing(embed_key, shots, detections, embeddings)
    return ClipSet(video.stem, stages, shots, detections, tracks, embeddings, clothing, read_faces_csv(gt / "faces.csv", "label"))


def load_clips(data: Path, work: Path) -> list[ClipSet]:
    joined, joined_gt = concatenate(data, work)
    videos = [(data / "video" / f"{c}.mp4", data / "video" / "gt" / c) for c in ("short_hamilton_clip", "sweden")]
    return [load_clip(v, g, work) for v, g in videos + [(joined, joined_gt)]]


def load_face_sets(data: Path, work: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """name → ((n, d) vectors, (n,) labels): both embedding sets and both photo sets (dlib, one face a photo)."""
    sets = dict(embedding_sets(data))
    for name in ("five_celebrities", "celebs11"):
        sets[f"{name} (photos)"] = photo_faces(data / "faces" / name, work / f"{name}_dlib.npz")
    return sets


def score_faces(F: np.ndarray, y: np.ndarray, *, known_k: bool, seed: int = 0) -> dict:
    """Ward with K given (the paper's protocol) or the library's K-free clustering."""
    from facecluster import cluster_embeddings

    if known_k:
        labels = ConstrainedAgglomerative(n_clusters=len(np.unique(y)), linkage="ward").fit_predict(l2_normalize(F))
    else:
        labels = cluster_embeddings(F, random_state=seed)
    s = all_scores(y, labels)
    s["people"] = len(np.unique(labels))
    return s
