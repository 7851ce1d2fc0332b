"""Key frames searched around the faces of their whole-searched neighbours (facecluster.faces.detect.windows)."""
import numpy as np
import pytest

from facecluster.faces.detect import make_detector
from facecluster.faces.detect import windows as W
from facecluster.faces.detect.base import FaceDetector
from facecluster.types import Shots


class SquareDetector(FaceDetector):
    """Finds white squares (pixel value 255) in a dark image: each square is a 'face' (score 0.9).

    A square cut by the image's edge gets a box cut short, as a real detector's would."""

    name = "squares"
    calls: list

    def __init__(self) -> None:
        self.calls = []

    @property
    def params(self) -> dict:
        return {}

    def detect(self, rgb):
        self.calls.append(rgb.shape[:2])
        white = rgb[..., 0] == 255
        boxes = []
        seen = np.zeros_like(white)
        for y, x in zip(*np.nonzero(white & ~seen)):
            if seen[y, x]:
                continue
            x2 = x
            while x2 < white.shape[1] and white[y, x2]:
                x2 += 1
            y2 = y
            while y2 < white.shape[0] and white[y2, x]:
                y2 += 1
            seen[y:y2, x:x2] = True
            boxes.append([x, y, x2, y2])
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        return boxes, np.full(len(boxes), 0.9, np.float32), np.full((len(boxes), 5, 2), np.nan, np.float32)


def _frame(squares, height=120, width=200):
    rgb = np.zeros((height, width, 3), np.uint8)
    for x1, y1, x2, y2 in squares:
        rgb[y1:y2, x1:x2] = 255
    return rgb


def test_whole_searched_key_frames_open_and_close_every_shot():
    shots = Shots(starts=np.array([0, 10]), ends=np.array([9, 40]))
    key = np.array([0, 3, 6, 9, 10, 13, 16, 19, 22, 25, 28, 31, 34, 37, 40])
    full = W.full_key_frames(key, shots, 3)
    assert key[full].tolist() == [0, 9, 10, 19, 28, 37, 40]
    search = W.KeyFrameSearch(SquareDetector(), key, full)  # each window frame's whole-searched neighbours
    before = np.array([search.around.get(f, (f, f))[0] for f in key.tolist()])
    after = np.array([search.around.get(f, (f, f))[1] for f in key.tolist()])
    assert before.tolist() == [0, 0, 0, 9, 10, 10, 10, 19, 19, 19, 28, 28, 28, 37, 40]
    assert after.tolist() == [0, 9, 9, 9, 10, 19, 19, 19, 28, 28, 28, 37, 37, 37, 40]
    assert W.full_key_frames(key, shots, 1).all()


def test_one_window_for_a_face_seen_on_both_sides_and_a_wider_one_for_a_face_seen_once():
    before = np.array([[10, 10, 30, 30], [100, 50, 120, 70]], float)
    after = np.array([[14, 10, 34, 30]], float)
    wins = W.search_windows((before, np.array([0.9, 0.9])), (after, np.array([0.9])), height=120, width=200)
    assert len(wins) == 2
    both, once = wins
    reach = W.MARGIN * 20
    assert np.allclose(both, [max(0, 10 - reach), max(0, 10 - reach), 34 + reach, 30 + reach])
    reach = W.MARGIN_ONE_SIDE * 20
    assert np.allclose(once, [100 - reach, 50 - reach, min(200, 120 + reach), 70 + reach])
    # A face the detector was unsure of: more of the frame around it.
    unsure = W.search_windows((before[:1], np.array([0.55])), (after, np.array([0.58])), 120, 200, unsure_below=0.6)
    reach = W.MARGIN_UNSURE * 20
    assert np.allclose(unsure, [[0, 0, 34 + reach, 30 + reach]])
    none = (np.zeros((0, 4)), np.zeros(0))
    assert W.search_windows(none, none, 120, 200).shape == (0, 4)


