import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, linkage

from facecluster.cluster.agglomerative import ConstrainedAgglomerative
from facecluster.distances import l2_normalize
from facecluster.errors import ParameterError
from facecluster.research.metrics import bcubed
from facecluster.video.tracking import overlapping_pairs


def blobs(seed=0, n_per=20, k=4, dim=8, spread=0.3):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(k, dim)) * 3
    X = np.concatenate([c + spread * rng.normal(size=(n_per, dim)) for c in centres])
    return X, np.repeat(np.arange(k), n_per)


def same_partition(a, b):
    return bcubed(a, b)[2] == pytest.approx(1.0)


@pytest.mark.parametrize("method", ["average", "complete", "single", "ward"])
def test_matches_scipy_without_constraints(method):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(40, 5))
    for k in (2, 5, 9):
        ours = ConstrainedAgglomerative(n_clusters=k, linkage=method).fit_predict(X)
        ref = fcluster(linkage(X, method=method), k, criterion="maxclust")
        assert same_partition(ours, ref)


def test_threshold_matches_scipy_heights():
    X, _ = blobs()
    model = ConstrainedAgglomerative(distance_threshold=2.0, linkage="average").fit(X)
    ref = fcluster(linkage(X, method="average"), 2.0, criterion="distance")
    assert same_partition(model.labels_, ref)
    assert np.all(model.merge_heights_ <= 2.0)


def test_recovers_blobs():
    X, y = blobs(seed=3)
    labels = ConstrainedAgglomerative(n_clusters=4).fit_predict(X)
    assert bcubed(y, labels)[2] >= 0.98


def test_cannot_link_keeps_identical_points_apart():
    # Two identical points would merge first; a cannot-link forbids it, also after merges.
    X = np.array([[0.0, 0.0], [0.0, 0.0], [0.1, 0.0], [5.0, 5.0]])
    free = ConstrainedAgglomerative(n_clusters=2).fit_predict(X)
    assert free[0] == free[1]
    labels = ConstrainedAgglomerative(n_clusters=2).fit_predict(X, cannot_link=np.array([[0, 1]]))
    assert labels[0] != labels[1]
    labels = ConstrainedAgglomerative(n_clusters=1).fit(X, cannot_link=np.array([[0, 1]]))
    assert labels.n_clusters_ == 2  # the constraint wins over the asked number


def test_cannot_link_propagates_through_merges():
    # 0-2 may merge, 1-2 may merge, but 0-1 cannot: 2 joins one side only.
    X = np.array([[0.0], [2.0], [1.0]])
    labels = ConstrainedAgglomerative(n_clusters=1).fit_predict(X, cannot_link=np.array([[0, 1]]))
    assert labels[0] != labels[1]
    assert labels[2] in (labels[0], labels[1])


def test_parameter_errors():
    with pytest.raises(ParameterError, match="exactly one"):
        ConstrainedAgglomerative().fit(np.zeros((3, 2)))
    with pytest.raises(ParameterError, match="linkage"):
        ConstrainedAgglomerative(n_clusters=2, linkage="median").fit(np.zeros((3, 2)))


def test_helpers():
    X = l2_normalize(np.array([[3.0, 4.0], [0.0, 0.0]]))
    assert np.allclose(X[0], [0.6, 0.8]) and np.all(X[1] == 0)
    pairs = overlapping_pairs(np.array([0, 5, 10]), np.array([5, 9, 12]))
    assert pairs.tolist() == [[0, 1]]


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from facecluster.cluster.registry import METHODS, make_clusterer


@settings(max_examples=30, deadline=None)
@given(st.integers(2, 25), st.integers(0, 10**6), st.sampled_from(METHODS), st.integers(1, 6))
def test_cannot_links_hold_and_labels_partition(n, seed, method, k):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    pairs = rng.integers(0, n, size=(rng.integers(0, n), 2))
    pairs = pairs[pairs[:, 0] != pairs[:, 1]]
    labels = make_clusterer(method, n_clusters=k).fit_predict(X, cannot_link=pairs)
    assert labels.shape == (n,)
    assert set(labels.tolist()) == set(range(labels.max() + 1))  # 0..P-1, none empty
    for a, b in pairs:
        assert labels[a] != labels[b]


def test_fixed_distance_linkages_keep_sface_people_apart():
    """Complete and single linkage stop at SFace's own distances: six people whose tracks lie ~0.85 apart (one
    person) and ~1.41 apart (two), as SFace's do, stay six; dlib's distances times SFace's scale (complete 1.95)
    merged them all."""
    from facecluster.cluster.registry import DEFAULTS, fixed_distance, make_clusterer
    from facecluster.distances import distance_scale

    rng = np.random.default_rng(0)
    centres = rng.standard_normal((6, 128))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    X = np.repeat(centres, 5, axis=0) + 0.75 / np.sqrt(128) * rng.standard_normal((30, 128))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    truth = np.repeat(np.arange(6), 5)
    for method in ("complete", "single"):
        labels = make_clusterer(method, network="sface").fit_predict(X)
        assert len(set(zip(labels.tolist(), truth.tolist()))) == len(set(labels.tolist())) == 6, method
    assert fixed_distance("complete", "sface") < DEFAULTS["complete"] * distance_scale("sface")
    old = make_clusterer("complete", threshold=DEFAULTS["complete"] * distance_scale("sface")).fit_predict(X)
    assert len(set(old.tolist())) == 1
    assert fixed_distance("complete", "dlib") == DEFAULTS["complete"]  # dlib's own, unchanged
