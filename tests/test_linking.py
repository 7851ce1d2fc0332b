"""Linking the people of several videos or albums into collection identities."""
from __future__ import annotations

import numpy as np

from facecluster.cluster.linking import SourcePeople, link_people
from facecluster.outputs.people import people_document


def _source(name: str, identities: list[int], centres: np.ndarray, rng, noise: float = 0.01) -> SourcePeople:
    X = centres[identities] + noise * rng.standard_normal((len(identities), centres.shape[1]))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return SourcePeople(name, np.arange(len(identities)), X.astype(np.float32), np.full(len(identities), 10), np.ones(len(identities)))


def test_people_are_linked_across_sources_and_never_within_one():
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((5, 128))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    sources = [_source("ep1", [0, 1, 2], centres, rng), _source("ep2", [1, 3], centres, rng), _source("ep3", [0, 3, 4], centres, rng)]
    identity = link_people(sources)
    truth = np.array([0, 1, 2, 1, 3, 0, 3, 4])
    assert len(set(zip(identity.tolist(), truth.tolist()))) == len(set(truth.tolist())) == len(set(identity.tolist()))
    # Two people of one source who look alike (twins) stay two collection people.
    twins = SourcePeople("ep4", np.arange(2), np.repeat(centres[:1], 2, axis=0).astype(np.float32), np.array([5, 5]), np.zeros(2))
    identity = link_people([twins, sources[0]])
    assert identity[0] != identity[1]
    assert identity[2] in identity[:2]  # ep1's person 0 joins one of them


def test_people_document_totals_and_order():
    rng = np.random.default_rng(1)
    centres = rng.standard_normal((2, 128))
    a = _source("a", [0, 1], centres, rng)
    b = _source("b", [0], centres, rng)
    b.faces[:] = 100
    identity = link_people([a, b])
    doc = people_document([a, b], identity, 0.4)
    assert [p["id"] for p in doc["people"]] == [0, 1]
    first = doc["people"][0]  # the person with most faces comes first
    assert first["faces"] == 110 and first["num_sources"] == 2
    assert sorted((x["source"], x["person"]) for x in first["appearances"]) == [("a", 0), ("b", 0)]
    assert first["screen_time_s"] == 2.0


def test_people_of_different_networks_are_never_linked():
    import pytest

    from facecluster.cluster.registry import distance_scale, fallback
    from facecluster.errors import ParameterError

    X = np.eye(2, 8, dtype=np.float32)
    a = SourcePeople("a", np.arange(2), X, np.ones(2, np.int64), np.zeros(2), network="sface")
    b = SourcePeople("b", np.arange(2), X, np.ones(2, np.int64), np.zeros(2), network="dlib")
    with pytest.raises(ParameterError, match="different face networks.*a \\(sface\\).*b \\(dlib\\)"):
        link_people([a, b])
    b.network = "sface"
    assert list(link_people([a, b])) == [0, 1, 0, 1]
    assert people_document([a, b], link_people([a, b]), "auto")["network"] == "sface_2021dec"
    # Fixed distances are in dlib's units; another network's are scaled, an unknown one's are not.
    assert fallback("tracks", "sface") == fallback("tracks") * distance_scale("sface") and distance_scale("facenet") == 1.0


def _pair_at(distance: float, dim: int = 128) -> np.ndarray:
    """Two unit vectors (2, dim) this far apart."""
    angle = 2 * np.arcsin(distance / 2)
    out = np.zeros((2, dim), np.float32)
    out[0, 0] = 1.0
    out[1, 0], out[1, 1] = np.cos(angle), np.sin(angle)
    return out


def test_two_videos_of_one_person_each_link_only_the_same_person():
    # Too few people to calibrate a stop on: the fixed distance decides. SFace's person means lie ~0.7 apart for one
    # person across videos (Colbert at his desk and with a guest: 0.73) and ≥ 1.1 for two people (a lecturer and a
    # talk-show host: 1.38); the fallback of the calibrated stop (1.56 with SFace) linked those two.
    for distance, linked in ((0.73, True), (1.15, False), (1.38, False)):
        X = _pair_at(distance)
        a = SourcePeople("a", np.arange(1), X[:1], np.ones(1, np.int64), np.zeros(1), network="sface")
        b = SourcePeople("b", np.arange(1), X[1:], np.ones(1, np.int64), np.zeros(1), network="sface")
        identity = link_people([a, b])
        assert (identity[0] == identity[1]) == linked, distance
        assert link_people([a, b], "auto")[0] == link_people([a, b], "auto")[1]  # the calibrated stop's fallback linked them all