def test_a_large_unsure_face_gets_less_context_than_a_small_one_unless_it_was_seen_once():
    side = W.LARGE_CONTEXT_SIDE  # frame pixels at input_scale 1
    box = np.array([[400, 300, 400 + side, 300 + side]], float)
    moved = box + [8, 0, 8, 0]
    unsure = np.array([0.55])
    both = W.search_windows((box, unsure), (moved, unsure), 1000, 1200, unsure_below=0.6, threshold=0.5)
    reach = W.MARGIN_UNSURE_LARGE * side
    assert np.allclose(both, [[400 - reach, 300 - reach, 408 + side + reach, 300 + side + reach]])
    # A seed (under the detector's threshold) keeps the wide context however large.
    seed = W.search_windows((box, unsure), (moved, unsure), 1000, 1200, unsure_below=0.6, threshold=0.58)
    reach = W.MARGIN_UNSURE * side
    assert np.allclose(seed, [[400 - reach, 300 - reach, 408 + side + reach, 300 + side + reach]])
    # The same face where the network sees it at half size is small: the wide context again.
    half = W.search_windows((box, unsure), (moved, unsure), 1000, 1200, unsure_below=0.6, input_scale=0.5)
    reach = W.MARGIN_UNSURE * side
    assert np.allclose(half, [[400 - reach, 300 - reach, 408 + side + reach, 300 + side + reach]])
    # Seen on one side only it may have moved: at least MARGIN_ONE_SIDE.
    none = (np.zeros((0, 4)), np.zeros(0))
    once = W.search_windows((box, unsure), none, 1000, 1200, unsure_below=0.6)
    reach = max(W.MARGIN_ONE_SIDE, W.MARGIN_UNSURE_LARGE) * side
    assert np.allclose(once, [[400 - reach, 300 - reach, 400 + side + reach, 300 + side + reach]])


def test_windows_snap_to_the_grid_and_overlapping_ones_merge():
    cut = W.grid_windows(np.array([[5, 5, 40, 40], [45, 5, 70, 40], [150, 80, 190, 110]], float), 1.0, 1.0, 224, 128, 32)
    assert cut.tolist() == [[0, 0, 96, 64], [128, 64, 192, 128]]  # the first two share a column of cells: merged


def test_faces_found_in_windows_only_and_not_when_cut_by_a_window_edge():
    det = SquareDetector()
    rgb = _frame([(20, 20, 40, 40), (140, 60, 160, 80)])
    (boxes, scores), = W.detect_in_windows(det, [rgb], [np.array([[10, 10, 50, 50]], float)])
    assert boxes.tolist() == [[20, 20, 40, 40]] and scores.tolist() == [pytest.approx(0.9)]
    assert det.calls == [(40, 40)]  # only the window was searched
    # A window whose inner edge cuts a face: that face does not count.
    (boxes, _), = W.detect_in_windows(det, [rgb], [np.array([[0, 0, 30, 60]], float)])
    assert boxes.shape == (0, 4)
    # Windows covering most of the frame: it is searched whole.
    det.calls.clear()
    (boxes, _), = W.detect_in_windows(det, [rgb], [np.array([[0, 0, 200, 100]], float)])
    assert det.calls == [(120, 200)] and len(boxes) == 2


def test_centerface_in_a_window_finds_the_face_it_finds_in_the_whole_picture(astronaut):
    det = make_detector("centerface")
    boxes, scores, _ = det.detect(astronaut)
    (found, found_scores), = W.detect_in_windows(det, [astronaut], [W.search_windows((boxes, scores), (boxes, scores), *astronaut.shape[:2])])
    assert len(found) == 1
    assert np.abs(found[0] - boxes[0]).max() < 3.0 and abs(found_scores[0] - scores[0]) < 0.05


