"""The paper's protocol on the TV benchmarks (Sharma et al., FG 2019, Tables 2–3).

Keep the main characters' tracks (unknown and false-accept tracks dropped), train
SSiam or TSiam on the episode's faces, cluster with Ward and K = number of
characters, at frame level (every face, L2-normalised) and at track level (the
mean of a track's faces, L2-normalised; scored over tracks), and report WCP, NMI
in both normalisations and B-cubed P/R/F beside the published numbers.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facecluster.distances import l2_normalize
from facecluster.errors import InputError, ParameterError
from facecluster.research.features_io import FaceFeatures
from facecluster.research.metrics import all_scores
from facecluster.research.tvdata import AnnotatedEpisode, paper_subset

# Frame-level WCP (%) published in the paper (2048-d VGGFace2 base features).
PUBLISHED_WCP = {
    ("bbt_s01e01", "tsiam"): 98.58,
    ("bbt_s01e01", "ssiam"): 99.04,
    ("buffy_s05e02", "tsiam"): 92.46,
    ("buffy_s05e02", "ssiam"): 90.87,
}
METHODS = ("none", "ssiam", "tsiam")


@dataclass(frozen=True)
class ProtocolRow:
    method: str
    level: str  # frame | track
    items: int
    k: int
    scores: dict
    published_wcp: float | None
    fit_seconds: float


def align_features(episode: AnnotatedEpisode, features: FaceFeatures, source: str = "features") -> np.ndarray:
    """(N, D) feature of every face of ``episode``, in its face order, matched by tracker id.

    Raises InputError when a track is missing or holds a different number of faces.
    """
    index = {int(t): i for i, t in enumerate(features.tracker_ids)}
    starts = np.concatenate([[0], np.cumsum(features.counts)[:-1]])
    out = np.empty((len(episode.frames), features.vectors.shape[1]), np.float32)
    for t, tracker in enumerate(episode.tracker_ids):
        faces = np.flatnonzero(episode.face_track == t)
        if int(tracker) not in index:
            raise InputError(source, f"no features for track {int(tracker)} of {episode.name}")
        i = index[int(tracker)]
        if features.counts[i] != len(faces):
            raise InputError(source, f"track {int(tracker)} has {features.counts[i]} feature rows but {len(faces)} annotated faces")
        order = np.argsort(episode.frames[faces], kind="stable")
        out[faces[order]] = features.vectors[starts[i] : starts[i] + len(faces)]
    return out


def ward_known_k(X: np.ndarray, k: int) -> np.ndarray:
    """Ward clustering into k clusters (scipy; O(n²) memory: n(n−1)/2 float64)."""
    from scipy.cluster.hierarchy import fcluster, linkage

    if len(X) < 2:
        return np.zeros(len(X), np.int64)
    return fcluster(linkage(X, method="ward"), k, criterion="maxclust").astype(np.int64)


def run_protocol(
    episode: AnnotatedEpisode,
    features: np.ndarray,
    *,
    methods: tuple[str, ...] = METHODS,
    variant: str = "paper",
    seed: int = 0,
    max_frames: int | None = None,
    characters: tuple[str, ...] | None = None,
    hook: Callable[[str], None] | None = None,
) -> list[ProtocolRow]:
    """The protocol's table rows. ``features``: (N, D) aligned with ``episode``'s faces
    (see :func:`align_features`). ``max_frames`` evaluates the frame level on an even
    sample of that many faces (Ward's memory grows with the square of the faces)."""
    import time

    from facecluster.learn.variants import make_learner

    for m in methods:
        if m not in METHODS:
            raise ParameterError(f"method must be one of {', '.join(METHODS)} (here: {m!r})")
    keep = np.isin(episode.labels, characters) if characters else None
    sub = episode.subset(keep) if keep is not None else paper_subset(episode)
    kept_faces = np.isin(episode.tracker_ids[episode.face_track], sub.tracker_ids)
    X = np.asarray(features, np.float32)[kept_faces]
    labels = sub.face_labels()
    k = len(np.unique(sub.labels))
    if k < 1 or len(X) == 0:
        raise InputError(episode.name, "no tracks of the benchmark's characters")
    frame_rows = np.arange(len(X))
    if max_frames and len(X) > max_frames:
        frame_rows = np.linspace(0, len(X) - 1, max_frames).round().astype(int)
    rows = []
    for method in methods:
        t0 = time.perf_counter()
        if hook:
            hook(f"{method}: training" if method != "none" else "base features")
        if method == "none":
            F = X
        else:
            learner = make_learner(method, variant, seed)
            if method == "ssiam":
                learner.fit(X)
            else:
                learner.fit(X, sub.face_track, sub.frames)
            F = learner.transform(X)
        fit_s = time.perf_counter() - t0
        if hook:
            hook(f"{'base' if method == 'none' else method}: clustering")
        frame_pred = ward_known_k(l2_normalize(F[frame_rows]), k)
        published = PUBLISHED_WCP.get((episode.name, method))
        rows.append(ProtocolRow(method, "frame", len(frame_rows), k, all_scores(labels[frame_rows], frame_pred), published, fit_s))
        sums = np.zeros((sub.num_tracks, F.shape[1]))
        np.add.at(sums, sub.face_track, F)
        track_pred = ward_known_k(l2_normalize(sums), k)
        rows.append(ProtocolRow(method, "track", sub.num_tracks, k, all_scores(sub.labels, track_pred), None, fit_s))
    return rows


def format_table(episode: str, rows: list[ProtocolRow]) -> str:
    head = "| episode | features | level | items | K | WCP | NMI (sqrt) | NMI (arith.) | B³ P | B³ R | B³ F | paper WCP |"
    lines = [head, "|" + "---|" * 12]
    for r in rows:
        s = r.scores
        name = "base" if r.method == "none" else r.method
        pub = f"{r.published_wcp:.2f}" if r.published_wcp is not None else "–"
        lines.append(
            f"| {episode} | {name} | {r.level} | {r.items} | {r.k} | {100 * s['wcp']:.2f} | {100 * s['nmi']:.2f} | "
            f"{100 * s['nmi_arithmetic']:.2f} | {100 * s['bcubed_precision']:.2f} | {100 * s['bcubed_recall']:.2f} | "
            f"{100 * s['bcubed_f']:.2f} | {pub} |"
        )
    return "\n".join(lines)


def episode_paths(annotations: Path, episode: str) -> Path:
    """``<annotations>/tracks/<episode>.facetracks.mat`` (or directly in ``annotations``)."""
    for candidate in (annotations / "tracks" / f"{episode}.facetracks.mat", annotations / f"{episode}.facetracks.mat"):
        if candidate.is_file():
            return candidate
    raise InputError(annotations, f"no {episode}.facetracks.mat in it or in its tracks/ folder")


def embed_annotated_faces(video: str | Path, episode: AnnotatedEpisode, *, workers: int = 1) -> np.ndarray:
    """Our dlib descriptors (N, 128) of every annotated box, read from the episode's video.

    The annotation's frame numbers are taken as 0-based decode indices.
    """
    from facecluster.faces.align import FaceAligner, chip_batches
    from facecluster.faces.embed import embed_chip_batches

    rows = np.lexsort((np.arange(len(episode.frames)), episode.frames))
    batches = chip_batches(video, episode.frames, episode.boxes, rows, FaceAligner())
    vectors = np.concatenate(list(embed_chip_batches(batches, workers=workers)) or [np.zeros((0, 128), np.float32)])
    if len(vectors) != len(rows):
        raise InputError(video, f"the video ends before annotated frame {int(episode.frames[rows[len(vectors)]])}")
    out = np.empty_like(vectors)
    out[rows] = vectors
    return out
