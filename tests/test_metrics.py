import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facecluster.research import metrics as M

TRUE = np.array(["a", "a", "a", "b", "b", "c"])
PRED = np.array([0, 0, 1, 1, 1, 1])


def test_wcp_hand_computed():
    # cluster 0: {a, a} -> 2; cluster 1: {a, b, b, c} -> 2; (2 + 2) / 6
    assert M.wcp(TRUE, PRED) == pytest.approx(4 / 6)


def test_bcubed_hand_computed():
    # precision per item: a0,a1: 2/2; a2: 1/4; b,b: 2/4; c: 1/4 -> (1+1+.25+.5+.5+.25)/6
    # recall per item: a0,a1: 2/3; a2: 1/3; b,b: 2/2; c: 1/1 -> (2/3+2/3+1/3+1+1+1)/6
    p, r, f = M.bcubed(TRUE, PRED)
    assert p == pytest.approx(3.5 / 6)
    assert r == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 3) / 6)
    assert f == pytest.approx(2 * p * r / (p + r))


def test_pairwise_hand_computed():
    # predicted same pairs: C(2,2)+C(4,2) = 1 + 6 = 7; true same: C(3,2)+C(2,2) = 4; both: (a0,a1), (b,b) = 2
    p, r, f = M.pairwise(TRUE, PRED)
    assert p == pytest.approx(2 / 7)
    assert r == pytest.approx(2 / 4)


def test_nmi_both_normalisations_hand_computed():
    t = np.array([0, 0, 1, 1])
    c = np.array([0, 0, 0, 1])
    # H(T) = ln 2; H(C) = -(3/4 ln 3/4 + 1/4 ln 1/4); I = H(T) - H(T|C)
    ht = np.log(2)
    hc = -(0.75 * np.log(0.75) + 0.25 * np.log(0.25))
    h_t_given_c = 0.75 * -(2 / 3 * np.log(2 / 3) + 1 / 3 * np.log(1 / 3))
    mi = ht - h_t_given_c
    assert M.nmi(t, c, "sqrt") == pytest.approx(mi / np.sqrt(ht * hc))
    assert M.nmi(t, c, "arithmetic") == pytest.approx(2 * mi / (ht + hc))
    with pytest.raises(ValueError, match="normalization"):
        M.nmi(t, c, "max")


def test_perfect_and_degenerate():
    assert M.all_scores(TRUE, TRUE)["bcubed_f"] == pytest.approx(1.0)
    assert M.nmi([1, 1, 1], [5, 5, 5]) == 1.0
    assert M.adjusted_rand(TRUE, TRUE) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="equal length"):
        M.wcp([1, 2], [1])


labels = st.lists(st.integers(0, 4), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(labels, st.data())
def test_metrics_invariant_to_relabelling_and_bounded(true, data):
    true = np.array(true)
    pred = np.array(data.draw(st.lists(st.integers(0, 5), min_size=len(true), max_size=len(true))))
    perm = np.array(data.draw(st.permutations(range(6))))
    a, b = M.all_scores(true, pred), M.all_scores(true, perm[pred])
    for key in ("wcp", "nmi", "nmi_arithmetic", "bcubed_f", "pairwise_f", "ari"):
        assert a[key] == pytest.approx(b[key])
    for key in ("wcp", "nmi", "nmi_arithmetic", "bcubed_f", "pairwise_f"):
        assert -1e-9 <= a[key] <= 1 + 1e-9


def test_against_scikit_learn():
    from sklearn import metrics as skm

    rng = np.random.default_rng(0)
    for _ in range(20):
        t, p = rng.integers(0, 4, 60), rng.integers(0, 6, 60)
        assert M.nmi(t, p, "arithmetic") == pytest.approx(skm.normalized_mutual_info_score(t, p))
        assert M.nmi(t, p, "sqrt") == pytest.approx(skm.normalized_mutual_info_score(t, p, average_method="geometric"))
        assert M.adjusted_rand(t, p) == pytest.approx(skm.adjusted_rand_score(t, p))
        fm = skm.fowlkes_mallows_score(t, p)  # geometric mean of pairwise precision and recall
        pp, pr, _ = M.pairwise(t, p)
        assert np.sqrt(pp * pr) == pytest.approx(fm)