def test_key_frame_search_over_a_stream_that_ends_early():
    from types import SimpleNamespace

    shots = Shots(starts=np.array([0]), ends=np.array([8]))
    key = np.array([0, 2, 4, 6, 8])
    full = W.full_key_frames(key, shots, 2)
    assert key[full].tolist() == [0, 4, 8]
    square = {0: (20, 20, 40, 40), 2: (24, 20, 44, 40), 4: (28, 20, 48, 40), 6: (32, 20, 52, 40)}
    det = SquareDetector()
    search = W.KeyFrameSearch(det, key, full, batch_size=1)
    done = []
    for index in (0, 2, 4, 6):  # frame 8 never comes: the video ended early
        newcomer = [(150, 80, 170, 100)] if index in (2, 6) else []  # seen on no whole-searched frame
        done += search.feed(SimpleNamespace(index=index, rgb=_frame([square[index], *newcomer])))
    assert sorted(f for f, *_ in done) == [0, 2, 4]
    done += search.finish()
    found = {f: boxes.tolist() for f, boxes, _ in done}
    assert sorted(found) == [0, 2, 4, 6]
    assert all(found[f] == [list(square[f])] for f in found)  # the windows hold the square, not the newcomer
    assert det.calls.count((120, 200)) == 2 and len(det.calls) == 4  # frames 0 and 4 whole, 2 and 6 in a window each


def test_key_frames_declared_one_by_one_are_searched_as_when_given_together():
    """KeyFrameSearch.declare (key frames decided as the video is decoded) finds what the arrays given up
    front find; a window frame with no whole-searched frame before it is refused."""
    from types import SimpleNamespace

    shots = Shots(starts=np.array([0, 10]), ends=np.array([9, 20]))
    key = np.array([0, 2, 4, 6, 8, 9, 10, 12, 14, 16, 18, 20])
    full = W.full_key_frames(key, shots, 3)
    frames = {f: _frame([(20 + 2 * f, 20, 40 + 2 * f, 40)] + ([(150, 80, 170, 100)] if f > 10 else [])) for f in key.tolist()}
    results = []
    for streaming in (False, True):
        det = SquareDetector()
        search = W.KeyFrameSearch(det, np.zeros(0, np.int64), np.zeros(0, bool), batch_size=2) if streaming \
            else W.KeyFrameSearch(det, key, full, batch_size=2)
        done = []
        for f, whole in zip(key.tolist(), full.tolist()):
            if streaming:
                search.declare(f, whole)
            done += search.feed(SimpleNamespace(index=f, rgb=frames[f]))
        done += search.finish()
        results.append(({f: (b.tolist(), s.tolist()) for f, b, s in done}, det.calls))
    assert results[0] == results[1] and sorted(results[0][0]) == key.tolist()
    assert results[0][1].count((120, 200)) == int(full.sum())  # the others searched in windows
    with pytest.raises(ValueError, match="no whole-searched key frame comes before it"):
        W.KeyFrameSearch(SquareDetector(), np.zeros(0, np.int64), np.zeros(0, bool)).declare(3, False)


class FaintSquareDetector(SquareDetector):
    """White squares score 0.9; grey ones (value 200) score 0.45 in a whole frame, under the 0.5 threshold,
    and 0.55 in a window (as a face near CenterFace's threshold may, its score depending on the context)."""

    score_threshold = 0.5

    def _squares(self, rgb, value):
        boxes, _, _ = super().detect(np.where(rgb == value, 255, 0).astype(np.uint8))
        return boxes

    def detect(self, rgb):
        boxes = self._squares(rgb, 255)
        return boxes, np.full(len(boxes), 0.9, np.float32), np.full((len(boxes), 5, 2), np.nan, np.float32)

    def detect_candidates(self, rgb, below):
        white, grey = self._squares(rgb, 255), self._squares(rgb, 200)
        if 0.45 < self.score_threshold - below:
            grey = grey[:0]
        return np.concatenate([white, grey]), np.r_[np.full(len(white), 0.9), np.full(len(grey), 0.45)].astype(np.float32)

    def detect_input(self, image):
        white, grey = self._squares(image, 255), self._squares(image, 200)
        return np.concatenate([white, grey]), np.r_[np.full(len(white), 0.9), np.full(len(grey), 0.55)].astype(np.float32)


