import numpy as np
import pytest

from facecluster.cluster.finch import FINCH
from facecluster.cluster.knn import first_neighbours, knn_approx, knn_exact
from facecluster.cluster.registry import make_clusterer
from facecluster.errors import ParameterError
from facecluster.research.metrics import bcubed


def blobs(seed=0, n_per=30, k=5, dim=16, spread=0.15):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim))
    X = np.concatenate([c + spread * rng.normal(size=(n_per, dim)) for c in centres])
    return X.astype(np.float32), np.repeat(np.arange(k), n_per)


def brute_first_neighbour(X):
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    d = np.linalg.norm(Xn[:, None] - Xn[None], axis=2)
    np.fill_diagonal(d, np.inf)
    return d.argmin(1)


def components(n, edges):
    parent = list(range(n))

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for a, b in edges:
        parent[find(a)] = find(b)
    return np.array([find(i) for i in range(n)])


def test_first_partition_is_first_neighbour_components():
    X, _ = blobs(n_per=8, spread=0.6)
    nn = brute_first_neighbour(X)
    expected = components(len(X), [(i, int(j)) for i, j in enumerate(nn)])
    got = FINCH().fit(X).partitions_[0]
    assert bcubed(expected, got)[2] == pytest.approx(1.0)


def test_recovers_blobs_with_known_and_estimated_k():
    X, y = blobs()
    assert bcubed(y, FINCH(n_clusters=5).fit_predict(X))[2] >= 0.98
    model = FINCH().fit(X)
    assert any(abs(p.max() + 1 - 5) <= 1 and bcubed(y, p)[2] >= 0.95 for p in model.partitions_)
    counts = [p.max() + 1 for p in model.partitions_]
    assert counts == sorted(counts, reverse=True)  # each level is coarser


def test_cannot_links_hold():
    # Two tight pairs whose members are cannot-linked across each pair's halves.
    X = np.array([[1, 0], [1, 0.01], [0, 1], [0.01, 1]], np.float32)
    free = FINCH().fit(X).partitions_[0]
    assert free[0] == free[1]
    labels = FINCH(n_clusters=1).fit_predict(X, cannot_link=np.array([[0, 1], [2, 3]]))
    assert labels[0] != labels[1] and labels[2] != labels[3]


def test_knn_exact_and_approximate_agree():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 16)).astype(np.float32)
    i_ex, d_ex = knn_exact(X, 5)
    brute = np.linalg.norm(X[:50, None] - X[None], axis=2)
    brute[np.arange(50), np.arange(50)] = np.inf
    assert np.array_equal(i_ex[:50, 0], brute.argmin(1))
    assert np.allclose(d_ex[:50, 0], brute.min(1), atol=1e-4)
    i_ap, d_ap = knn_approx(X, 5, nprobe=64)
    assert (i_ap[:, 0] == i_ex[:, 0]).mean() >= 0.95
    assert not np.any(i_ap == np.arange(3000)[:, None])  # never itself


def test_first_neighbours_skip_banned():
    X = np.array([[0.0], [0.1], [1.0]], np.float32)
    nb, _ = first_neighbours(X, np.array([[0, 1]]))
    assert nb.tolist() == [2, 2, 1]


def test_registry():
    assert isinstance(make_clusterer("finch"), FINCH)
    with pytest.raises(ParameterError, match="unknown clustering method 'kmeans'"):
        make_clusterer("kmeans")
