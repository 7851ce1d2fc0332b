import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from facecluster.types import Detections, Shots
from facecluster.video.shots import shots_from_cuts
from facecluster.video.tracking import TrackerParams, track_faces


def dets(rows):
    """rows: (frame, x1, y1, x2, y2)"""
    a = np.asarray(rows, np.float64).reshape(-1, 5)
    n = len(a)
    return Detections(
        frames=a[:, 0].astype(np.int64),
        boxes=a[:, 1:].astype(np.float32),
        scores=np.ones(n, np.float32),
    )


def test_two_moving_faces_become_two_tracks():
    rows = []
    for f in range(20):
        rows.append((f, 10 + 2 * f, 10, 50 + 2 * f, 60))
        rows.append((f, 200 - 2 * f, 10, 240 - 2 * f, 60))
    d = dets(rows)
    tr = track_faces(d, shots_from_cuts(np.array([]), 20))
    assert tr.num_tracks == 2
    left = tr.track_ids[d.boxes[:, 0] < 100]
    assert len(set(left[d.frames[d.boxes[:, 0] < 100] < 5].tolist())) == 1


def test_tracks_do_not_cross_cuts_and_tolerate_gaps():
    rows = [(f, 10, 10, 50, 60) for f in range(30) if f not in (8, 9, 10)]
    d = dets(rows)
    tr = track_faces(d, shots_from_cuts(np.array([15]), 30), TrackerParams(max_gap=4))
    assert tr.num_tracks == 2
    assert tr.track_shots.tolist() == [0, 1]
    assert set(tr.track_ids[d.frames < 15].tolist()) == {0}


def test_short_tracks_dropped():
    d = dets([(f, 10, 10, 50, 60) for f in range(3)])
    tr = track_faces(d, shots_from_cuts(np.array([]), 3), TrackerParams(min_detections=5))
    assert tr.num_tracks == 0 and np.all(tr.track_ids == -1)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 39), st.integers(0, 200), st.integers(0, 100)), min_size=1, max_size=120),
       st.lists(st.integers(1, 39), max_size=4))
def test_tracks_respect_shots_and_frames(points, cuts):
    rows = [(f, x, y, x + 30, y + 30) for f, x, y in points]
    d = dets(rows)
    shots = shots_from_cuts(np.array(sorted(set(cuts))), 40)
    tr = track_faces(d, shots, TrackerParams(min_detections=1))
    for t in range(tr.num_tracks):
        members = np.flatnonzero(tr.track_ids == t)
        assert len(set(shots.shot_of(d.frames[members]).tolist())) == 1  # one shot
        assert len(set(d.frames[members].tolist())) == len(members)  # one face per frame


def test_key_frames_detect_both_sides_of_every_cut():
    from facecluster.video.tracking import key_frames

    shots = shots_from_cuts([10, 17], 30)  # shots 0–9, 10–16, 17–29
    assert key_frames(shots, 30, 4).tolist() == [0, 4, 8, 9, 10, 14, 16, 17, 21, 25, 29]
    assert key_frames(shots, 30, 1).tolist() == list(range(30))


def test_fill_track_gaps_interpolates_between_detected_faces():
    from facecluster.types import Tracks
    from facecluster.video.tracking import fill_track_gaps

    d = dets([(0, 0, 0, 10, 10), (4, 8, 0, 18, 10), (5, 10, 0, 20, 10), (0, 100, 100, 110, 110)])
    tracks = Tracks(track_ids=np.array([0, 0, 0, -1]), track_shots=np.array([0]))
    filled, t = fill_track_gaps(d, tracks)
    new = np.arange(4, len(filled))
    assert filled.frames[new].tolist() == [1, 2, 3] and np.all(filled.scores[new] == 0) and np.all(t.track_ids[new] == 0)
    assert np.allclose(filled.boxes[new, 0], [2, 4, 6]) and np.allclose(filled.boxes[new, 2], [12, 14, 16])
    assert np.array_equal(filled.frames[:4], d.frames) and np.array_equal(t.track_ids[:4], tracks.track_ids)  # old rows kept
    # Only runs of at most max_gap frames: a face missed on one frame, not one hidden for three.
    d = dets([(0, 0, 0, 10, 10), (2, 4, 0, 14, 10), (6, 12, 0, 22, 10)])
    filled, t = fill_track_gaps(d, Tracks(track_ids=np.array([0, 0, 0]), track_shots=np.array([0])), max_gap=1)
    assert filled.frames[3:].tolist() == [1] and np.allclose(filled.boxes[3], [2, 0, 12, 10])


