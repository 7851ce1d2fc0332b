"""Clothing descriptors, scenes, and the self-calibrated face + clothing distance (issue 5)."""
from __future__ import annotations

import numpy as np
import pytest

from facecluster.clothing.descriptors import DESCRIPTOR_DIM, background_descriptor, clothing_descriptors, torso_box
from facecluster.clothing.distance import CAP, MAX_WEIGHT, auc, calibrate, combined_distances, limits
from facecluster.cluster.agglomerative import ConstrainedAgglomerative
from facecluster.video.scenes import group_shots


def frame_with_people(people, size=(320, 240), background=(40, 40, 40)):
    """(H, W, 3) frame; people: [(face box, shirt RGB)] — a skin-coloured face over a shirt."""
    w, h = size
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:] = background
    for (x1, y1, x2, y2), shirt in people:
        t = torso_box(np.array([x1, y1, x2, y2]), rgb.shape)
        rgb[t[1] : t[3], t[0] : t[2]] = shirt
        rgb[y1:y2, x1:x2] = (220, 180, 150)
    return rgb


def test_torso_box_is_below_the_face_scaled_and_clipped():
    x1, y1, x2, y2 = torso_box(np.array([100, 50, 140, 100]), (240, 320, 3))
    assert y1 >= 100 and (x2 - x1) == 80 and (x1 + x2) / 2 == 120
    assert torso_box(np.array([100, 200, 140, 250]), (240, 320, 3))[3] == 240  # clipped at the frame's bottom


def test_shirt_colours_separate_people_and_survive_lighting():
    red, blue = (200, 30, 30), (30, 30, 200)
    faces = np.array([[60, 40, 100, 90], [200, 40, 240, 90]], np.float32)
    rgb = frame_with_people([(faces[0].astype(int), red), (faces[1].astype(int), blue)])
    desc, valid = clothing_descriptors(rgb, faces)
    assert valid.all() and desc.shape == (2, DESCRIPTOR_DIM)
    assert np.linalg.norm(desc[0] - desc[1]) > 1.3  # nothing in common
    dim = (rgb * 0.7).astype(np.uint8)  # the same people in a darker shot
    desc_dim, _ = clothing_descriptors(dim, faces)
    assert np.linalg.norm(desc[0] - desc_dim[0]) < 0.3
    assert np.linalg.norm(desc[0] - desc_dim[1]) > 1.3


def test_nearer_people_occlude_and_torsos_out_of_frame_are_invalid():
    near, far = np.array([100, 60, 180, 150]), np.array([150, 80, 170, 100])  # the far face's torso lies behind the near one's body
    rgb = frame_with_people([(far, (30, 200, 30)), (near, (200, 30, 30))])
    desc, valid = clothing_descriptors(rgb, np.array([near, far], np.float32))
    red_only, _ = clothing_descriptors(frame_with_people([(near, (200, 30, 30))]), np.array([near], np.float32))
    assert valid[0] and np.linalg.norm(desc[0] - red_only[0]) < 0.2  # the near person's shirt, not the green one behind
    edge = np.array([[100, 200, 140, 239]], np.float32)  # face at the bottom edge: no torso in frame
    assert not clothing_descriptors(frame_with_people([]), edge)[1][0]


