import numpy as np
import pytest

from facecluster.errors import ParameterError
from facecluster.faces.detect import make_detector
from facecluster.faces.detect.base import box_iou, nms
from facecluster.faces.detect.centerface import decode_outputs, model_path


def test_decoder_on_handmade_maps():
    h, w = 8, 10
    heat = np.zeros((1, 1, h, w), np.float32)
    heat[0, 0, 3, 4] = 0.9
    scale = np.zeros((1, 2, h, w), np.float32)
    scale[0, :, 3, 4] = np.log([5.0, 4.0])  # box 20 px high, 16 px wide
    offset = np.zeros((1, 2, h, w), np.float32)
    lms = np.zeros((1, 10, h, w), np.float32)
    lms[0, 0, 3, 4], lms[0, 1, 3, 4] = 0.5, 0.25  # first point: half-way down, a quarter across
    boxes, scores, points = decode_outputs(heat, scale, offset, lms, (32, 40), 0.5)
    cx, cy = (4 + 0.5) * 4, (3 + 0.5) * 4
    assert np.allclose(boxes[0], [cx - 8, cy - 10, cx + 8, cy + 10])
    assert scores.tolist() == [pytest.approx(0.9)]
    assert np.allclose(points[0, 0], [cx - 8 + 0.25 * 16, cy - 10 + 0.5 * 20])


def test_nms_and_iou():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], np.float32)
    assert box_iou(boxes[:1], boxes[:1])[0, 0] == pytest.approx(1.0)
    assert nms(boxes, np.array([0.5, 0.9, 0.7]), 0.3).tolist() == [1, 2]


def test_centerface_finds_the_astronaut(astronaut):
    det = make_detector("centerface")
    boxes, scores, landmarks = det.detect(astronaut)
    assert len(boxes) == 1
    x1, y1, x2, y2 = boxes[0]
    # Eileen Collins' face sits around x 170-250, y 70-180 in scikit-image's picture.
    assert 150 < (x1 + x2) / 2 < 260 and 60 < (y1 + y2) / 2 < 180
    assert scores[0] > 0.8
    assert np.all((landmarks[0, :, 0] > x1) & (landmarks[0, :, 0] < x2))


def test_centerface_no_face_in_noise():
    rng = np.random.default_rng(0)
    boxes, _, _ = make_detector("centerface").detect(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8))
    assert len(boxes) == 0


def test_dlib_hog_backend(astronaut):
    boxes, scores, landmarks = make_detector("dlib-hog").detect(astronaut)
    assert np.isnan(landmarks).all() and np.all((scores > 0) & (scores <= 1))
    best = boxes[np.argmax(scores)]  # the face; upsampling also finds a weaker patch on the suit
    assert 150 < (best[0] + best[2]) / 2 < 260 and 60 < (best[1] + best[3]) / 2 < 180


def test_registry_errors():
    with pytest.raises(ParameterError, match="unknown detector 'yolo'"):
        make_detector("yolo")
    with pytest.raises(ParameterError, match="score_threshold"):
        make_detector("centerface", score_threshold=1.5)
    assert model_path().endswith("centerface.onnx")


def test_backends_and_parallel_detection_agree(astronaut):
    """onnxruntime and OpenCV run the same network; detect_many gives detect's answers, in order."""
    images = [astronaut, astronaut[:, ::-1].copy(), astronaut[40:300, 60:400].copy(), np.zeros((64, 96, 3), np.uint8)]
    fast = make_detector("centerface", threads=2)
    reference = make_detector("centerface", backend="opencv")
    assert fast.params == reference.params  # speed settings are not part of the cache key
    many = fast.detect_many(images)
    assert [len(b) for b, _, _ in many] == [1, 1, 1, 0]
    for image, (boxes, scores, points) in zip(images, many):
        one = fast.detect(image)
        other = reference.detect(image)
        for a, b, c in zip((boxes, scores, points), one, other):
            assert np.array_equal(a, b)
            assert np.allclose(a, c, atol=1e-3)
    fast.close()
    with pytest.raises(ParameterError, match="backend must be one of onnxruntime, opencv"):
        make_detector("centerface", backend="tensorrt")
    with pytest.raises(ParameterError, match="threads must be >= 0"):
        make_detector("centerface", threads=-1)


def test_shipped_model_has_dynamic_shapes():
    """The model accepts any batch and size (tools/centerface_dynamic.py), as onnxruntime needs."""
    import onnxruntime

    session = onnxruntime.InferenceSession(model_path(), providers=["CPUExecutionProvider"])
    (batch, channels, height, width), = [i.shape for i in session.get_inputs()]
    assert channels == 3 and all(isinstance(d, str) for d in (batch, height, width))
    heatmap = session.run(["537"], {"input.1": np.zeros((2, 3, 64, 96), np.float32)})[0]
    assert heatmap.shape == (2, 1, 16, 24)


def test_yunet_finds_the_astronaut_with_landmarks(astronaut):
    det = make_detector("yunet")
    boxes, scores, landmarks = det.detect(astronaut)
    assert len(boxes) == 1 and scores[0] > 0.8
    x1, y1, x2, y2 = boxes[0]
    centre = make_detector("centerface").detect(astronaut)[0][0]
    assert box_iou(boxes[:1], centre[None])[0, 0] > 0.5  # the same face as CenterFace's
    assert np.all((landmarks[0, :, 0] > x1) & (landmarks[0, :, 0] < x2) & (landmarks[0, :, 1] > y1) & (landmarks[0, :, 1] < y2))
    assert landmarks[0, 0, 0] < landmarks[0, 1, 0] and landmarks[0, :2, 1].max() < landmarks[0, 2, 1]
    # Candidates under the threshold include the faces above it; noise holds no face; small faces are dropped.
    cand_boxes, cand_scores = det.detect_candidates(astronaut, 0.1)
    assert len(cand_boxes) >= 1 and box_iou(boxes[:1], cand_boxes).max() > 0.99
    rng = np.random.default_rng(0)
    assert len(det.detect(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8))[0]) == 0
    assert len(make_detector("yunet", min_size=float(x2 - x1) + 5).detect(astronaut)[0]) == 0
    with pytest.raises(ParameterError, match="score_threshold"):
        make_detector("yunet", score_threshold=0.0)


def test_centerface_shrinks_large_frames_by_area_averaging():
    """A 1080p frame goes to the network at 640 px by area averaging: each network pixel averages the ~8 frame pixels
    it covers, so pixel noise shrinks to about a third of its spread (bilinear reads about one pixel's worth of the
    frame an output pixel and keeps nearly all of it: aliasing); a frame the network takes at its own size is passed
    on as it is."""
    det = make_detector("centerface", threads=1)
    noise = np.random.default_rng(0).integers(0, 256, (1080, 1920, 3)).astype(np.uint8)
    image, sx, sy = det.network_input(noise, 640)
    assert image.shape == (384, 640, 3) and sx == pytest.approx(640 / 1920) and sy == pytest.approx(384 / 1080)
    assert abs(float(image.mean()) - float(noise.mean())) < 1.0 and float(image.std()) < 0.45 * float(noise.std())
    small = np.ascontiguousarray(noise[:384, :640])
    same, sx, sy = det.network_input(small)
    assert same is small and sx == sy == 1.0
