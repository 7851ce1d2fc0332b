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
