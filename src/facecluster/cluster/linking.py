"""Linking people across the videos (or photo albums) of a collection.

Each video is clustered on its own; its people are then linked into collection
identities: people of one video are distinct by construction (cannot-link),
people of different videos merge when their faces agree. A person is described
by the mean of the base network's descriptors of its embedded faces, L2-normalised —
never by features learned on one video, which do not compare across videos —
and people are joined by average-linkage agglomerative clustering under the
cannot-links, stopping at a fixed distance in the network's units (``LINK_THRESHOLD = 'fixed'``:
``LINK_DISTANCE`` in dlib's units times the network's scale, 0.9 for SFace). ``'auto'`` calibrates the
stop on the collection itself instead (:mod:`facecluster.cluster.stop_rule`: the people of one source are
the pairs known to be different); a number is a distance of its own. Clothing never takes part: it changes
between episodes.

Chosen leave-one-set-out (``benchmarks/loso.py --family linking`` → ``results/dev_suite_loso_linking.md``) on
the dev suite's linked pairs of clips, its photo sets dealt into albums, and pairs of clips of a few people
that share nobody: the calibrated stop of a collection of a few people (or its fallback, which was 1.56 with
SFace) linked different people — a lecturer with a talk-show host, an interview's two people with a news clip's.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

LINK_THRESHOLD: float | str = "fixed"  # "fixed" (LINK_DISTANCE), "auto" (calibrated) or a distance between L2-normalised person means
LINK_DISTANCE = 0.23  # dlib units (× facecluster.distances.distance_scale: SFace 0.9)
# Too few people to calibrate on: dlib person means (many faces each) sit closer than track means;
# 0.4 was the best fixed distance on celebs11 split into albums (benchmarks/bench_linking.py). In dlib's units:
# another network's is this times facecluster.distances.distance_scale(network).
LINK_FALLBACK = 0.4


def common_network(sources: list[SourcePeople]) -> str | None:
    """The one network of the sources' features; raises ParameterError when they come from different networks."""
    from facecluster.errors import ParameterError

    networks = {s.network for s in sources}
    if len(networks) > 1:
        raise ParameterError("people described by different face networks cannot be linked: "
                             + ", ".join(f"{s.source} ({s.network or 'unknown'})" for s in sources))
    return networks.pop() if networks else None


@dataclass
class SourcePeople:
    """The people of one video (or album): P people."""

    source: str  # the video's stem or the album's name
    person_ids: np.ndarray  # (P,) int64, the ids used in that source's outputs
    features: np.ndarray  # (P, D) float32, L2-normalised mean base descriptor
    faces: np.ndarray  # (P,) int64 faces of each person
    screen_time_s: np.ndarray  # (P,) float64 seconds (0 for photos)
    report: str = ""  # path of the source's report, relative to the collection folder
    chip: list[str] = field(default_factory=list)  # per person: one face chip, relative to the collection folder
    network: str | None = None  # the face network of ``features`` (sface, dlib); None: unknown (dlib's units)


def link_people(sources: list[SourcePeople], threshold: float | str = LINK_THRESHOLD) -> np.ndarray:
    """Collection identity of every (source, person), in source order: (sum of P,) int64.

    Identities are numbered by total faces, largest first."""
    return link_sources(sources, threshold)[0]


def link_sources(sources: list[SourcePeople], threshold: float | str = LINK_THRESHOLD) -> tuple[np.ndarray, float | None]:
    """:func:`link_people`'s identities and the stop distance used (None with no people)."""
    X = np.concatenate([s.features for s in sources]) if sources else np.zeros((0, 128), np.float32)
    owner = np.concatenate([np.full(len(s.person_ids), i) for i, s in enumerate(sources)]) if sources else np.zeros(0, int)
    if len(X) == 0:
        return np.zeros(0, np.int64), None
    a, b = np.triu_indices(len(X), 1)
    same_source = owner[a] == owner[b]
    cannot = np.stack([a[same_source], b[same_source]], axis=1)
    from facecluster.cluster.agglomerative import ConstrainedAgglomerative  # scikit-learn: imported when needed
    from facecluster.distances import distance_scale

    scale = distance_scale(common_network(sources))
    if threshold == "fixed":
        threshold = LINK_DISTANCE * scale
    model = ConstrainedAgglomerative(distance_threshold=threshold, linkage="average",
                                     fallback_threshold=LINK_FALLBACK * scale if threshold == "auto" else None)
    labels = np.asarray(model.fit_predict(X, cannot_link=cannot), np.int64)
    faces = np.concatenate([s.faces for s in sources])
    totals = np.bincount(labels, weights=faces)
    order = np.argsort(-totals, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[labels], model.distance_threshold_
