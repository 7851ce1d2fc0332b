"""Key frames searched only around the faces of the whole-searched key frames on either side.

With detection on key frames (every k-th frame of a shot), most of the detector's time
goes to frames whose faces are where they were a few frames before. With ``full_every``
m > 1, only every m-th key frame of a shot, and its first and last, is searched whole.
Each key frame in between is searched in windows around the faces found on the
whole-searched key frame before it and the one after it (in the same shot): a face seen
on both gets one window around both of its boxes, reaching ``MARGIN`` box sides beyond
them; a face seen on one side only (coming into view, leaving, or missed once) gets a
wider window around that box, ``MARGIN_ONE_SIDE`` box sides. A face that scored near the
detector's threshold (less than ``UNSURE`` above it) gets ``MARGIN_UNSURE`` box sides: the
network's score for a face depends on the frame around it, well beyond the face (on
Hamilton, a face of 37 px scoring 0.52 in the whole frame scored 0.39 in a window 0.5 box
sides wider, 0.46 at 1 and 0.52 at 3), and without that context such faces were lost. A large
face needs much less (``MARGIN_UNSURE_LARGE`` from ``LARGE_CONTEXT_SIDE`` pixels of the network
input): three box sides around a TV close-up are the whole frame.

The windows are cut from the very pixels the network sees for the whole frame (the
detector's :meth:`~facecluster.faces.detect.base.FaceDetector.network_input`), their
corners on the network's stride grid, so that a face well inside a window gets the
box and score it gets in the whole frame. Windows that overlap are merged; where the
windows would cover more than ``FULL_AREA`` of the frame, the frame is searched whole.
Where every face on both sides is large (``HALF_MIN_SIDE`` px or more) and sure (``HALF_SURE``
above the threshold), or larger still (``HALF_ANY_SIDE``), the windows are cut from the network input scaled to half its size
where its sides stay multiples of the grid (a quarter of the cost; on Sweden's close-ups ~1.3 s of its ~15 s of detection, with the
same faces found on the dev clips and the two joined).

A face found in a window counts only if its box does not touch a window edge that lies
inside the frame (a face cut by the window gets a box cut short); faces found in two
windows of one frame are merged by non-maximum suppression.

On the whole-searched frames the detector also keeps the faces that scored up to ``SEED_BELOW``
under its threshold: they are not detections, but they get the widest windows on the frames
between, where such a face often scores above the threshold. Without them a face that flickers
at the threshold was lost wherever both whole-searched frames around it missed it: at m = 3 the
joined dev clip's recall fell to 0.964 from 0.974 with every key frame whole; with them it is
0.974 at m = 3, 4 and 6 (benchmarks/results/detect_every.md).

Where the faces hold still between two whole-searched key frames (the same faces on both, each large,
sure and in nearly the same place: ``steady``), only every ``STEADY_EVERY``-th frame between them is searched;
the tracker fills the others in (boxes interpolated between a track's detected faces, score 0), as it does
between key frames. A TV close-up held for a few seconds is the common case.

A face that comes into view and leaves again between two whole-searched key frames is
not found, nor one the detector scores more than ``SEED_BELOW`` under its threshold on both of them.

Frames larger than ``coarse_side`` (640 by default: HD and up) are searched at two sizes: the detector's full input
size finds small faces that a scaled-down frame loses, and the scaled-down frame finds large faces that the full size
loses (CenterFace at 1280 pixels missed a third of the faces of a 640×360 clip scaled to 1080p, most of them close-ups
over 150 pixels wide; scaled down to 640 it missed 4 %). The first whole-searched key frame of each shot, and every
``FINE_EVERY``-th after it, is an *anchor*: searched at both sizes, its faces the union of the two. If the full size
found a face that the small one did not (no candidate there at IoU ``GAIN_IOU``), the key frames up to the next anchor
are searched at both sizes too (windows around small faces at full size, around the others scaled down); otherwise
scaled down only, windows included, at about a quarter of the cost on 720p. The choice depends only on the anchors,
so not on how frames are batched.

Faces that fill the frame are lost by the scaled-down search too: a face 1000 pixels high in a 1080p frame is 330 pixels
high at 640, where CenterFace scores it 0.30–0.50 (under its threshold), and 0.55–0.70 at 320 (a 426×240 trailer scaled
to 1080p lost 0.09 of its faces this way, nearly all close-ups of its lead). So every whole-searched key frame is also
searched at ``CLOSE_SIDE`` (a quarter of the scaled-down search's pixels), and the windows around faces of ``LARGE_SIDE``
pixels or more of the scaled-down frame are searched at that size as well, unless the face scored ``HALF_SURE`` or more
above the threshold wherever it was seen (then the scaled-down search is sure to find it: a lecturer's face in a 406×720
clip cost 20 % more time for nothing, searched at both sizes).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from facecluster.boxes import box_iou
from facecluster.faces.detect.base import FaceDetector, nms
from facecluster.types import Shots

CODE_VERSION = 8  # bump when a change alters what the windows find
MARGIN = 0.5  # how far a window reaches beyond the boxes of a face seen on both sides, in box sides
MARGIN_ONE_SIDE = 1.5  # the same for a face seen on one side only (coming into view or leaving: often moving)
# A face that scored less than UNSURE above the detector's threshold is found again only with more of the frame around it.
UNSURE = 0.1
MARGIN_UNSURE = 3.0
# ...but only a small one: an unsure face this many pixels of the network input or larger (longer side) is found again
# with MARGIN_UNSURE_LARGE box sides around it: chosen leave-one-clip-out from 0/48/96/192 as the smallest size from
# which every unsure face of the other clips was found with that margin (96 for each clip; 252 of 252 such faces found,
# of 48–96 px 291 of 305; benchmarks/bench_window_context.py → results/window_context.md).
LARGE_CONTEXT_SIDE = 96.0
MARGIN_UNSURE_LARGE = 1.0
PAIR_IOU = 0.1  # boxes before and after with at least this IoU are taken as one face and get one window
FULL_AREA = 0.5  # windows covering more than this share of the frame: search the frame whole
HALF_MIN_SIDE = 64.0  # frame pixels
HALF_SURE = 0.3  # above the detector's threshold
# Faces this large (shorter side, pixels of the network input) are searched at half size whatever their score.
# benchmarks/bench_window_context.py (results/window_context.md) chose 128 leave-one-clip-out from 64/128/192/256, the
# smallest size from which every unsure face of the other clips was found at half size (unsure faces of 128 px or more:
# 87 of 87; 64–128 px: 144 of 148); but on the dev suite 128 lost faces (Joker's recall 0.9916 → 0.9885, one person
# more; supernatural_a 0.9980 → 0.9973) where 192 lost none on any clip (results/dev_suite_ctx128.json against the
# first 192 run, both while seeds still qualified; dev_suite_ctx192.json is the final one): 192 it is.
HALF_ANY_SIDE = 192.0
# Between whole-searched key frames whose faces are steady (see steady()), search every STEADY_EVERY-th frame only.
STEADY_EVERY = 2
STEADY_IOU = 0.5  # a face's boxes before and after overlap this much at least
EDGE_PX = 2.0  # a box within this many network-input pixels of an inner window edge was cut by it
SEED_BELOW = 0.2  # faces this far under the threshold on whole-searched frames are searched for on the frames between (0, 0.1, 0.2 leave-one-clip-out: results/dev_suite_detect_loso_seed_below.md)
FINE_EVERY = 8  # whole-searched key frames of a shot from one anchor (searched at both sizes) to the next
GAIN_IOU = 0.3  # a full-size face with no scaled-down candidate at this IoU is one that only the full size finds
# Where both sizes are searched, windows around faces under this many pixels of the scaled-down frame are searched at
# full size, the others scaled down (whole 720p frames of the 1280×720 dev clip: the scaled-down search found 0.97 of
# the faces under 24 pixels there and all of those of 24–32, against the full size).
SMALL_SIDE = 32
CLOSE_SIDE = 320  # the longer side of the search for faces that fill the frame (frames larger than coarse_side)
LARGE_SIDE = 96  # pixels of the scaled-down frame: faces this large get windows at CLOSE_SIDE too, where it is searched


def search_params(full_every: int) -> dict:
    """Everything that changes what the window search finds, as JSON-able values (for the detection cache key)."""
    return {"full_every": full_every, "margin": [MARGIN, MARGIN_ONE_SIDE, MARGIN_UNSURE, UNSURE],
            "large_context": [LARGE_CONTEXT_SIDE, MARGIN_UNSURE_LARGE], "pair_iou": PAIR_IOU,
            "full_area": FULL_AREA, "half": [HALF_MIN_SIDE, HALF_SURE, HALF_ANY_SIDE], "edge": EDGE_PX, "seed_below": SEED_BELOW,
            "steady": [STEADY_EVERY, STEADY_IOU], "code": CODE_VERSION}


def scale_params(coarse_side: int | None) -> dict:
    """What changes the two-size search (for the detection cache key); {} where it is off."""
    if not coarse_side:
        return {}
    return {"coarse_side": coarse_side, "fine_every": FINE_EVERY, "gain_iou": GAIN_IOU, "small_side": SMALL_SIDE,
            "close": [CLOSE_SIDE, LARGE_SIDE], "code": CODE_VERSION}


def first_key_frames(key: np.ndarray, shots: Shots) -> np.ndarray:
    """(K,) bool: which of the sorted key frames ``key`` are the first of their shot."""
    key = np.asarray(key, np.int64)
    if not len(key):
        return np.zeros(0, bool)
    if not len(shots.starts):
        return np.r_[True, np.zeros(len(key) - 1, bool)]
    shot = shots.shot_of(key)
    return np.r_[True, shot[1:] != shot[:-1]]


def full_size_gain(fine: tuple[np.ndarray, np.ndarray], coarse: tuple[np.ndarray, np.ndarray], threshold: float) -> bool:
    """Whether the full-size search found a face (score ≥ ``threshold``) that the scaled-down one did not: no candidate
    of it at IoU ``GAIN_IOU``. fine, coarse: boxes (K, 4) in frame pixels and scores (K,)."""
    boxes = np.asarray(fine[0], np.float64).reshape(-1, 4)[np.asarray(fine[1]) >= threshold]
    if not len(boxes):
        return False
    others = np.asarray(coarse[0], np.float64).reshape(-1, 4)
    if not len(others):
        return True
    return bool((box_iou(boxes, others).max(axis=1) < GAIN_IOU).any())


def full_key_frames(key: np.ndarray, shots: Shots, full_every: int) -> np.ndarray:
    """Which key frames are searched whole: (K,) bool for the sorted key frames ``key``.

    In each shot: its first and last key frame and every ``full_every``-th one after the first."""
    key = np.asarray(key, np.int64)
    if full_every <= 1 or not len(key) or not len(shots.starts):
        return np.ones(len(key), bool)
    first = first_key_frames(key, shots)
    last = np.r_[first[1:], True]
    starts = np.flatnonzero(first)
    position = np.arange(len(key)) - np.repeat(starts, np.diff(np.r_[starts, len(key)]))
    return first | last | (position % full_every == 0)


def search_windows(before: tuple[np.ndarray, np.ndarray], after: tuple[np.ndarray, np.ndarray], height: int, width: int,
                   unsure_below: float = 0.0, input_scale: float = 1.0, threshold: float = 0.0) -> np.ndarray:
    """Windows to search on a frame between two whole-searched ones: (W, 4) float64 x1, y1, x2, y2 in frame pixels.

    before, after: the faces found on the frames either side, as boxes (B, 4) and scores (B,). Each face's
    box (or boxes) widened on each side by ``MARGIN`` box sides (``MARGIN_ONE_SIDE`` for a face seen on one
    side only; ``MARGIN_UNSURE`` for a face that scored below ``unsure_below`` wherever it was seen, or
    ``MARGIN_UNSURE_LARGE`` where that face is ``LARGE_CONTEXT_SIDE`` pixels or more of the network input, whose
    pixels are ``input_scale`` to a frame pixel, and was detected: scored ``threshold`` or more; a seed under it keeps
    the wide context), clipped to the frame."""
    from scipy.optimize import linear_sum_assignment  # here, not at start-up: ~0.5 s of CPU

    (b_boxes, b_scores), (a_boxes, a_scores) = before, after
    b_boxes = np.asarray(b_boxes, np.float64).reshape(-1, 4)
    a_boxes = np.asarray(a_boxes, np.float64).reshape(-1, 4)
    groups: list[tuple[np.ndarray, float]] = []  # the boxes of one face, its best score
    paired_b: set[int] = set()
    paired_a: set[int] = set()
    if len(b_boxes) and len(a_boxes):
        iou = box_iou(b_boxes, a_boxes)
        rows, cols = linear_sum_assignment(-iou)
        for r, c in zip(rows.tolist(), cols.tolist()):
            if iou[r, c] >= PAIR_IOU:
                groups.append((np.stack([b_boxes[r], a_boxes[c]]), max(float(b_scores[r]), float(a_scores[c]))))
                paired_b.add(r)
                paired_a.add(c)
    groups += [(b_boxes[i : i + 1], float(b_scores[i])) for i in range(len(b_boxes)) if i not in paired_b]
    groups += [(a_boxes[i : i + 1], float(a_scores[i])) for i in range(len(a_boxes)) if i not in paired_a]
    windows = []
    for boxes, score in groups:
        face = float(np.max(np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])))
        if score >= unsure_below:
            margin = MARGIN
        elif face * input_scale >= LARGE_CONTEXT_SIDE and score >= threshold:
            margin = MARGIN_UNSURE_LARGE
        else:
            margin = MARGIN_UNSURE
        if len(boxes) == 1:  # seen on one side only: it may have moved
            margin = max(margin, MARGIN_ONE_SIDE)
        reach = margin * face
        windows.append((max(0.0, boxes[:, 0].min() - reach), max(0.0, boxes[:, 1].min() - reach),
                        min(float(width), boxes[:, 2].max() + reach), min(float(height), boxes[:, 3].max() + reach)))
    return np.asarray(windows, np.float64).reshape(-1, 4)


def large_and_sure(faces: Sequence[tuple[np.ndarray, np.ndarray]], sure: float, scale: float = 1.0,
                   threshold: float = 0.0) -> bool:
    """Whether every face (boxes (B, 4) in frame pixels, scores (B,)) is at least ``HALF_MIN_SIDE`` pixels of the
    network input (``scale`` of them to a frame pixel) and scored ``sure`` or more, or is ``HALF_ANY_SIDE`` pixels or
    more and was detected (scored ``threshold`` or more: a seed under it is no face yet, and at half size a frame-sized
    blur scored 0.53 on Sweden): then the faces between are searched at half that input's resolution."""
    boxes = np.concatenate([np.asarray(b, np.float64).reshape(-1, 4) for b, _ in faces])
    scores = np.concatenate([np.asarray(s, np.float64) for _, s in faces])
    if not len(boxes):
        return False
    sides = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    sides = sides * scale
    return bool(((sides >= HALF_MIN_SIDE) & (scores >= sure) | (sides >= HALF_ANY_SIDE) & (scores >= threshold)).all())


