"""Shot boundary detection from frame content; needs no model.

Each frame is reduced to a 64×36 thumbnail. Three signals are computed between
consecutive frames: the distance of HSV colour histograms (half the L1 distance
of normalised 16×4×4 histograms, in [0, 1]), the mean absolute difference of
grey thumbnails (in [0, 1]), and the difference of their *structure*: each grey
thumbnail normalised to zero mean and unit contrast, so that two dark frames of
a similar palette but another composition differ as much as two bright ones
(mean absolute difference / 1.13, the value for unrelated images; clipped to 1).
A cut is declared at frame t when the combined score at t is high enough in
absolute terms *and* stands well above the scores of the frames around it (a
peak: a ratio to their median, which adapts to the local level of change and
rejects motion and lighting drift).

A gradual transition (a dissolve, a wipe, a zoom or blur between two shots)
spreads its change over several frames, so no single frame stands out. It is
found as a *hump*: a run of at most ``gradual_max_len`` frames whose scores
stay above a share of their peak, with calm frames on both sides, across which
the picture has changed a lot (the frame before the hump against its last
frame) and much more than within the same number of frames before and after it
(which rejects pans and motion that go on), and that a camera move does not
explain (the two grey thumbnails aligned by phase correlation still differ).
The cut is put at the hump's peak.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from facecluster.types import Shots
from facecluster.video.decode import iter_frames, prefetched

CODE_VERSION = 6  # bump when a change alters the shots found
THUMB_SIZE = (64, 36)
HIST_BINS = (16, 4, 4)


def frame_signature(rgb: np.ndarray) -> np.ndarray:
    """A frame's compact signature: (256 + 64*36,) float32 — HSV histogram then grey thumbnail.

    rgb: (H, W, 3) uint8, any size (a thumbnail of :data:`THUMB_SIZE` is used as it is)."""
    small = rgb if rgb.shape[:2] == THUMB_SIZE[::-1] else cv2.resize(rgb, THUMB_SIZE, interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    hist = cv2.calcHist([hsv], [0, 1, 2], None, list(HIST_BINS), [0, 180, 0, 256, 0, 256])
    hist = hist.ravel() / max(float(hist.sum()), 1.0)
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float32).ravel() / 255.0
    return np.concatenate([hist.astype(np.float32), grey])


# Added to a thumbnail's contrast (grey standard deviation, 0..1) before the structure signal divides by it, so that
# flat frames (black, a fade) do not turn noise into structure. 0.02 at first; darkened copies of the dev clips
# (bench_shots.py's dark table) lost jump cuts and cuts between dim shots with it: 0.005 keeps them (the clips as they
# are: one more false cut, on Sweden).
CONTRAST_FLOOR = 0.005
STRUCTURE_WEIGHT = 0.5  # share of the structure signal in the cut score (chosen on the dev suite: benchmarks/bench_shots.py)


def signature_change(a: np.ndarray, b: np.ndarray, structure_weight: float = STRUCTURE_WEIGHT) -> np.ndarray:
    """Cut score between signatures a and b, row by row: (N,) float32 in [0, 1] for a, b (N, 256 + 2304).

    ``(1 - w) * mean(histogram distance, grey difference) + w * structure difference``, w = ``structure_weight``."""
    n_hist = int(np.prod(HIST_BINS))
    hist_d = 0.5 * np.abs(a[:, :n_hist] - b[:, :n_hist]).sum(axis=1)
    grey_a, grey_b = a[:, n_hist:], b[:, n_hist:]
    grey_d = np.abs(grey_a - grey_b).mean(axis=1)
    structure_d = np.minimum(_structure_difference(grey_a, grey_b) / 1.13, 1.0)
    return ((1 - structure_weight) * 0.5 * (hist_d + grey_d) + structure_weight * structure_d).astype(np.float32)


def _structure_difference(grey_a: np.ndarray, grey_b: np.ndarray) -> np.ndarray:
    """Mean absolute difference of grey images (N, P) each normalised to zero mean and unit contrast: (N,)."""
    z_a = (grey_a - grey_a.mean(axis=1, keepdims=True)) / (grey_a.std(axis=1, keepdims=True) + CONTRAST_FLOOR)
    z_b = (grey_b - grey_b.mean(axis=1, keepdims=True)) / (grey_b.std(axis=1, keepdims=True) + CONTRAST_FLOOR)
    return np.abs(z_a - z_b).mean(axis=1)


def change_scores(signatures: np.ndarray, lag: int = 1, structure_weight: float = STRUCTURE_WEIGHT) -> np.ndarray:
    """Score of a cut before each frame: (F,) float32, ``scores[0] = 0``: :func:`signature_change` of frame t
    against frame t - lag.

    signatures: (F, 256 + 2304) from :func:`frame_signature`."""
    scores = np.zeros(len(signatures), np.float32)
    if len(signatures) <= lag:
        return scores
    scores[lag:] = signature_change(signatures[lag:], signatures[:-lag], structure_weight)
    return scores


@dataclass(frozen=True)
class ShotDetectorParams:
    """threshold: minimum cut score; peak_ratio: how far a cut must stand above its
    neighbourhood (ratio to the local median + floor); window: half-width in frames of
    that neighbourhood; min_shot_len: frames; a cut closer than this to the previous is dropped; structure_weight:
    the structure signal's share of the score. threshold, peak_ratio and structure_weight were chosen on the dev
    suite's ground-truth shots (benchmarks/bench_shots.py → results/shots.md: with the gradual constants and
    ``CONTRAST_FLOOR``, pooled cut F1 0.974 held out, 0.977 in-sample; the first choice, 0.936 held out, beat the
    earlier 0.15 / 4.0 on luma and colour alone, 0.886, which missed 8 of the 10 cuts of a black-and-white film).
    A peak ratio of 2.75 rather than 3 finds the jump cuts of a talking head that gestures (ratios of 2.9 there)
    and added no false cut on the dev clips.
    With ``CONTRAST_FLOOR`` at 0.005 the clips as they are would take a threshold of 0.1 (pooled F1 0.977 against
    0.975); 0.08 stays, because the darkened copies lose cuts at 0.1 (0.970 against 0.977; a talking head's jump
    cuts 0.962 → 0.851), and the cuts this detector has missed on footage we do not have were in dark scenes.

    Gradual transitions (see the module's docstring; the hump's peak must reach ``threshold``): gradual_edge: the
    share of the peak's score under which a frame is outside the hump; gradual_max_len: the longest hump, frames;
    gradual_lookahead: the most frames of it after its peak, and of the calm compared after it (a frame's shot is
    settled about twice this many frames later, so the frames decoded meanwhile are held); gradual_min_change: the
    least change across the hump; gradual_flank_ratio: how many times the change across the hump must exceed the
    larger change over as many frames before it or (up to gradual_lookahead) after it (+ 0.02). Chosen on the dev
    suite (bench_shots.py → results/shots.md); gradual_max_len = 0 turns them off."""

    threshold: float = 0.08
    peak_ratio: float = 2.75
    window: int = 8
    min_shot_len: int = 6
    structure_weight: float = STRUCTURE_WEIGHT
    gradual_edge: float = 0.4
    gradual_max_len: int = 32
    gradual_lookahead: int = 12
    gradual_min_change: float = 0.5
    gradual_flank_ratio: float = 1.25

    @property
    def delay(self) -> int:
        """Frames after t whose scores and signatures deciding a cut at t reads (before it: as many + 1)."""
        return max(self.window, 2 * self.gradual_lookahead)


SignatureOf = Callable[[int], np.ndarray]  # frame index -> its (256 + 2304,) signature


def _ends_gradual_transition(scores: np.ndarray, t: int, n: int, params: ShotDetectorParams,
                             signature: SignatureOf) -> bool:
    """Whether frame t, the peak of its neighbourhood's scores, is the peak of a gradual transition (a hump).

    Reads scores[t - gradual_max_len : t + gradual_lookahead + 2] and the signatures of frames
    t - 2 * gradual_max_len - 1 .. t + 2 * gradual_lookahead (clipped to 0 .. n - 1)."""
    p = params
    s = float(scores[t])
    if p.gradual_max_len <= 0 or s < p.threshold:
        return False
    edge = p.gradual_edge * s
    first = t
    while first - 1 >= 1 and scores[first - 1] >= edge:
        if t - first >= p.gradual_max_len:
            return False  # change that goes on (motion), not a transition
        first -= 1
    last = t
    while last + 1 < n and scores[last + 1] >= edge:
        if last - t >= p.gradual_lookahead:
            return False
        last += 1
    length = last - first + 1
    if length > p.gradual_max_len:
        return False
    before = first - 1  # the last frame of the old shot; `last` is the first settled frame of the new one
    after = min(n - 1, last + min(length, p.gradual_lookahead))
    pairs = np.asarray([[before, last], [max(0, before - length), before], [last, after]])
    sig_a = np.stack([signature(int(i)) for i in pairs[:, 0]])
    sig_b = np.stack([signature(int(i)) for i in pairs[:, 1]])
    across, flank_before, flank_after = signature_change(sig_a, sig_b, p.structure_weight).tolist()
    if across < p.gradual_min_change or across < p.gradual_flank_ratio * (max(flank_before, flank_after) + 0.02):
        return False
    return not camera_moved(sig_a[0], sig_b[0])


CAMERA_MOVE_RESIDUAL = 0.5  # a camera move leaves under this share of the structure difference once aligned


def camera_moved(before: np.ndarray, after: np.ndarray) -> bool:
    """Whether a camera move (a pan or tilt of up to about a third of the frame) explains the change between two
    signatures: their grey thumbnails, aligned by the shift that phase correlation finds, differ in structure (on
    their overlap) by under ``CAMERA_MOVE_RESIDUAL`` of what they differ unaligned. A dissolve or wipe is not
    explained so.

    before, after: (256 + 2304,) signatures from :func:`frame_signature`."""
    n_hist = int(np.prod(HIST_BINS))
    w, h = THUMB_SIZE
    a = before[n_hist:].reshape(h, w).astype(np.float32)
    b = after[n_hist:].reshape(h, w).astype(np.float32)
    (dx, dy), _ = cv2.phaseCorrelate(a, b, _hanning())
    sx, sy = int(round(dx)), int(round(dy))
    if (sx == 0 and sy == 0) or abs(sx) > w // 2 or abs(sy) > h // 2:
        return False
    y0, y1, x0, x1 = max(0, -sy), h - max(0, sy), max(0, -sx), w - max(0, sx)
    overlap_a, overlap_b = a[y0:y1, x0:x1].reshape(1, -1), b[y0 + sy : y1 + sy, x0 + sx : x1 + sx].reshape(1, -1)
    aligned = float(_structure_difference(overlap_a, overlap_b)[0])
    return aligned < CAMERA_MOVE_RESIDUAL * float(_structure_difference(a.reshape(1, -1), b.reshape(1, -1))[0])


@functools.lru_cache(maxsize=1)
def _hanning() -> np.ndarray:
    """(36, 64) float32: the window that keeps the thumbnail's edges out of phase correlation."""
    return cv2.createHanningWindow(THUMB_SIZE, cv2.CV_32F)