def test_histogram_bins_are_the_documented_ones():
    """The OpenCV histogram counts each pixel in the bin the module's docstring defines: hue h·12 // 256 and
    saturation (s − 51)·3 // 205 where S ≥ 0.2 and V ≥ 0.15, else value v·6 // 256 (checked on random pixels)."""
    from facecluster.clothing.descriptors import HUE_BINS, SAT_BINS, VALUE_BINS, _chromatic, _histogram

    rng = np.random.default_rng(4)
    hsv = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    hsv[0, :, 1], hsv[1, :, 2] = np.arange(53) + 30, np.arange(53) + 10  # values around the chromatic limits
    mask = rng.random((37, 53)) < 0.7
    h, s_, v = (hsv[..., c][mask].astype(int) for c in range(3))
    chromatic = (s_ >= 51) & (v >= 38)
    expected = np.zeros(DESCRIPTOR_DIM)
    np.add.at(expected, np.minimum(h[chromatic] * HUE_BINS // 256, HUE_BINS - 1) * SAT_BINS
              + np.minimum((s_[chromatic] - 51) * SAT_BINS // 205, SAT_BINS - 1), 1)
    np.add.at(expected, HUE_BINS * SAT_BINS + np.minimum(v[~chromatic] * VALUE_BINS // 256, VALUE_BINS - 1), 1)
    got = _histogram(hsv, _chromatic(hsv), mask.view(np.uint8))
    assert np.array_equal(got, np.sqrt(expected / expected.sum()).astype(np.float32))


def test_background_ignores_people():
    empty = frame_with_people([], background=(30, 120, 30))
    crowded = frame_with_people([((60, 40, 100, 90), (200, 30, 30)), ((200, 40, 240, 90), (30, 30, 200))], background=(30, 120, 30))
    faces = np.array([[60, 40, 100, 90], [200, 40, 240, 90]], np.float32)
    assert np.linalg.norm(background_descriptor(empty, np.zeros((0, 4))) - background_descriptor(crowded, faces)) < 0.1


def test_scenes_keep_shot_threading_and_split_at_a_new_place():
    a, b, c = np.eye(3)
    shots = np.array([a, b, a, b, a, c, c])  # dialogue A-B-A-B-A, then a new place
    assert group_shots(shots, window=4, threshold=0.5).tolist() == [0, 0, 0, 0, 0, 1, 1]
    assert group_shots(np.array([a, np.zeros(3), a, c]), window=4, threshold=0.5).tolist() == [0, 0, 0, 1]


def test_calibration_weighs_clothing_by_how_well_it_separates():
    rng = np.random.default_rng(0)
    same, different = rng.uniform(0.0, 0.3, 30), rng.uniform(0.6, 1.2, 30)
    assert auc(same, different) == 1.0 and calibrate(same, different).weight == MAX_WEIGHT["dlib"]
    mixed = rng.uniform(0, 1, 30)
    assert calibrate(mixed, rng.uniform(0, 1, 30)).weight < 0.2 * MAX_WEIGHT["dlib"]
    # SFace's face distances are larger (the network's scale), and its faces need less help from clothing.
    assert calibrate(same, different, "sface").weight == pytest.approx(limits("sface")[1])
    assert limits(None) == limits("dlib") == limits("some_other_net")
    assert calibrate(same[:3], different).weight == 0.0  # too few pairs: faces alone


CAL = 12  # calibration tracks before the ones a test is about


def _video(face_of_track, cloth_of_track, scene, shot, cannot):
    """Track-level inputs for combined_distances with well-separated calibration pairs in
    scene 0: tracks 0, 1 are one person in one shirt across two shots; (2, 3) … (10, 11) are
    pairs on screen together, in different shirts. The test's own tracks follow, from CAL."""
    rng = np.random.default_rng(1)
    base = rng.standard_normal((CAL, 16))
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    base[1] = base[0] + 0.05 * rng.standard_normal(16)
    base[1] /= np.linalg.norm(base[1])
    cal_cloth = np.eye(CAL, 16)
    cal_cloth[1] = cal_cloth[0]
    face = np.concatenate([base, face_of_track])
    cloth = np.concatenate([cal_cloth, cloth_of_track])
    scene = np.concatenate([[0] * CAL, scene])
    shot = np.concatenate([[0, 1] + [2 + k // 2 for k in range(CAL - 2)], shot])
    pairs = [[k, k + 1] for k in range(2, CAL, 2)]
    links = np.concatenate([pairs, np.asarray(cannot).reshape(-1, 2) + CAL])
    halves = np.full(10, 0.05)  # long tracks keep their shirt
    return combined_distances(face, cloth, np.ones(len(face), bool), scene, shot, links, halves)


def _unit(v):
    return v / np.linalg.norm(v)


def test_same_colours_in_different_scenes_do_not_join_different_people():
    rng = np.random.default_rng(2)
    anna, ben = _unit(rng.standard_normal(16)), _unit(rng.standard_normal(16))
    # Make the two faces fairly similar (0.5 apart: above the 0.4 stop distance).
    ben = _unit(anna + 0.5 * _unit(ben - anna @ ben * anna))
    red = np.eye(1, 16, 15)[0]
    faces = np.stack([anna, anna, ben, ben])
    d, calibration = _video(faces, np.stack([red] * 4), scene=[1, 1, 2, 2], shot=[10, 11, 20, 21], cannot=np.zeros((0, 2), int))
    assert calibration.weight > 0  # clothing is informative in this video ...
    assert np.allclose(d[CAL : CAL + 2, CAL + 2 : CAL + 4], np.linalg.norm(anna - ben))  # ... but never across scenes
    labels = ConstrainedAgglomerative(distance_threshold=0.4, linkage="average", metric="precomputed").fit_predict(d)
    a1, a2, b1, b2 = labels[CAL:]
    assert a1 == a2 and b1 == b2 and a1 != b1


def test_a_change_of_clothes_does_not_split_a_strong_face_match():
    rng = np.random.default_rng(3)
    anna = _unit(rng.standard_normal(16))
    close = _unit(anna + 0.15 * _unit(rng.standard_normal(16)))
    red, blue = np.eye(1, 16, 14)[0], np.eye(1, 16, 15)[0]
    # Scene 1 in red, scene 2 in blue; and within scene 2 a jacket comes off (red, then blue).
    d, calibration = _video(np.stack([anna, close, anna, close]), np.stack([red, red, blue, red]),
                            scene=[1, 1, 2, 2], shot=[10, 11, 20, 21], cannot=np.zeros((0, 2), int))
    assert calibration.weight > 0
    face_d = np.linalg.norm(anna - close)
    assert np.isclose(d[CAL, CAL + 2], 0.0, atol=1e-6) and np.isclose(d[CAL + 1, CAL + 2], face_d)  # across scenes: faces alone
    assert face_d < d[CAL + 2, CAL + 3] <= face_d + CAP["dlib"] + 1e-9  # within a scene, clothing moves a pair by at most CAP
    labels = ConstrainedAgglomerative(distance_threshold=0.4, linkage="average", metric="precomputed").fit_predict(d)
    assert len(set(labels[CAL:].tolist())) == 1


def test_average_ranks_match_scipy_with_ties():
    from scipy.stats import rankdata

    from facecluster.clothing.distance import average_ranks

    rng = np.random.default_rng(0)
    for values in (rng.normal(size=50), rng.integers(0, 5, size=40).astype(float), np.zeros(3), np.array([2.0])):
        assert np.array_equal(average_ranks(values), rankdata(values))