def steady(before: tuple[np.ndarray, np.ndarray], after: tuple[np.ndarray, np.ndarray], sure: float,
           scale: float = 1.0) -> bool:
    """Whether the faces of two whole-searched key frames hold still: the same number on both (at least one), every
    one scored ``sure`` or more (no seed under it either) and is ``HALF_MIN_SIDE`` pixels of the network input or more
    (``scale`` of them to a frame pixel), and each face's boxes on the two overlap by ``STEADY_IOU`` or more.
    before, after: boxes (B, 4) in frame pixels and scores (B,)."""
    (b_boxes, b_scores), (a_boxes, a_scores) = before, after
    b_boxes = np.asarray(b_boxes, np.float64).reshape(-1, 4)
    a_boxes = np.asarray(a_boxes, np.float64).reshape(-1, 4)
    if len(b_boxes) != len(a_boxes) or not large_and_sure([before, after], sure, scale, threshold=np.inf):
        return False  # (an infinite threshold: no face passes on size alone)
    from scipy.optimize import linear_sum_assignment

    iou = box_iou(b_boxes, a_boxes)
    rows, cols = linear_sum_assignment(-iou)
    return bool((iou[rows, cols] >= STEADY_IOU).all())


def _area(w: np.ndarray) -> float:
    return float((w[2] - w[0]) * (w[3] - w[1]))


