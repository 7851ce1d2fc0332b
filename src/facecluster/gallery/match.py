"""Which people of a new source are people the gallery already knows (open set).

The gallery's people and the source's people are linked exactly as the people of
two videos are (:func:`facecluster.cluster.linking.link_sources`): average linkage
of their mean base descriptors, with the people of the gallery kept apart from one
another and the people of the source kept apart from one another, stopping at the
linking distance (:data:`facecluster.cluster.linking.LINK_THRESHOLD`). So a source
person joins at most one gallery person, no two people of one source join one gallery
person, and a person who matches no one stays new.
"""
from __future__ import annotations

import numpy as np

from facecluster.cluster.linking import SourcePeople, link_sources


def match_to_gallery(gallery_ids: np.ndarray, gallery_vectors: np.ndarray, source: SourcePeople) -> dict[int, int]:
    """Source person id → gallery person id, for the source people the gallery knows.

    gallery_ids: (G,) int; gallery_vectors: (G, D) L2-normalised; source: the new source's people."""
    if len(gallery_ids) == 0 or len(source.person_ids) == 0:
        return {}
    known = SourcePeople(source="gallery", person_ids=np.asarray(gallery_ids, np.int64),
                         features=np.asarray(gallery_vectors, np.float32), faces=np.ones(len(gallery_ids), np.int64),
                         screen_time_s=np.zeros(len(gallery_ids)), network=source.network)
    identity, _ = link_sources([known, source])
    of_gallery, of_source = identity[: len(gallery_ids)], identity[len(gallery_ids):]
    out = {}
    for k, ident in enumerate(of_source):
        match = np.flatnonzero(of_gallery == ident)
        if len(match):  # at most one: the gallery's people are cannot-linked to one another
            out[int(source.person_ids[k])] = int(gallery_ids[match[0]])
    return out