def test_faces_just_under_the_threshold_on_whole_frames_are_searched_for_between():
    """A face the whole-searched frames score just under the threshold is no detection there, but the frames
    between search a wide window around it, and find it where it scores above."""
    from types import SimpleNamespace

    shots = Shots(starts=np.array([0]), ends=np.array([8]))
    key = np.array([0, 2, 4, 6, 8])
    full = W.full_key_frames(key, shots, 2)
    det = FaintSquareDetector()
    search = W.KeyFrameSearch(det, key, full, batch_size=1)
    done = []
    for index in key.tolist():
        rgb = _frame([(20, 20, 40, 40)])
        rgb[60:80, 120:140] = 200  # the faint face, still
        done += search.feed(SimpleNamespace(index=index, rgb=rgb))
    done += search.finish()
    found = {f: (boxes, scores) for f, boxes, scores in done}
    for f in (0, 4, 8):  # whole-searched: the faint face is a seed only
        boxes, scores = found[f]
        assert sorted(scores.tolist()) == pytest.approx([0.45, 0.9])
        assert W.detections_only(scores, det).tolist() == (scores >= 0.5).tolist() and W.detections_only(scores, det).sum() == 1
    for f in (2, 6):  # between: found in its window
        boxes, scores = found[f]
        assert W.detections_only(scores, det).all() and [120, 60, 140, 80] in boxes.tolist()
    assert W.search_params(2)["seed_below"] == W.SEED_BELOW


def test_centerface_candidates_below_the_threshold_add_to_its_detections(astronaut):
    det = make_detector("centerface", score_threshold=0.9)
    boxes, scores, _ = det.detect(astronaut)
    more, more_scores = det.detect_candidates(astronaut, 0.6)
    sure = more_scores >= 0.9
    assert np.array_equal(more[sure], boxes) and np.array_equal(more_scores[sure], scores)
    assert (more_scores >= 0.3).all() and len(more) >= len(boxes)


def test_half_resolution_only_where_every_face_around_is_large_and_sure(astronaut):
    big, small = np.array([[10, 10, 110, 110]], float), np.array([[10, 10, 40, 40]], float)
    assert W.large_and_sure([(big, np.array([0.95])), (big, np.array([0.9]))], sure=0.8)
    assert not W.large_and_sure([(big, np.array([0.95])), (small, np.array([0.9]))], sure=0.8)
    assert not W.large_and_sure([(big, np.array([0.95])), (big, np.array([0.7]))], sure=0.8)
    assert not W.large_and_sure([(np.zeros((0, 4)), np.zeros(0))] * 2, sure=0.8)
    # A close-up is searched at half size however unsure the detector was of it; the same face seen at half scale is not.
    close_up = np.array([[0, 0, W.HALF_ANY_SIDE, W.HALF_ANY_SIDE]], float)
    assert W.large_and_sure([(close_up, np.array([0.55])), (big, np.array([0.9]))], sure=0.8)
    assert not W.large_and_sure([(close_up, np.array([0.55])), (big, np.array([0.9]))], sure=0.8, scale=0.5)
    # ...but only a detected one: a seed under the threshold is no face yet.
    assert W.large_and_sure([(close_up, np.array([0.55]))], sure=0.8, threshold=0.5)
    assert not W.large_and_sure([(close_up, np.array([0.45]))], sure=0.8, threshold=0.5)
    # The astronaut's face (~100 px) is found at half resolution too, in nearly the same box.
    det = make_detector("centerface")
    boxes, scores, _ = det.detect(astronaut)
    wins = W.search_windows((boxes, scores), (boxes, scores), *astronaut.shape[:2])
    (half, half_scores), = W.detect_in_windows(det, [astronaut], [wins], halves=[True])
    assert len(half) == 1 and np.abs(half[0] - boxes[0]).max() < 6.0 and half_scores[0] > 0.8


