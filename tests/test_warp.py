"""faces.warp: warps that shrink a face average the pixels they cover instead of skipping them."""
import cv2
import numpy as np

from facecluster.faces.warp import warp_area


def _shrink(scale: float, shift=(-40.0, -30.0), angle: float = 0.2) -> np.ndarray:
    c, s = np.cos(angle) * scale, np.sin(angle) * scale
    return np.array([[c, -s, shift[0]], [s, c, shift[1]]])


def test_a_fine_pattern_shrunk_4x_averages_to_grey_where_bilinear_sampling_aliases():
    checker = ((np.indices((800, 800)).sum(axis=0) % 2) * 255).astype(np.uint8)
    rgb = np.repeat(checker[:, :, None], 3, axis=2)
    matrix = _shrink(0.25, shift=(-10.0, -10.0), angle=0.0)
    sampled = cv2.warpAffine(rgb, matrix, (112, 112))
    averaged = warp_area(rgb, matrix, (112, 112))
    assert sampled.std() < 1 and abs(float(sampled.mean()) - 127.5) > 100  # every sample on one colour
    assert abs(float(averaged.mean()) - 127.5) < 3 and averaged.std() < 3


def test_a_smooth_picture_warps_as_before_and_mild_warps_are_untouched():
    rng = np.random.default_rng(1)
    rgb = cv2.GaussianBlur(rng.integers(0, 256, (600, 900, 3)).astype(np.float32), (0, 0), 12).astype(np.uint8)
    for scale in (0.2, 0.3, 0.45):
        matrix = _shrink(scale)
        diff = np.abs(warp_area(rgb, matrix, (112, 112)).astype(int) - cv2.warpAffine(rgb, matrix, (112, 112)))
        assert diff.mean() < 1.0, (scale, diff.mean())
    matrix = _shrink(0.8)
    assert np.array_equal(warp_area(rgb, matrix, (112, 112)), cv2.warpAffine(rgb, matrix, (112, 112)))


def test_a_face_seen_3x_larger_gives_nearly_the_same_chip():
    """A detailed picture, and the same seen by a camera of a third the resolution (each pixel the mean of 3×3):
    warped to the same chip, the area-averaged chip of the large one is the nearer to the small one's."""
    rng = np.random.default_rng(2)
    large = cv2.GaussianBlur(rng.integers(0, 256, (600, 600, 3)).astype(np.float32), (0, 0), 0.8).astype(np.uint8)
    small = cv2.resize(large, (200, 200), interpolation=cv2.INTER_AREA)
    matrix = _shrink(0.6, shift=(-5.0, -8.0))
    chip_small = cv2.warpAffine(small, matrix, (112, 112)).astype(int)
    big_matrix = matrix.copy()
    big_matrix[:, :2] /= 3.0  # (the shift stays: the chip's origin is the same place)
    averaged = np.abs(warp_area(large, big_matrix, (112, 112)).astype(int) - chip_small).mean()
    sampled = np.abs(cv2.warpAffine(large, big_matrix, (112, 112)).astype(int) - chip_small).mean()
    assert averaged < 0.5 * sampled, (averaged, sampled)
