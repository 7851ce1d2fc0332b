import numpy as np

from facecluster.faces.align import CHIP_SIZE, FaceAligner, square_box
from facecluster.faces.detect import make_detector
from facecluster.faces.embed import DlibEmbedder, embed_chip_batches


def test_square_box_is_square_and_centred():
    l, t, r, b = square_box(np.array([10, 20, 50, 80]), (100, 100, 3))
    assert r - l == b - t == 60
    assert abs((l + r) / 2 - 30) <= 1


def test_chips_and_descriptors(astronaut):
    boxes, _, _ = make_detector("centerface").detect(astronaut)
    chips = FaceAligner().chips(astronaut, boxes)
    assert chips.shape == (1, CHIP_SIZE, CHIP_SIZE, 3) and chips.dtype == np.uint8
    emb = DlibEmbedder()
    v = emb.embed(chips)
    assert v.shape == (1, 128) and v.dtype == np.float32
    assert 1.0 < np.linalg.norm(v) < 1.8  # dlib descriptors are not normalised: ~1.3-1.5 on real faces
    # The same face, shifted and scaled, stays close; a different image is far.
    import cv2

    moved = cv2.resize(astronaut, None, fx=0.7, fy=0.7)
    b2, _, _ = make_detector("centerface").detect(moved)
    v2 = emb.embed(FaceAligner().chips(moved, b2))
    assert np.linalg.norm(v - v2) < 0.4


def test_workers_give_the_same_numbers(astronaut):
    boxes, _, _ = make_detector("centerface").detect(astronaut)
    chips = FaceAligner().chips(astronaut, boxes)
    batches = [chips, np.flip(chips, axis=2).copy(), chips]
    one = np.concatenate(list(embed_chip_batches(batches, workers=1)))
    two = np.concatenate(list(embed_chip_batches(batches, workers=2)))
    assert np.array_equal(one, two)
    assert np.array_equal(one[0], one[2]) and not np.array_equal(one[0], one[1])