class ScaleSensitiveDetector(SquareDetector):
    """Bright squares (value > 128) are faces (score 0.9), but only those 12–200 pixels wide in the image it is given:
    a scaled-down frame loses small squares and the full-size one loses large squares, as CenterFace loses small faces
    scaled down and close-ups at full size. Records the input size of each call."""

    name = "scale-sensitive"
    score_threshold = 0.5
    grid = 32

    def detect(self, rgb):
        boxes, _, _ = super().detect(np.where(rgb > 128, 255, 0).astype(np.uint8))
        side = boxes[:, 2] - boxes[:, 0]
        boxes = boxes[(side >= 12) & (side <= 200)]
        return boxes, np.full(len(boxes), 0.9, np.float32), np.full((len(boxes), 5, 2), np.nan, np.float32)


def _scaled_search_video():
    """80 frames of 1280×720 in two shots: a close-up square (320 px) moving right on all of them, and from the second
    shot on a small one (16 px) as well."""
    shots = Shots(starts=np.array([0, 40]), ends=np.array([39, 79]))
    key = np.arange(80)
    frames = {}
    for f in key.tolist():
        squares = [(100 + 4 * f, 200, 420 + 4 * f, 520)] + ([(900, 100, 916, 116)] if f >= 40 else [])
        frames[f] = _frame(squares, 720, 1280)
    return shots, key, W.full_key_frames(key, shots, 4), W.first_key_frames(key, shots), frames


def _search(frames, key, full, first, batch_size, todo=None, known=None, detector=ScaleSensitiveDetector):
    from types import SimpleNamespace

    det = detector()
    search = W.KeyFrameSearch(det, key, full, first, batch_size=batch_size, coarse_side=640)
    todo = key.tolist() if todo is None else todo
    for f in search.neighbours_outside(todo):
        search.known[f] = known[f]
    search.decide_only = search.anchors_outside(todo)
    done = []
    for f in sorted(set(todo) | search.decide_only):
        done += search.feed(SimpleNamespace(index=f, rgb=frames[f]))
    done += search.finish()
    return {f: (b.round(1).tolist(), s.tolist()) for f, b, s in done}, det.calls, search


def test_large_frames_are_searched_scaled_down_unless_the_full_size_finds_more(monkeypatch):
    monkeypatch.setattr(W, "STEADY_EVERY", 1)  # every window frame searched: this is about sizes
    shots, key, full, first, frames = _scaled_search_video()
    found, calls, search = _search(frames, key, full, first, batch_size=4)
    assert sorted(found) == key.tolist()
    # Anchors: each shot's first whole-searched key frame and every FINE_EVERY-th (8th) after it.
    assert key[full].tolist() == [*range(0, 40, 4), 39, *range(40, 80, 4), 79]
    assert sorted(search.anchors) == [0, 32, 40, 72]
    assert search.full_size_after == {0: False, 32: False, 40: True, 72: True}
    # The close-up is found everywhere (only the scaled-down search sees it), the small square wherever it is.
    for f in key.tolist():
        sides = sorted(round(b[2] - b[0]) for b in found[f][0])
        assert sides == ([16, 320] if f >= 40 else [320]), (f, sides)
    # Whole frames at full size: only the first shot's 2 anchors and all 11 of the second shot (every whole-searched
    # frame is also searched scaled down, as are the windows around the close-up, which cover most of the frame).
    assert calls.count((720, 1280)) == 2 + 11 and calls.count((360, 640)) >= 22