def grid_windows(windows: np.ndarray, sx: float, sy: float, in_w: int, in_h: int, grid: int) -> np.ndarray:
    """Frame-pixel windows (W, 4) as network-input windows: (V, 4) int64, corners on the ``grid``, inside
    the input (in_w × in_h), windows whose union is no larger than the two of them merged into one."""
    out = []
    for x1, y1, x2, y2 in np.asarray(windows, np.float64).reshape(-1, 4):
        a = [int(np.floor(x1 * sx / grid) * grid), int(np.floor(y1 * sy / grid) * grid),
             min(in_w, int(np.ceil(x2 * sx / grid) * grid)), min(in_h, int(np.ceil(y2 * sy / grid) * grid))]
        if a[2] > a[0] and a[3] > a[1]:
            out.append(np.asarray(a, np.int64))
    merged = True
    while merged and len(out) > 1:
        merged = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                union = np.r_[np.minimum(out[i][:2], out[j][:2]), np.maximum(out[i][2:], out[j][2:])]
                if _area(union) <= _area(out[i]) + _area(out[j]):
                    out[i] = union
                    del out[j]
                    merged = True
                    break
            if merged:
                break
    return np.asarray(out, np.int64).reshape(-1, 4)


def detect_in_windows(detector: FaceDetector, images: Sequence[np.ndarray], windows: Sequence[np.ndarray],
                      halves: Sequence[bool] | None = None,
                      max_sides: Sequence[int | None] | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Faces found in the windows of each image: per image, boxes (K, 4) float32 in frame pixels and scores (K,).

    images: H×W×3 uint8 frames; windows: per image, (W, 4) frame-pixel windows from :func:`search_windows`;
    halves: per image, whether to search the network input at half its size (see :func:`large_and_sure`);
    max_sides: per image, the network input's longer side at most (None: the detector's own size)."""
    import cv2

    jobs = []  # (image index, input window x1, y1, x2, y2, input width, height, sx, sy, crop)
    for i, (rgb, wins) in enumerate(zip(images, windows)):
        if not len(wins):
            continue
        size = max_sides[i] if max_sides is not None else None
        image, sx, sy = detector.network_input(rgb) if size is None else detector.network_input(rgb, size)
        in_h, in_w = image.shape[:2]
        if halves is not None and halves[i] and in_w % (2 * detector.grid) == 0 and in_h % (2 * detector.grid) == 0:
            in_w, in_h, sx, sy = in_w // 2, in_h // 2, sx / 2, sy / 2
            image = cv2.resize(image, (in_w, in_h), interpolation=cv2.INTER_AREA)
        cut = grid_windows(wins, sx, sy, in_w, in_h, detector.grid)
        if sum(_area(w) for w in cut) > FULL_AREA * in_w * in_h:
            cut = np.asarray([[0, 0, in_w, in_h]], np.int64)
        for x1, y1, x2, y2 in cut.tolist():
            jobs.append((i, (x1, y1, x2, y2), (in_w, in_h), (sx, sy), np.ascontiguousarray(image[y1:y2, x1:x2])))
    found = detector.map(detector.detect_input, [crop for *_, crop in jobs])
    min_size = float(getattr(detector, "min_size", 0.0))
    boxes_of: list[list[np.ndarray]] = [[] for _ in images]
    scores_of: list[list[np.ndarray]] = [[] for _ in images]
    for (i, (x1, y1, x2, y2), (in_w, in_h), (sx, sy), _), (boxes, scores) in zip(jobs, found):
        if not len(boxes):
            continue
        inner = np.ones(len(boxes), bool)
        if x1 > 0:
            inner &= boxes[:, 0] > EDGE_PX
        if y1 > 0:
            inner &= boxes[:, 1] > EDGE_PX
        if x2 < in_w:
            inner &= boxes[:, 2] < (x2 - x1) - EDGE_PX
        if y2 < in_h:
            inner &= boxes[:, 3] < (y2 - y1) - EDGE_PX
        boxes = (boxes[inner] + np.array([x1, y1, x1, y1], np.float32)) / np.array([sx, sy, sx, sy], np.float32)
        scores = scores[inner]
        big = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) >= min_size
        boxes_of[i].append(boxes[big].astype(np.float32))
        scores_of[i].append(scores[big].astype(np.float32))
    nms_iou = float(getattr(detector, "nms_iou", 0.3))
    out = []
    for boxes, scores in zip(boxes_of, scores_of):
        b = np.concatenate(boxes) if boxes else np.zeros((0, 4), np.float32)
        s = np.concatenate(scores) if scores else np.zeros(0, np.float32)
        if len(b) > 1:
            keep = nms(b, s, nms_iou)
            b, s = b[keep], s[keep]
        out.append((b.reshape(-1, 4).astype(np.float32), s.astype(np.float32)))
    return out


class KeyFrameSearch:
    """Detection over a stream of decoded key frames, in frame order: the whole-searched ones in batches of
    ``batch_size`` (side by side, :meth:`FaceDetector.detect_candidates`), each other one in windows
    (:func:`detect_in_windows`) once the whole-searched frame after it is done; until then it waits, decoded.

    key (K,) sorted key frames, full (K,) bool from :func:`full_key_frames` and first (K,) bool from
    :func:`first_key_frames` (each passed to :meth:`declare` in turn); or, where the key frames are decided as the
    video is decoded, none at first and each one declared before it is fed. ``coarse_side``: the longer side, in
    pixels, of the scaled-down search of large frames (see the module; None: every frame at the detector's own size).
    :attr:`known` takes the faces,
    boxes (B, 4) and scores (B,), of whole-searched frames that will not be fed (found earlier, e.g. cached) but
    that windows to search need (:meth:`neighbours_outside`); :attr:`decide_only` the anchors that will be fed
    only for the size they choose (their faces found earlier, :meth:`anchors_outside`).
    :meth:`feed` and :meth:`finish` return what is done as (frame, boxes (K, 4), scores (K,)), not in frame order;
    with ``describe`` (e.g. :func:`facecluster.appearance.face_signatures`), as (frame, boxes, scores,
    describe(rgb, boxes)), each face described from its frame while the frame is at hand.
    On whole-searched frames these include the faces that scored up to ``SEED_BELOW`` under the detector's
    threshold (seeds for the windows, not detections: keep them with the results, for :attr:`known` on a
    resumed search, and drop them as detections, see :func:`detections_only`)."""

    def __init__(self, detector: FaceDetector, key: Sequence[int] = (), full: Sequence[bool] = (), first: Sequence[bool] = (),
                 batch_size: int | None = None, describe: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
                 coarse_side: int | None = None) -> None:
        self.detector = detector
        self.describe = describe
        self.coarse_side = coarse_side or None
        self.is_full: dict[int, bool] = {}
        self.around: dict[int, tuple[int, int | None]] = {}  # window frame → whole-searched key frames before and after it
        self.known: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.found: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # faces of whole-searched frames, while windows need them
        self.anchor_of: dict[int, int] = {}  # key frame → the anchor whose searches choose its size
        self.anchors: set[int] = set()
        self.full_size_after: dict[int, bool] = {}  # anchor → whether the key frames up to the next one are searched at full size
        self.decide_only: set[int] = set()
        self.threshold = float(getattr(detector, "score_threshold", 0.0))
        self.batch_size = batch_size or 2 * detector.threads
        self.batch: list = []  # whole-searched frames, decoded, to detect
        self.waiting: list = []  # window frames, decoded, until the whole-searched frame after them is done
        self._last_whole: int | None = None  # declared key frames: the latest whole-searched one
        self._open: list[int] = []  # declared window frames whose next whole-searched frame is not declared yet
        self._anchor: int | None = None  # declared key frames: the latest anchor
        self._whole_in_shot = 0
        firsts = np.asarray(first, bool).tolist() if len(first) else [False] * len(key)
        for frame, whole, starts in zip(np.asarray(key).tolist(), np.asarray(full).tolist(), firsts):
            self.declare(frame, whole, starts)

    def declare(self, frame: int, whole: bool, first: bool = False) -> None:
        """One more key frame, after every key frame declared before it, searched ``whole`` or in windows
        around the faces of the whole-searched key frames before and after it (the next one declared whole; each
        shot's first and last key frames are whole, as :func:`full_key_frames` has them); ``first``: the first
        key frame of its shot."""
        self.is_full[frame] = whole
        if whole:
            for f in self._open:
                self.around[f] = (self.around[f][0], frame)
            self._open.clear()
            self._last_whole = frame
            if first or self._anchor is None:
                self._whole_in_shot = 0
            if self._whole_in_shot % FINE_EVERY == 0:
                self._anchor = frame
                self.anchors.add(frame)
            self._whole_in_shot += 1
        else:
            if self._last_whole is None:
                raise ValueError(f"key frame {frame} is searched in windows but no whole-searched key frame comes before it")
            self.around[frame] = (self._last_whole, None)
            self._open.append(frame)
        self.anchor_of[frame] = self._anchor

    def neighbours_outside(self, frames: Iterable[int]) -> set[int]:
        """The whole-searched key frames next to the window frames among ``frames`` that are not in ``frames``
        themselves (e.g. frames to detect now next to frames detected earlier)."""
        frames = set(frames)
        return {n for f, around in self.around.items() if f in frames for n in around if n not in frames}

    def anchors_outside(self, frames: Iterable[int]) -> set[int]:
        """The anchors that choose the search size of key frames among ``frames`` and are not in ``frames``
        themselves: to feed again, as :attr:`decide_only`, where the search size is in question."""
        frames = set(frames)
        return {self.anchor_of[f] for f in frames if f in self.anchor_of} - frames

    def _faces_at(self, frame: int) -> tuple[np.ndarray, np.ndarray] | None:
        return self.found.get(frame, self.known.get(frame))

    def feed(self, frame) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """Take one decoded key frame (``.index``, ``.rgb``)."""
        if not self.is_full[frame.index] and frame.index not in self.decide_only:
            self.waiting.append(frame)
            return []
        self.batch.append(frame)
        return self._run() if len(self.batch) >= self.batch_size else []

    def finish(self) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """Detect what is left; window frames whose next whole-searched frame never came (the video ended
        early) are searched around the faces before them only."""
        done = self._run()
        for frame in self.waiting:
            before, after = self.around[frame.index]
            if after is None:  # declared frames after the last whole-searched one: around the faces before them
                self.around[frame.index] = (before, before)
            else:
                self.found.setdefault(after, (np.zeros((0, 4), np.float32), np.zeros(0, np.float32)))
        return done + self._run()

    def _two_sizes(self, rgb: np.ndarray) -> bool:
        """Whether this frame is searched scaled down where its anchor allows."""
        if self.coarse_side is None:
            return False
        h, w = rgb.shape[:2]
        return self.detector.input_side(h, w, self.coarse_side) < self.detector.input_side(h, w)

    def _close_side(self, rgb: np.ndarray) -> int | None:
        """The longer side of the search for faces that fill this frame (None: none, the frame is searched at one size
        or the scaled-down search is no larger)."""
        if not self._two_sizes(rgb):
            return None
        h, w = rgb.shape[:2]
        return CLOSE_SIDE if self.detector.input_side(h, w, CLOSE_SIDE) < self.detector.input_side(h, w, self.coarse_side) else None

    def _window_searches(self, frame, sides: list[tuple[np.ndarray, np.ndarray]]) -> list[tuple[list, int | None]]:
        """How to search a window frame around the faces before and after it: [(those faces, the network input's
        longer side or None for full size)]. Scaled down where its anchor chose so; where it chose both sizes, the
        faces under ``SMALL_SIDE`` pixels of the scaled-down frame at full size and the others scaled down; and the
        large faces that are not sure (``LARGE_SIDE``, ``HALF_SURE``) at ``CLOSE_SIDE`` as well."""
        if not self._two_sizes(frame.rgb):
            return [(sides, None)]
        anchor = self.anchor_of[frame.index]
        h, w = frame.rgb.shape[:2]
        scale = self.detector.input_side(h, w, self.coarse_side) / max(h, w)

        def split(below: float) -> tuple[list, list]:
            under, over = [], []
            for boxes, scores in sides:
                boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
                is_under = np.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) * scale < below
                under.append((boxes[is_under], np.asarray(scores)[is_under]))
                over.append((boxes[~is_under], np.asarray(scores)[~is_under]))
            return under, over

        searches = [(sides, self.coarse_side)]
        if self.full_size_after[anchor]:
            small, large = split(SMALL_SIDE)
            searches = [(small, None), (large, self.coarse_side)]
        close = self._close_side(frame.rgb)
        if close:
            unsure = [(boxes[scores < self.threshold + HALF_SURE], scores[scores < self.threshold + HALF_SURE])
                      for boxes, scores in split(LARGE_SIDE)[1]]
            if any(len(scores) for _, scores in unsure):
                searches.append((unsure, close))
        return searches

    def _skipped(self, frame) -> bool:
        """Whether this window frame is not searched: the faces on both sides are :func:`steady` and it is not
        every ``STEADY_EVERY``-th frame after the one before it."""
        before, after = self.around[frame.index]
        if STEADY_EVERY <= 1 or (frame.index - before) % STEADY_EVERY == 0 or after is None or after == before:
            return False
        h, w = frame.rgb.shape[:2]
        size = self.coarse_side if self._two_sizes(frame.rgb) else None
        scale = self.detector.input_side(h, w, size) / max(h, w)
        return steady(self._faces_at(before), self._faces_at(after), self.threshold + HALF_SURE, scale)

    def _result(self, frame, boxes: np.ndarray, scores: np.ndarray) -> tuple:
        self.anchor_of.pop(frame.index, None)  # its size is chosen and used
        if self.describe is None:
            return frame.index, boxes, scores
        return frame.index, boxes, scores, self.describe(frame.rgb, boxes)

    def _union(self, found: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
        """The faces of a frame's searches (boxes (K, 4), scores (K,) each), merged by non-maximum suppression (the
        better score stays)."""
        boxes = np.concatenate([b.reshape(-1, 4) for b, _ in found]).astype(np.float32)
        scores = np.concatenate([s for _, s in found]).astype(np.float32)
        if len(boxes) > 1:
            keep = nms(boxes, scores, float(getattr(self.detector, "nms_iou", 0.3)))
            boxes, scores = boxes[keep], scores[keep]
        return boxes, scores

    def _candidates(self, job: tuple[np.ndarray, int | None]) -> tuple[np.ndarray, np.ndarray]:
        rgb, size = job
        if size is None:  # as the detector searches a frame itself (a backend need not take max_side then)
            return self.detector.detect_candidates(rgb, SEED_BELOW)
        return self.detector.detect_candidates(rgb, SEED_BELOW, size)

    def _search_whole(self) -> list[tuple]:
        """Search the batch's whole-searched frames: anchors first (at both sizes where the frame is large), then the
        frames whose anchor has chosen."""
        done = []
        while self.batch:
            jobs, owners = [], []  # (rgb, max_side); the frame and what the job is for
            for frame in self.batch:
                if not self._two_sizes(frame.rgb):  # one size: nothing to choose (an anchor's faces may be known)
                    self.full_size_after.setdefault(self.anchor_of[frame.index], False)
                    if frame.index not in self.decide_only:
                        jobs.append((frame.rgb, None))
                        owners.append((frame, "only"))
                    continue
                close = self._close_side(frame.rgb)
                if frame.index in self.anchors and frame.index not in self.full_size_after:
                    jobs.append((frame.rgb, None))
                    owners.append((frame, "full"))
                    jobs.append((frame.rgb, self.coarse_side))
                    owners.append((frame, "coarse"))
                    if close and frame.index not in self.decide_only:  # no size to choose there
                        jobs.append((frame.rgb, close))
                        owners.append((frame, "close"))
                    continue
                anchor = self.anchor_of[frame.index]
                if anchor not in self.full_size_after:
                    continue  # its anchor is in this batch: next round
                if self.full_size_after[anchor]:
                    jobs.append((frame.rgb, None))
                    owners.append((frame, "full"))
                jobs.append((frame.rgb, self.coarse_side))
                owners.append((frame, "coarse"))
                if close:
                    jobs.append((frame.rgb, close))
                    owners.append((frame, "close"))
            self.batch = [f for f in self.batch if f.index not in self.decide_only or f.index not in self.full_size_after]
            if not self.batch:
                break
            if not jobs:
                raise RuntimeError(f"key frames {[f.index for f in self.batch]}: their anchor was never searched")
            found = self.detector.map(self._candidates, jobs)
            results: dict[int, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
            for (frame, part), faces in zip(owners, found):
                results.setdefault(frame.index, {})[part] = faces
            searched = {frame.index: frame for frame, _ in owners}
            for index, parts in results.items():
                frame = searched[index]
                if index in self.anchors and index not in self.full_size_after:
                    self.full_size_after[index] = "coarse" in parts and full_size_gain(parts["full"], parts["coarse"], self.threshold)
                if index in self.decide_only:
                    self.decide_only.discard(index)
                    continue
                boxes, scores = parts["only"] if "only" in parts else self._union([parts[p] for p in ("full", "coarse", "close") if p in parts])
                done.append(self._result(frame, boxes, scores))
                self.found[index] = (boxes, scores)
            self.batch = [f for f in self.batch if f.index not in results]
        return done

    def _run(self) -> list[tuple[int, np.ndarray, np.ndarray]]:
        done = self._search_whole()
        ready = [f for f in self.waiting if self._faces_at(self.around[f.index][1]) is not None]
        skipped = {f.index for f in ready if self._skipped(f)}
        for frame in ready:
            if frame.index in skipped:  # left to the tracker to fill in
                done.append(self._result(frame, np.zeros((0, 4), np.float32), np.zeros(0, np.float32)))
        ready = [f for f in ready if f.index not in skipped]
        if ready:
            searches = []  # (frame, faces before and after, network input side)
            for f in ready:
                sides = [self._faces_at(n) for n in self.around[f.index]]  # faces before and after
                searches += [(f, faces, size) for faces, size in self._window_searches(f, sides)]
            scales = [self.detector.input_side(*f.rgb.shape[:2], size) / max(f.rgb.shape[:2]) for f, _, size in searches]
            windows = [search_windows(*faces, *f.rgb.shape[:2], self.threshold + UNSURE, scale, self.threshold)
                       for (f, faces, _), scale in zip(searches, scales)]
            halves = [large_and_sure(faces, self.threshold + HALF_SURE, scale, self.threshold)
                      for (_, faces, _), scale in zip(searches, scales)]
            found = detect_in_windows(self.detector, [f.rgb for f, _, _ in searches], windows, halves, [size for *_, size in searches])
            parts: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
            for (frame, _, _), faces in zip(searches, found):
                parts.setdefault(frame.index, []).append(faces)
            for frame in ready:
                boxes, scores = parts[frame.index][0] if len(parts[frame.index]) == 1 else self._union(parts[frame.index])
                done.append(self._result(frame, boxes, scores))
        self.waiting = [f for f in self.waiting if self._faces_at(self.around[f.index][1]) is None]
        oldest = min((self.around[f.index][0] for f in self.waiting), default=max(self.found, default=0))
        for f in [f for f in self.found if f < oldest]:
            del self.found[f]
        return done


def detections_only(scores: np.ndarray, detector: FaceDetector) -> np.ndarray:
    """(N,) bool: which of :class:`KeyFrameSearch`'s faces are detections (at or above the detector's threshold),
    not seeds."""
    return np.asarray(scores) >= float(getattr(detector, "score_threshold", -np.inf))
