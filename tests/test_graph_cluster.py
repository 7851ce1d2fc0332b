"""Clustering that grows about linearly with n: the kNN-graph average linkage and cluster_embeddings (issue 20)."""
import numpy as np
import pytest

import facecluster
from facecluster.cluster import graph as graph_mod
from facecluster.cluster.agglomerative import ConstrainedAgglomerative
from facecluster.cluster.embeddings import by_size, cluster_embeddings
from facecluster.cluster.graph import GraphAverageLinkage
from facecluster.distances import l2_normalize, pairwise
from facecluster.errors import ParameterError
from facecluster.research.metrics import bcubed


def sphere_blobs(seed=0, k=12, n_per=40, dim=32, spread=0.25):
    """k people on the unit sphere with n_per faces each: X (k·n_per, dim) unit rows, labels."""
    rng = np.random.default_rng(seed)
    centres = l2_normalize(rng.normal(size=(k, dim)))
    X = np.concatenate([c + spread / np.sqrt(dim) * rng.normal(size=(n_per, dim)) for c in centres])
    return l2_normalize(X).astype(np.float32), np.repeat(np.arange(k), n_per)


def test_complete_graph_is_exact_average_linkage_of_squared_distances():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(60, 6)).astype(np.float32)
    D2 = pairwise(X.astype(np.float64)) ** 2
    for k in (2, 7, 15):
        ours = GraphAverageLinkage(n_clusters=k).fit_predict(X)
        ref = ConstrainedAgglomerative(n_clusters=k, metric="precomputed").fit_predict(D2)
        assert bcubed(ref, ours)[2] == pytest.approx(1.0)
    ours = GraphAverageLinkage(distance_threshold=2.5).fit(X)
    ref = ConstrainedAgglomerative(distance_threshold=2.5 ** 2, metric="precomputed").fit_predict(D2)
    assert bcubed(ref, ours.labels_)[2] == pytest.approx(1.0)
    assert ours.distance_threshold_ == 2.5


@pytest.mark.parametrize("exact_limit", [10_000, 100])  # exact neighbours, and faiss' approximate index
def test_sparse_graph_recovers_people(monkeypatch, exact_limit):
    monkeypatch.setattr(graph_mod, "COMPLETE_LIMIT", 0)
    monkeypatch.setattr(graph_mod, "EXACT_LIMIT", exact_limit)
    X, y = sphere_blobs()
    auto = GraphAverageLinkage(distance_threshold="auto", n_neighbors=10).fit(X)
    assert bcubed(y, auto.labels_)[2] >= 0.98
    assert 0 < auto.distance_threshold_ < 1.0
    known = GraphAverageLinkage(n_clusters=12, n_neighbors=10).fit_predict(X)
    assert bcubed(y, known)[2] >= 0.98
    assert known.max() + 1 == 12
    again = GraphAverageLinkage(distance_threshold="auto", n_neighbors=10).fit_predict(X)
    assert np.array_equal(again, auto.labels_)  # deterministic


def test_graph_honours_cannot_links(monkeypatch):
    monkeypatch.setattr(graph_mod, "COMPLETE_LIMIT", 0)
    X, y = sphere_blobs(seed=2, k=6, n_per=30)
    rng = np.random.default_rng(0)
    pairs = rng.integers(0, len(X), size=(200, 2))
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    for model in (GraphAverageLinkage(n_clusters=1, n_neighbors=8), GraphAverageLinkage(distance_threshold="auto", n_neighbors=8)):
        labels = model.fit_predict(X, cannot_link=pairs)
        assert np.all(labels[pairs[:, 0]] != labels[pairs[:, 1]])
    # Identical points would merge first; the constraint keeps them apart through later merges too.
    Z = np.array([[1.0, 0.0], [1.0, 0.0], [0.99, 0.1], [0.0, 1.0]], np.float32)
    labels = GraphAverageLinkage(n_clusters=1).fit_predict(Z, cannot_link=np.array([[0, 1]]))
    assert labels[0] != labels[1] and len(set(labels)) == 2