def test_track_ends_are_found_between_key_frames():
    """A face comes into view at frame 2; key frames (every 4th) see it from frame 4 on: the
    window search before the track's first face finds frames 3 and 2, and stops at 1."""
    from types import SimpleNamespace

    from facecluster.faces.detect.base import FaceDetector
    from facecluster.faces.detect.track_ends import end_requests, extend_track_ends
    from facecluster.types import Tracks

    def face_at(frame):  # the face moves 2 px a frame to the right
        return np.array([40 + 2 * frame, 40, 80 + 2 * frame, 80], np.float32)

    class WindowDetector(FaceDetector):
        """Sees the face where the frame index (red channel) says it is; the window's origin is
        read from the green (x) and blue (y) channels."""

        params = {}

        def detect(self, rgb):
            frame, x0, y0 = int(rgb[0, 0, 0]), int(rgb[0, 0, 1]), int(rgb[0, 0, 2])
            if frame < 2:
                return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32)
            return (face_at(frame) - np.array([x0, y0, x0, y0], np.float32))[None], np.array([0.9], np.float32), None

    ys, xs = np.mgrid[0:200, 0:200]
    frames = [SimpleNamespace(index=f, rgb=np.stack([np.full((200, 200), f), xs, ys], axis=2).astype(np.uint8)) for f in range(10)]
    shots = shots_from_cuts([], 10)
    keys = [4, 8, 9]
    d = Detections(frames=np.array(keys), boxes=np.stack([face_at(f) for f in keys]), scores=np.full(3, 0.9, np.float32))
    tracks = Tracks(track_ids=np.zeros(3, np.int64), track_shots=np.zeros(1, np.int64))
    assert sorted(end_requests(d, tracks, shots, 4)) == [1, 2, 3]
    ext, ext_tracks = extend_track_ends(iter(frames), d, tracks, shots, WindowDetector(), 4)
    assert ext.frames[3:].tolist() == [3, 2] and np.all(ext_tracks.track_ids == 0)
    assert np.allclose(ext.boxes[3:], [face_at(3), face_at(2)])


def _person_frame(box, seed: int, shift: int = 0) -> np.ndarray:
    """A 240x320 frame with one 'person' at ``box``: a textured patch (seed: who) on a grey background."""
    rng = np.random.default_rng(seed)
    frame = np.full((240, 320, 3), 90, np.uint8)
    x1, y1, x2, y2 = box
    pattern = rng.integers(0, 255, (8, 8, 3)).astype(np.uint8)
    import cv2

    region = cv2.resize(pattern, (int(2.4 * (x2 - x1)), int(2.4 * (y2 - y1))), interpolation=cv2.INTER_NEAREST)
    cx, cy = (x1 + x2) // 2 + shift, (y1 + y2) // 2
    top, left = cy - region.shape[0] // 2, cx - region.shape[1] // 2
    frame[max(0, top):top + region.shape[0], max(0, left):left + region.shape[1]] = region[max(0, -top):, max(0, -left):][
        : 240 - max(0, top), : 320 - max(0, left)]
    return frame


def test_a_box_that_overlaps_but_shows_another_person_starts_a_new_track():
    """Person A is seen on frames 0-9; from frame 10 only B, beside A's place (IoU 0.5 with A's last box): without
    appearance signatures the IoU tracker runs A's track on through B; with them, B starts a track of its own."""
    from facecluster.appearance import face_signatures

    a_box, b_box = (100, 80, 160, 150), (120, 80, 180, 150)
    rows, sigs = [], []
    for f in range(20):
        box, who = (a_box, 1) if f < 10 else (b_box, 2)
        rows.append((f, *box))
        sigs.append(face_signatures(_person_frame(box, who, shift=f % 3), np.asarray([box], np.float32))[0])
    d = dets(rows)
    shots = shots_from_cuts(np.array([]), 20)
    blind = track_faces(d, shots, TrackerParams(max_appearance=None))
    assert blind.num_tracks == 1  # the failure the check is for
    seeing = track_faces(Detections(frames=d.frames, boxes=d.boxes, scores=d.scores, signatures=np.stack(sigs)), shots)
    assert seeing.num_tracks == 2
    assert set(seeing.track_ids[:10].tolist()) == {0} and set(seeing.track_ids[10:].tolist()) == {1}
    # The same person moving a little is never refused.
    same = [face_signatures(_person_frame(a_box, 1, shift=s), np.asarray([a_box], np.float32))[0] for s in range(20)]
    kept = track_faces(Detections(frames=d.frames, boxes=np.repeat(np.float32([a_box]), 20, 0), scores=d.scores,
                                  signatures=np.stack(same)), shots)
    assert kept.num_tracks == 1