def _is_cut(scores: np.ndarray, t: int, n: int, params: ShotDetectorParams, previous_cut: int | None,
            signature: SignatureOf | None = None) -> bool:
    """Whether a shot starts at frame t ≥ 1, from the (n,) float32 cut scores (only t ± ``params.delay`` are read)
    and, for gradual transitions, the frames' signatures (none: hard cuts only)."""
    s = float(scores[t])
    if s < params.threshold:
        return False
    if previous_cut is not None and t - previous_cut < params.min_shot_len:
        return False
    lo, hi = max(1, t - params.window), min(n, t + params.window + 1)
    neighbours = np.concatenate([scores[lo:t], scores[t + 1 : hi]])
    # Another frame in the window that scores higher wins (one cut per peak).
    if neighbours.size and neighbours.max() > s:
        return False
    local = float(np.median(neighbours)) if neighbours.size else 0.0
    if s >= params.peak_ratio * (local + 0.01):
        return True
    return signature is not None and _ends_gradual_transition(scores, t, n, params, signature)


def detect_cuts(scores: np.ndarray, params: ShotDetectorParams = ShotDetectorParams(),
                signatures: np.ndarray | None = None) -> np.ndarray:
    """Frame indices where a new shot starts (never 0), ascending int64 array. scores: (F,) from
    :func:`change_scores`; signatures: their (F, 256 + 2304) signatures, for gradual transitions (None: hard cuts
    only)."""
    scores = np.asarray(scores, np.float32)
    signature = None if signatures is None else (lambda i: signatures[i])
    cuts: list[int] = []
    for t in range(1, len(scores)):
        if _is_cut(scores, t, len(scores), params, cuts[-1] if cuts else None, signature):
            cuts.append(t)
    return np.asarray(cuts, np.int64)