def test_pieces_of_the_graph_are_joined_to_reach_n_clusters(monkeypatch):
    monkeypatch.setattr(graph_mod, "COMPLETE_LIMIT", 0)
    X, y = sphere_blobs(seed=5, k=6, n_per=30, spread=0.05)
    labels = GraphAverageLinkage(n_clusters=2, n_neighbors=3).fit_predict(X)  # 3 neighbours never span two people
    assert labels.max() + 1 == 2
    assert all(len(set(labels[y == p])) == 1 for p in range(6))  # people are never split to reach the number


def test_cluster_embeddings_any_scale_and_numbered_by_size():
    X, y = sphere_blobs(seed=1, k=5, n_per=20)
    X = np.concatenate([X, X[:30] + 1e-3]).astype(np.float32)  # person 0 (and part of 1) gets more faces
    y = np.concatenate([y, y[:30]])
    labels = cluster_embeddings(X)
    assert bcubed(y, labels)[2] >= 0.98
    assert np.array_equal(cluster_embeddings(X * 37.0), labels)  # no distance scale assumed
    sizes = np.bincount(labels)
    assert np.all(np.diff(sizes) <= 0)  # 0 is the largest
    assert facecluster.cluster_embeddings is cluster_embeddings
    for method, floor in (("average", 0.98), ("graph", 0.98), ("finch", 0.8)):  # FINCH's level is not calibrated
        assert bcubed(y, cluster_embeddings(X, method=method))[2] >= floor, method
    assert cluster_embeddings(X, n_clusters=5).max() == 4
    assert len(cluster_embeddings(np.zeros((0, 8)))) == 0


def test_auto_switches_to_the_graph_above_the_dense_limit(monkeypatch):
    from facecluster.cluster import embeddings

    monkeypatch.setattr(embeddings, "DENSE_LIMIT", 50)
    assert isinstance(embeddings.make_embedding_clusterer(51), GraphAverageLinkage)
    assert isinstance(embeddings.make_embedding_clusterer(50), ConstrainedAgglomerative)


@pytest.mark.parametrize("X,cannot,message", [
    (np.ones(5), None, "2-d array"),
    (np.array([[1.0, np.nan], [0.0, 1.0]]), None, "NaN or infinite values .row 0"),
    (np.array([[1.0, 0.0], [0.0, 0.0]]), None, "all-zero row .row 1"),
    (np.eye(3), [[0, 3]], r"outside 0\.\.2"),
    (np.eye(3), [[0.5, 1.0]], "integer pairs"),
])
def test_cluster_embeddings_rejects_bad_input(X, cannot, message):
    with pytest.raises(ParameterError, match=message):
        cluster_embeddings(X, cannot_link=cannot)
    with pytest.raises(ParameterError, match="unknown method"):
        cluster_embeddings(np.eye(3), method="kmeans")


def test_by_size():
    assert by_size(np.array([7, 3, 3, 9, 9, 9])).tolist() == [2, 1, 1, 0, 0, 0]
    assert by_size(np.array([4, 5])).tolist() == [0, 1]  # equal sizes: the earlier first row first


def test_relinking_over_cluster_means_joins_what_the_graph_missed(monkeypatch):
    monkeypatch.setattr(graph_mod, "COMPLETE_LIMIT", 0)
    X, y = sphere_blobs(seed=7, k=8, n_per=30, spread=0.2)
    stop = 0.6  # well inside a blob's spread, far below the distance between blobs
    monkeypatch.setattr(graph_mod, "MAX_RELINKS", 0)
    pieces = GraphAverageLinkage(distance_threshold=stop, n_neighbors=1).fit_predict(X)
    monkeypatch.setattr(graph_mod, "MAX_RELINKS", 5)
    relinked = GraphAverageLinkage(distance_threshold=stop, n_neighbors=1).fit_predict(X)
    assert pieces.max() + 1 > 8  # one neighbour each: the graph falls apart in pieces
    assert bcubed(y, relinked)[2] >= 0.98 and relinked.max() + 1 == 8
