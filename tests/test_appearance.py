import numpy as np

from facecluster.appearance import SIZE, appearance_distance, face_signatures


def test_signatures_tell_two_people_apart_and_stay_close_for_one():
    rng = np.random.default_rng(0)
    frame = np.full((200, 300, 3), 80, np.uint8)
    frame[40:160, 20:140] = np.kron(rng.integers(0, 255, (6, 6, 3)), np.ones((20, 20, 1))).astype(np.uint8)
    frame[40:160, 160:280] = np.kron(rng.integers(0, 255, (6, 6, 3)), np.ones((20, 20, 1))).astype(np.uint8)
    brighter = np.clip(frame.astype(int) + 12, 0, 255).astype(np.uint8)  # the same scene, exposure changed
    boxes = np.float32([[55, 75, 105, 125], [195, 75, 245, 125]])
    sig = face_signatures(frame, boxes)
    assert sig.shape == (2, SIZE) and sig.dtype == np.float16
    again = face_signatures(brighter, boxes + np.float32([2, 1, 2, 1]))  # moved 2 px, brighter
    same = appearance_distance(sig, again)
    other = appearance_distance(sig[0], sig[1])
    assert same.max() < 1.0 < 3.0 < other


def test_a_box_outside_the_frame_has_no_signature_and_no_distance():
    sig = face_signatures(np.zeros((50, 50, 3), np.uint8), np.float32([[100, 100, 120, 120], [10, 10, 30, 30]]))
    assert np.isnan(sig[0]).all() and np.isfinite(sig[1]).all()
    assert np.isnan(appearance_distance(sig[0], sig[1]))