class ShotStream:
    """The shots of :func:`detect_video_shots`, found frame by frame.

    :meth:`push` takes each frame's signature (:func:`frame_signature`) in order and returns the frames
    whose shot is now settled, as (frame, first frame of its shot, whether it is its shot's last frame):
    a cut at t is decided once the scores and signatures up to t + ``params.delay`` are in, so frame f is settled
    ``delay`` + 2 frames later (24 + 2 by default: a gradual transition's frames after its peak and as many after
    them). :meth:`finish` settles the rest at the video's end. Keeps one float32 score a frame and the signatures
    of the last ``delay`` + 2 × ``gradual_max_len`` + 2 frames (90: 0.9 MB); the cuts and shots are exactly
    :func:`detect_cuts`' and :func:`shots_from_cuts`'."""

    def __init__(self, params: ShotDetectorParams = ShotDetectorParams()) -> None:
        self.params = params
        self.scores = np.zeros(1024, np.float32)
        self.count = 0  # frames pushed
        self.cuts: list[int] = []
        self._recent: dict[int, np.ndarray] = {}  # frame -> signature, the last delay + 2 * gradual_max_len + 2
        self._decided = 1  # the next frame whose cut is to be decided (frame 0 never starts a shot)
        self._next = 0  # the next frame to settle
        self._start = 0  # the first frame of its shot
        self._cut = 0  # index into cuts of the next cut at or after it
        self._ended = False

    def push(self, signature: np.ndarray) -> list[tuple[int, int, bool]]:
        previous = self._recent.get(self.count - 1)
        score = 0.0 if previous is None else float(
            signature_change(previous[None], signature[None], self.params.structure_weight)[0])
        self._recent[self.count] = signature
        self._recent.pop(self.count - self.params.delay - 2 * self.params.gradual_max_len - 2, None)
        if self.count == len(self.scores):
            self.scores = np.concatenate([self.scores, np.zeros_like(self.scores)])
        self.scores[self.count] = score
        self.count += 1
        while self._decided + self.params.delay + 1 <= self.count:
            self._decide(self._decided)
        return self._settle()

    def finish(self) -> list[tuple[int, int, bool]]:
        while self._decided < self.count:
            self._decide(self._decided)
        self._ended = True
        return self._settle()

    def shots(self) -> Shots:
        """The shots of the frames pushed (call after :meth:`finish`)."""
        return shots_from_cuts(np.asarray(self.cuts, np.int64), self.count)

    def _decide(self, t: int) -> None:
        previous = self.cuts[-1] if self.cuts else None
        if _is_cut(self.scores, t, self.count, self.params, previous, self._recent.__getitem__):
            self.cuts.append(t)
        self._decided = t + 1

    def _settle(self) -> list[tuple[int, int, bool]]:
        out = []
        while self._next < self.count and (self._ended or self._next + 1 < self._decided):
            f = self._next
            if self._cut < len(self.cuts) and self.cuts[self._cut] == f:
                self._start = f
                self._cut += 1
            last = f + 1 == self.count if self._ended else False
            last = last or (self._cut < len(self.cuts) and self.cuts[self._cut] == f + 1)
            out.append((f, self._start, last))
            self._next += 1
        return out