def test_the_two_size_search_does_not_depend_on_batching_or_resuming():
    shots, key, full, first, frames = _scaled_search_video()
    reference, _, _ = _search(frames, key, full, first, batch_size=4)
    assert _search(frames, key, full, first, batch_size=1)[0] == reference
    assert _search(frames, key, full, first, batch_size=7)[0] == reference
    # Resuming with the first 50 key frames done (cached): the rest are found as in one go.
    todo = key[50:].tolist()
    known = {f: (np.asarray(reference[f][0], np.float32).reshape(-1, 4), np.asarray(reference[f][1], np.float32)) for f in key[:50].tolist()}
    resumed, _, search = _search(frames, key, full, first, batch_size=3, todo=todo, known=known)
    assert sorted(resumed) == todo and all(resumed[f] == reference[f] for f in todo)


class CloseUpDetector(ScaleSensitiveDetector):
    """As :class:`ScaleSensitiveDetector`, but squares over 100 pixels wide in its image score 0.6 (unsure, as
    CenterFace is of faces that fill the frame)."""

    def detect(self, rgb):
        boxes, scores, landmarks = super().detect(rgb)
        return boxes, np.where(boxes[:, 2] - boxes[:, 0] > 100, 0.6, scores).astype(np.float32), landmarks


def _close_up_video():
    """40 frames of 1280×720 in one shot: a square filling most of the frame's height (600 px: lost at full size and at
    640, found at 320) from frame 16 on, moving right, and a 120 px one (found at 640) throughout."""
    shots = Shots(starts=np.array([0]), ends=np.array([39]))
    key = np.arange(40)
    frames = {f: _frame([(900, 100, 1020, 220)] + ([(40 + 2 * f, 60, 640 + 2 * f, 660)] if f >= 16 else []), 720, 1280)
              for f in key.tolist()}
    return shots, key, W.full_key_frames(key, shots, 4), W.first_key_frames(key, shots), frames


def test_faces_that_fill_the_frame_are_searched_for_at_the_close_up_size():
    shots, key, full, first, frames = _close_up_video()
    found, calls, search = _search(frames, key, full, first, batch_size=4, detector=CloseUpDetector)
    # Every whole-searched key frame is searched at 320 too, and so are the windows around the unsure close-up.
    for f in key.tolist():
        sides = sorted(round(b[2] - b[0]) for b in found[f][0])
        assert sides == pytest.approx([120, 600] if f >= 16 else [120], abs=8), (f, sides)  # 4 px a pixel at 320
    whole = int(full.sum())
    close_calls = sum(1 for c in calls if c[0] <= 180 and c[1] <= 320 and c != (180, 320))  # windows cut at 320
    assert calls.count((180, 320)) >= whole and close_calls > 0
    # Without the search at 320 the close-up is never found.
    W_close = W.CLOSE_SIDE
    try:
        W.CLOSE_SIDE = 640
        found_without, calls_without, _ = _search(frames, key, full, first, batch_size=4, detector=CloseUpDetector)
    finally:
        W.CLOSE_SIDE = W_close
    assert all(sorted(round(b[2] - b[0]) for b in found_without[f][0]) == [120] for f in key.tolist())
    assert (180, 320) not in calls_without


def test_sure_large_faces_get_no_close_up_windows():
    # The square of 120 px scores 0.9 (sure) at 640: the frames between are searched at 640 only, whole ones at 320 too.
    shots, key, full, first, frames = _close_up_video()
    frames = {f: _frame([(900, 100, 1020, 220)], 720, 1280) for f in key.tolist()}
    found, calls, search = _search(frames, key, full, first, batch_size=4)
    assert all(len(found[f][0]) == 1 for f in key.tolist())
    whole = int(full.sum())
    assert calls.count((180, 320)) == whole
    # Calls: each whole frame at 640 and 320, each anchor at full size, one window (at 640) on each frame between.
    assert len(calls) == 2 * whole + len(search.anchors) + (len(key) - whole)