def test_when_every_face_on_screen_changes_at_once_the_tracker_reports_a_cut():
    """A on frames 0-9, then B in A's place to frame 29 (a cut the shot detector missed): the shot splits at frame 10 and each
    track keeps to its own shot. With C on screen throughout beside them (the same person on both sides), A's place
    taken by B is no cut: one track is refused, not all."""
    from facecluster.appearance import face_signatures
    from facecluster.video.tracking import split_shots, track_faces_and_cuts

    a_box, b_box, c_box = (100, 80, 160, 150), (110, 80, 170, 150), (230, 60, 290, 130)

    def run(with_c: bool, last: int = 29):
        rows, sigs = [], []
        for f in range(last + 1):
            people = [(a_box, 1) if f < 10 else (b_box, 2)] + ([(c_box, 3)] if with_c else [])
            frame = _person_frame(people[0][0], people[0][1], shift=f % 3)
            if with_c:
                frame = np.where(np.arange(320)[None, :, None] >= 200, _person_frame(c_box, 3, shift=f % 3), frame)
            for box, _ in people:
                rows.append((f, *box))
                sigs.append(face_signatures(frame, np.asarray([box], np.float32))[0])
        d = dets(rows)
        return track_faces_and_cuts(Detections(frames=d.frames, boxes=d.boxes, scores=d.scores, signatures=np.stack(sigs)),
                                    shots_from_cuts(np.array([]), last + 1))

    tracks, shots, cuts = run(with_c=False)
    assert cuts.tolist() == [10] and shots.starts.tolist() == [0, 10] and shots.ends.tolist() == [9, 29]
    assert tracks.num_tracks == 2 and tracks.track_shots.tolist() == [0, 1]
    # Near a shot's start or end (a dissolve into the next shot changes the faces frame after frame) no cut is added.
    tracks, shots, cuts = run(with_c=False, last=16)
    assert cuts.tolist() == [] and tracks.num_tracks == 2
    tracks, shots, cuts = run(with_c=True)
    assert cuts.tolist() == [] and shots.starts.tolist() == [0]
    assert tracks.num_tracks == 3  # A, C and B
    # Splitting shots: a frame that starts a shot already is no new cut; each shot ends where the next starts.
    base = Shots(starts=np.array([0, 30]), ends=np.array([29, 59]))
    split = split_shots(base, np.array([30, 12, 45]))
    assert split.starts.tolist() == [0, 12, 30, 45] and split.ends.tolist() == [11, 29, 44, 59]


def test_max_appearance_must_be_positive():
    import pytest

    from facecluster.errors import ParameterError

    with pytest.raises(ParameterError, match="max_appearance must be > 0"):
        TrackerParams(max_appearance=0.0)


def test_faces_to_embed_are_spread_over_time_whatever_was_interpolated():
    """select_faces picks the detected faces nearest to evenly spaced frames: with every other frame of a stretch
    left to interpolation (score 0), the faces picked are within a frame of those picked with every frame detected."""
    from facecluster.types import Detections, Tracks
    from facecluster.video.tracking import select_faces

    frames = np.arange(100)
    scores = np.full(100, 0.9, np.float32)
    every = Detections(frames=frames, boxes=np.zeros((100, 4), np.float32), scores=scores)
    tracks = Tracks(track_ids=np.zeros(100, np.int64), track_shots=np.array([0]))
    sparse_scores = np.where((frames >= 20) & (frames < 60) & (frames % 2 == 1), 0.0, scores).astype(np.float32)
    sparse = Detections(frames=frames, boxes=every.boxes, scores=sparse_scores)
    picked_every, picked_sparse = select_faces(tracks, every, 16), select_faces(tracks, sparse, 16)
    assert picked_every.tolist() == np.round(np.linspace(0, 99, 16)).astype(int).tolist()
    assert len(picked_sparse) == 16 and (sparse_scores[picked_sparse] > 0).all()
    assert np.abs(frames[picked_sparse] - frames[picked_every]).max() <= 1