def shots_from_cuts(cuts: np.ndarray, num_frames: int) -> Shots:
    """Shots spanning frames 0..num_frames-1 split at ``cuts``."""
    cuts = np.asarray([c for c in cuts if 0 < c < num_frames], np.int64)
    starts = np.concatenate([[0], cuts]).astype(np.int64)
    ends = np.concatenate([cuts - 1, [max(num_frames - 1, 0)]]).astype(np.int64)
    return Shots(starts=starts, ends=ends)


def detect_shots(signatures: np.ndarray, params: ShotDetectorParams = ShotDetectorParams()) -> Shots:
    """Shots of a video from its per-frame signatures (F, ...)."""
    scores = change_scores(signatures, structure_weight=params.structure_weight)
    return shots_from_cuts(detect_cuts(scores, params, signatures), len(signatures))


def boundary_f1(pred_starts: np.ndarray, true_starts: np.ndarray, tolerance: int = 1,
                transitions: dict[int, tuple[int, int]] | None = None) -> dict[str, float]:
    """Precision, recall and F1 of predicted cut frames vs true ones (frame 0 excluded),
    matching each true cut to at most one predicted cut within ``tolerance`` frames; the true cuts
    ``missed`` and the predicted ones ``extra`` (lists of frames). ``transitions`` maps a true cut that ends a
    gradual transition to the transition's (first, last) frames: a predicted cut anywhere in them (± tolerance)
    matches it, as TRECVID matches gradual transitions by overlap."""
    pred = sorted(int(x) for x in pred_starts if x > 0)
    true = sorted(int(x) for x in true_starts if x > 0)
    transitions = transitions or {}
    used: set[int] = set()
    missed = []
    for t in true:
        first, last = transitions.get(t, (t, t))
        lo, hi = min(first, t) - tolerance, max(last, t) + tolerance
        best = None
        for i, p in enumerate(pred):
            if i not in used and lo <= p <= hi and (best is None or abs(p - t) < abs(pred[best] - t)):
                best = i
        if best is None:
            missed.append(t)
        else:
            used.add(best)
    hits = len(true) - len(missed)
    precision = hits / len(pred) if pred else 1.0
    recall = hits / len(true) if true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "num_pred": len(pred), "num_true": len(true),
            "missed": missed, "extra": [p for i, p in enumerate(pred) if i not in used]}


def detect_video_shots(path: str | Path, total: int | None = None,
                       hook: Callable[[int, int | None], None] | None = None) -> tuple[Shots, np.ndarray]:
    """Shots of a video and the time of each frame (F,) float64 seconds, in one decode.

    Streams (:class:`ShotStream`): only the previous frame's signature is kept, and one score and one time a
    frame (12 bytes; a two-hour film at 30 fps: 2.6 MB), so memory does not grow with the
    video's length. The scores are :func:`change_scores`' (lag 1), computed as frames come.
    Frames are decoded straight to thumbnails (:func:`~facecluster.video.decode.iter_frames`);
    the shots found are the same as from full frames on both dev clips (tests/test_shots.py)."""
    stream, times = ShotStream(), []
    for frame in prefetched(iter_frames(path, thumbnail=THUMB_SIZE), depth=64):
        stream.push(frame_signature(frame.rgb))
        times.append(frame.time_s)
        if hook and len(times) % 50 == 0:
            hook(len(times), total)
    stream.finish()
    return stream.shots(), np.asarray(times, np.float64)