def test_the_close_up_search_does_not_depend_on_batching_or_resuming():
    shots, key, full, first, frames = _close_up_video()
    reference, _, _ = _search(frames, key, full, first, batch_size=4, detector=CloseUpDetector)
    assert _search(frames, key, full, first, batch_size=1, detector=CloseUpDetector)[0] == reference
    todo = key[34:].tolist()
    known = {f: (np.asarray(reference[f][0], np.float32).reshape(-1, 4), np.asarray(reference[f][1], np.float32)) for f in key[:34].tolist()}
    resumed, _, _ = _search(frames, key, full, first, batch_size=3, todo=todo, known=known, detector=CloseUpDetector)
    assert sorted(resumed) == todo and all(resumed[f] == reference[f] for f in todo)


def _steady_search(squares_at, n=17, every=8):
    """KeyFrameSearch over frames 0..n-1 of one shot (240×320), squares_at(f) → the squares of frame f; frames 0, 8, 16
    whole-searched. Returns {frame: boxes as lists} and the detector's calls."""
    from types import SimpleNamespace

    shots = Shots(starts=np.array([0]), ends=np.array([n - 1]))
    key = np.arange(n)
    full = W.full_key_frames(key, shots, every)
    det = SquareDetector()
    search = W.KeyFrameSearch(det, key, full, batch_size=1)
    done = []
    for f in key.tolist():
        done += search.feed(SimpleNamespace(index=f, rgb=_frame(squares_at(f), 240, 320)))
    done += search.finish()
    return {f: boxes.tolist() for f, boxes, _ in done}, det.calls


def test_between_whole_frames_of_steady_faces_every_other_frame_is_searched():
    """A large face that holds still from one whole-searched key frame to the next: only every STEADY_EVERY-th frame
    between is searched (the tracker interpolates the others); one that moves, or a small one, on every frame."""
    still = (100, 60, 180, 140)  # 80 px
    found, calls = _steady_search(lambda f: [still])
    assert W.STEADY_EVERY == 2
    assert all(found[f] == ([list(still)] if f % 2 == 0 else []) for f in range(17)), found
    assert len(calls) == 3 + 6  # frames 0, 8, 16 whole; 2, 4, 6, 10, 12, 14 in a window
    # Moving 6 px a frame up to frame 8 (48 px from frame 0: IoU under STEADY_IOU), then still.
    found, calls = _steady_search(lambda f: [(100 + 6 * f, 60, 180 + 6 * f, 140)] if f <= 8 else [(148, 60, 228, 140)])
    assert all(len(found[f]) == 1 for f in range(1, 8)) and len(calls) == 3 + 7 + 3
    small = (100, 60, 140, 100)  # 40 px: too small to leave to the tracker
    found, _ = _steady_search(lambda f: [small])
    assert all(found[f] == [list(small)] for f in range(17))
    # A second face coming in by the next whole-searched frame: not the same faces on both sides.
    found, _ = _steady_search(lambda f: [still] + ([(220, 60, 300, 140)] if f >= 5 else []))
    assert all(len(found[f]) >= 1 for f in range(1, 8))


def test_steady_needs_the_same_large_sure_faces_in_the_same_place():
    box = np.array([[100, 60, 180, 140]], np.float32)
    sure = (box, np.array([0.9], np.float32))
    assert W.steady(sure, sure, 0.8)
    assert not W.steady(sure, (box, np.array([0.7], np.float32)), 0.8)  # unsure on one side
    assert not W.steady(sure, sure, 0.8, scale=0.5)  # 40 px of the network input
    assert not W.steady(sure, (box + np.float32([60, 0, 60, 0]), sure[1]), 0.8)  # moved: IoU 0.14
    assert not W.steady(sure, (np.concatenate([box, box + 100]), np.array([0.9, 0.9], np.float32)), 0.8)
    assert not W.steady((box[:0], sure[1][:0]), (box[:0], sure[1][:0]), 0.8)  # no face: nothing to carry
