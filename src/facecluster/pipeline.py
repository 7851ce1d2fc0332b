"""The controller: runs a video through every stage, with a cache per stage.

decode → shots → detection → tracking → alignment + embedding → clustering.
Each stage's result is cached under ``<out>/cache`` keyed by its parameters and
its inputs; detection and embedding are cached in chunks, so an interrupted run
resumes where it stopped. Progress goes through a hook
``hook(stage, completed, total)``; nothing here prints.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import shots as shot_mod
from .cache import StageCache, fingerprint_file, stage_key
from .cluster import l2_normalize, overlapping_pairs
from .cluster_methods import METHODS as CLUSTER_METHODS
from .cluster_methods import make_clusterer
from .decode import iter_frames, probe
from .detect import make_detector
from .embed import FaceAligner, embed_chip_batches
from .errors import ParameterError
from .tracking import TrackerParams, track_faces
from .types import Detections, Embeddings, Shots, Tracks, VideoInfo

ProgressHook = Callable[[str, int, "int | None"], None]

DETECT_CHUNK_FRAMES = 500
EMBED_CHUNK_FACES = 256
EMBED_BATCH = 16


def _no_progress(stage: str, completed: int, total: int | None) -> None:
    pass


@dataclass(frozen=True)
class PipelineConfig:
    """Every parameter of a run. ``num_people=None`` estimates the number of people."""

    detector: str = "centerface"
    score_threshold: float = 0.5
    min_face_size: float = 16.0
    detect_every: int = 1
    min_iou: float = 0.3
    max_gap: int = 4
    min_track_faces: int = 5
    faces_per_track: int = 16
    embedder: str = "torch"  # torch | dlib (see facecluster.embed)
    device: str = "auto"  # auto | cpu | cuda, for the torch embedder and the learned projection
    cues: str = "auto"  # auto | face | face+clothing (see facecluster.cues); auto = face+clothing where the linkage allows
    cluster: str = "average"  # see facecluster.cluster_methods
    num_people: int | None = None
    distance_threshold: float | None = None  # None: the method's calibrated default
    learn: str = "none"  # none | ssiam | tsiam | both
    learn_variant: str = "paper"  # paper | tuned (see facecluster.learn.VARIANTS)
    seed: int = 0
    workers: int = 1

    def __post_init__(self) -> None:
        if self.detect_every < 1:
            raise ParameterError(f"detect_every must be >= 1 (here: detect_every={self.detect_every})")
        if self.faces_per_track < 0:
            raise ParameterError(f"faces_per_track must be >= 0, 0 = all (here: faces_per_track={self.faces_per_track})")
        if self.num_people is not None and self.num_people < 1:
            raise ParameterError(f"num_people must be >= 1 (here: num_people={self.num_people})")
        from .learn.variants import METHODS, VARIANTS

        if self.learn != "none" and self.learn not in METHODS:
            raise ParameterError(f"learn must be none, {', '.join(METHODS)} (here: learn={self.learn!r})")

        if self.learn_variant not in VARIANTS:
            raise ParameterError(f"learn_variant must be one of {', '.join(VARIANTS)} (here: {self.learn_variant!r})")
        if self.cluster not in CLUSTER_METHODS:
            raise ParameterError(f"cluster must be one of {', '.join(CLUSTER_METHODS)} (here: cluster={self.cluster!r})")
        if self.workers < 1:
            raise ParameterError(f"workers must be >= 1 (here: workers={self.workers})")
        from .embed import EMBEDDERS

        if self.embedder not in EMBEDDERS:
            raise ParameterError(f"embedder must be one of {', '.join(EMBEDDERS)} (here: {self.embedder!r})")
        if self.cues not in ("auto", "face", "face+clothing"):
            raise ParameterError(f"cues must be auto, face or face+clothing (here: {self.cues!r})")
        if self.cues != "face" and self.cluster not in ("average", "complete", "single"):
            raise ParameterError(f"the clothing cue needs average, complete or single linkage (here: cluster={self.cluster!r})")
        if self.device not in ("auto", "cpu", "cuda"):
            raise ParameterError(f"device must be auto, cpu or cuda (here: {self.device!r})")

    @property
    def uses_clothing(self) -> bool:
        """Whether clustering combines clothing with faces (``auto``: with average, complete or single linkage)."""
        return self.cues == "face+clothing" or (self.cues == "auto" and self.cluster in ("average", "complete", "single"))

    def detector_params(self) -> dict:
        if self.detector == "centerface":
            return {"score_threshold": self.score_threshold, "min_size": self.min_face_size}
        return {}

    def tracker_params(self) -> TrackerParams:
        # With sparse detection, a gap and a track length are counted in detections.
        return TrackerParams(
            min_iou=self.min_iou,
            max_gap=self.max_gap * self.detect_every,
            min_detections=max(2, -(-self.min_track_faces // self.detect_every)),
        )


@dataclass
class VideoResult:
    """Everything a run produced for one video (arrays documented in :mod:`facecluster.types`)."""

    info: VideoInfo
    frame_times: np.ndarray  # (F,) float64 seconds
    shots: Shots
    detections: Detections
    tracks: Tracks
    embeddings: Embeddings  # base descriptors of the embedded faces
    track_features: np.ndarray  # (T, D) float32, L2-normalised, of the features clustered
    track_person: np.ndarray  # (T,) int64, person ids 0..P-1 by screen time
    config: PipelineConfig
    timings: dict[str, float] = field(default_factory=dict)
    clothing: dict | None = None  # with cues face+clothing: the clothing cue's calibration (facecluster.cues)

    @property
    def num_people(self) -> int:
        return int(self.track_person.max() + 1) if self.track_person.size else 0


class _Stages:
    def __init__(self, path: Path, info: VideoInfo, cache: StageCache, config: PipelineConfig, hook: ProgressHook) -> None:
        self.path = path
        self.info = info
        self.cache = cache
        self.config = config
        self.hook = hook
        self.fingerprint = fingerprint_file(path)

    def shots(self) -> tuple[str, Shots, np.ndarray]:
        params = asdict(shot_mod.ShotDetectorParams())
        key = stage_key("shots", params, [self.fingerprint])
        data = self.cache.load("shots", key)
        if data is None:
            signatures, times = [], []
            total = self.info.num_frames or None
            for frame in iter_frames(self.path):
                signatures.append(shot_mod.frame_signature(frame.rgb))
                times.append(frame.time_s)
                if len(times) % 50 == 0:
                    self.hook("shots", len(times), total)
            found = shot_mod.detect_shots(np.stack(signatures))
            data = {"starts": found.starts, "ends": found.ends, "times": np.asarray(times, np.float64)}
            self.cache.save("shots", key, data)
        self.hook("shots", len(data["times"]), len(data["times"]))
        return key, Shots(starts=data["starts"], ends=data["ends"]), data["times"]

    def detections(self, upstream: str, num_frames: int) -> tuple[str, Detections]:
        cfg = self.config
        detector = make_detector(cfg.detector, **cfg.detector_params())
        params = {"detector": detector.params, "every": cfg.detect_every}
        key = stage_key("detect", params, [upstream])
        wanted = list(range(0, num_frames, cfg.detect_every))
        chunks = [wanted[i : i + DETECT_CHUNK_FRAMES] for i in range(0, len(wanted), DETECT_CHUNK_FRAMES)]
        parts: dict[int, dict[str, np.ndarray]] = {}
        for c in range(len(chunks)):
            part = self.cache.load("detect", f"{key}-{c:05d}")
            if part is not None:
                parts[c] = part
        done = sum(len(chunks[c]) for c in parts)
        self.hook("detect", done, len(wanted))
        todo = {f: c for c, frames in enumerate(chunks) if c not in parts for f in frames}
        if todo:
            buffers: dict[int, list] = {}
            for frame in iter_frames(self.path, frames=set(todo)):
                c = todo[frame.index]
                boxes, scores, landmarks = detector.detect(frame.rgb)
                buf = buffers.setdefault(c, [])
                buf.append((frame.index, boxes, scores, landmarks))
                done += 1
                if done % 10 == 0:
                    self.hook("detect", done, len(wanted))
                if frame.index == chunks[c][-1]:
                    parts[c] = _stack_detections(buffers.pop(c))
                    self.cache.save("detect", f"{key}-{c:05d}", parts[c])
            for c, buf in buffers.items():  # a video shorter than its frame count said
                parts[c] = _stack_detections(buf)
        self.hook("detect", len(wanted), len(wanted))
        ordered = [parts[c] for c in sorted(parts)]
        if not ordered:
            return key, Detections.empty()
        merged = {name: np.concatenate([p[name] for p in ordered]) for name in ordered[0]}
        return key, Detections(**merged)

    def embeddings(self, upstream: str, detections: Detections, tracks: Tracks) -> tuple[str, Embeddings]:
        cfg = self.config
        rows = select_faces(tracks, detections, cfg.faces_per_track)
        params = {
            "embedder": "dlib-resnet-v1",
            "backend": cfg.embedder,
            "aligner": "dlib-5pt-square",
            "faces_per_track": cfg.faces_per_track,
        }
        key = stage_key("embed", params, [upstream])
        chunks = [rows[i : i + EMBED_CHUNK_FACES] for i in range(0, len(rows), EMBED_CHUNK_FACES)]
        parts: dict[int, np.ndarray] = {}
        for c in range(len(chunks)):
            part = self.cache.load("embed", f"{key}-{c:05d}")
            if part is not None:
                parts[c] = part["vectors"]
        done = sum(len(chunks[c]) for c in parts)
        self.hook("embed", done, len(rows))
        todo = [c for c in range(len(chunks)) if c not in parts]
        if todo:
            aligner = FaceAligner()
            todo_rows = np.concatenate([chunks[c] for c in todo])
            progress = [done]

            def on_batch(k: int) -> None:
                progress[0] += k
                self.hook("embed", progress[0], len(rows))

            batches = chip_batches(self.path, detections.frames, detections.boxes, todo_rows, aligner)
            vectors = np.concatenate(
                list(
                    embed_chip_batches(
                        batches, workers=cfg.workers, on_batch=on_batch, embedder=cfg.embedder, device=cfg.device
                    )
                )
                or [np.zeros((0, 128), np.float32)]
            )
            # Rows were embedded in frame order; put them back in chunk order.
            by_row = dict(zip(todo_rows.tolist(), vectors))
            for c in todo:
                parts[c] = np.stack([by_row[r] for r in chunks[c].tolist()]).astype(np.float32)
                self.cache.save("embed", f"{key}-{c:05d}", {"vectors": parts[c]})
        vectors = np.concatenate([parts[c] for c in range(len(chunks))]) if chunks else np.zeros((0, 128), np.float32)
        return key, Embeddings(rows=rows, vectors=vectors)

    def learned(self, upstream: str, detections: Detections, tracks: Tracks, emb: Embeddings) -> Embeddings:
        """Adapted face features (SSiam/TSiam) of the embedded faces; the base ones for ``none``."""
        cfg = self.config
        if cfg.learn == "none" or len(emb.rows) < 2:
            return emb
        from .learn.variants import make_learner

        learner = make_learner(cfg.learn, cfg.learn_variant, cfg.seed).set_params(device=cfg.device)
        key = stage_key("learn", {"method": cfg.learn, **learner.get_params(), "device": "any"}, [upstream])
        data = self.cache.load("learn", key)
        if data is None:
            self.hook("learn", 0, learner.epochs)
            if cfg.learn == "ssiam":
                learner.fit(emb.vectors)
            else:
                learner.fit(emb.vectors, tracks.track_ids[emb.rows], detections.frames[emb.rows])
            data = {"vectors": learner.transform(emb.vectors)}
            self.cache.save("learn", key, data)
        self.hook("learn", 1, 1)
        return Embeddings(rows=emb.rows, vectors=data["vectors"])

    def context(self, upstream: str, shots: Shots, detections: Detections, emb: Embeddings) -> tuple[str, dict]:
        """Clothing descriptor of every embedded face and background descriptor of every shot (cached)."""
        from . import clothing

        key = stage_key("context", {"torso": [clothing.TORSO_WIDTH, clothing.TORSO_GAP, clothing.TORSO_HEIGHT],
                                    "bins": [clothing.HUE_BINS, clothing.SAT_BINS, clothing.VALUE_BINS],
                                    "grid": clothing.BACKGROUND_GRID}, [upstream])
        data = self.cache.load("context", key)
        if data is not None:
            return key, data
        middles = ((shots.starts + shots.ends) // 2).astype(np.int64)
        rows_by_frame: dict[int, list[int]] = {}
        for k, r in enumerate(emb.rows.tolist()):
            rows_by_frame.setdefault(int(detections.frames[r]), []).append(k)
        order = np.argsort(detections.frames, kind="stable")
        starts = np.searchsorted(detections.frames[order], np.arange(int(detections.frames.max(initial=-1)) + 2))
        cloth = np.zeros((len(emb.rows), clothing.DESCRIPTOR_DIM), np.float32)
        valid = np.zeros(len(emb.rows), bool)
        background = np.zeros((len(shots), clothing.BACKGROUND_GRID**2 * clothing.DESCRIPTOR_DIM), np.float32)
        shot_of_middle = {int(m): s for s, m in enumerate(middles)}
        wanted = set(rows_by_frame) | set(shot_of_middle)
        for n, frame in enumerate(iter_frames(self.path, frames=wanted)):
            f = frame.index
            same_frame = order[starts[f] : starts[f + 1]] if f + 1 < len(starts) else np.zeros(0, np.int64)
            boxes = detections.boxes[same_frame]
            if f in rows_by_frame:
                ks = rows_by_frame[f]
                # Describe each embedded face with every face of its frame as a possible occluder.
                desc, ok = clothing.clothing_descriptors(frame.rgb, np.concatenate([detections.boxes[emb.rows[ks]], boxes]))
                cloth[ks], valid[ks] = desc[: len(ks)], ok[: len(ks)]
            if f in shot_of_middle:
                background[shot_of_middle[f]] = clothing.background_descriptor(frame.rgb, boxes)
            self.hook("context", n + 1, len(wanted))
        data = {"clothing": cloth, "valid": valid, "background": background}
        self.cache.save("context", key, data)
        return key, data

    def clustering(self, upstream: str, detections: Detections, tracks: Tracks, emb: Embeddings, shots: Shots | None = None,
                   context: dict | None = None):
        cfg = self.config
        features = track_means(tracks, emb)
        first, last = track_spans(tracks, detections)
        cannot = overlapping_pairs(first, last)
        T = tracks.num_tracks
        self.calibration = None
        if T == 0:
            return np.zeros((0, features.shape[1]), np.float32), np.zeros(0, np.int64)
        model = make_clusterer(
            cfg.cluster,
            n_clusters=None if cfg.num_people is None else min(cfg.num_people, T),
            threshold=cfg.distance_threshold,
        )
        distances = None
        if context is not None and shots is not None:
            distances, self.calibration = track_distances_with_clothing(features, tracks, detections, emb, shots, context, cannot)
        labels = model.fit_predict(features, cannot, distances) if distances is not None else model.fit_predict(features, cannot)
        return features, order_by_screen_time(labels, first, last)


def _stack_detections(items: list) -> dict[str, np.ndarray]:
    frames = np.concatenate([np.full(len(b), i, np.int64) for i, b, _, _ in items]) if items else np.zeros(0, np.int64)
    return {
        "frames": frames,
        "boxes": np.concatenate([b for _, b, _, _ in items]).reshape(-1, 4).astype(np.float32) if items else np.zeros((0, 4), np.float32),
        "scores": np.concatenate([s for _, _, s, _ in items]).astype(np.float32) if items else np.zeros(0, np.float32),
        "landmarks": np.concatenate([l for _, _, _, l in items]).reshape(-1, 5, 2).astype(np.float32) if items else np.zeros((0, 5, 2), np.float32),
    }


def chip_batches(path: str | Path, frames: np.ndarray, boxes: np.ndarray, rows: np.ndarray, aligner: FaceAligner):
    """Aligned chips of faces ``rows`` (indices into frames (N,) and boxes (N, 4)), in
    batches of EMBED_BATCH; ``rows`` must be sorted by frame, and chips come in that order."""
    by_frame: dict[int, list[int]] = {}
    for r in rows.tolist():
        by_frame.setdefault(int(frames[r]), []).append(r)
    pending: list[np.ndarray] = []
    count = 0
    for frame in iter_frames(path, frames=set(by_frame)):
        chips = aligner.chips(frame.rgb, boxes[by_frame[frame.index]])
        pending.append(chips)
        count += len(chips)
        if count >= EMBED_BATCH:
            yield np.concatenate(pending)
            pending, count = [], 0
    if pending:
        yield np.concatenate(pending)


def select_faces(tracks: Tracks, detections: Detections, per_track: int) -> np.ndarray:
    """Detection rows to embed: up to ``per_track`` faces per track, evenly spread over
    the track (0 = all), returned sorted by frame then row. (M,) int64."""
    chosen: list[np.ndarray] = []
    for t in range(tracks.num_tracks):
        members = np.flatnonzero(tracks.track_ids == t)
        members = members[np.argsort(detections.frames[members], kind="stable")]
        if per_track and len(members) > per_track:
            picks = np.round(np.linspace(0, len(members) - 1, per_track)).astype(int)
            members = members[np.unique(picks)]
        chosen.append(members)
    rows = np.concatenate(chosen) if chosen else np.zeros(0, np.int64)
    return rows[np.lexsort((rows, detections.frames[rows]))].astype(np.int64)


def track_means(tracks: Tracks, emb: Embeddings) -> np.ndarray:
    """(T, D) float32: mean descriptor of each track's embedded faces, L2-normalised."""
    T = tracks.num_tracks
    dim = emb.vectors.shape[1] if emb.vectors.ndim == 2 else 128
    sums = np.zeros((T, dim), np.float64)
    counts = np.zeros(T)
    tids = tracks.track_ids[emb.rows]
    np.add.at(sums, tids, emb.vectors)
    np.add.at(counts, tids, 1)
    return l2_normalize(sums / np.maximum(counts, 1)[:, None]).astype(np.float32)


def track_distances_with_clothing(features: np.ndarray, tracks: Tracks, detections: Detections, emb: Embeddings,
                                  shots: Shots, context: dict, cannot: np.ndarray):
    """(T, T) face + clothing distances between tracks (see :mod:`facecluster.cues`) and the calibration."""
    from . import cues, scenes

    T = tracks.num_tracks
    tids = tracks.track_ids[emb.rows]
    cloth, valid = context["clothing"], context["valid"].astype(bool)
    sums = np.zeros((T, cloth.shape[1]))
    counts = np.zeros(T)
    np.add.at(sums, tids[valid], cloth[valid])
    np.add.at(counts, tids[valid], 1)
    track_cloth = sums / np.maximum(counts, 1)[:, None]
    halves = []
    for t in range(T):
        rows = np.flatnonzero((tids == t) & valid)  # in frame order
        if len(rows) >= 4:
            half = len(rows) // 2
            halves.append(float(np.linalg.norm(cloth[rows[:half]].mean(0) - cloth[rows[half:]].mean(0))))
    first, _ = track_spans(tracks, detections)
    shot = shots.shot_of(first)
    scene_of_shot = scenes.group_shots(context["background"])
    scene = scene_of_shot[shot] if len(scene_of_shot) else np.zeros(T, np.int64)
    d, calibration = cues.combined_distances(features, track_cloth, counts > 0, scene, shot, cannot, np.asarray(halves))
    return d, {**calibration.__dict__, "scenes": int(scene_of_shot.max(initial=-1) + 1)}


def track_spans(tracks: Tracks, detections: Detections) -> tuple[np.ndarray, np.ndarray]:
    """First and last frame of each track: two (T,) int64 arrays."""
    T = tracks.num_tracks
    first = np.full(T, np.iinfo(np.int64).max, np.int64)
    last = np.full(T, -1, np.int64)
    member = tracks.track_ids >= 0
    np.minimum.at(first, tracks.track_ids[member], detections.frames[member])
    np.maximum.at(last, tracks.track_ids[member], detections.frames[member])
    return first, last


def order_by_screen_time(labels: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Relabel clusters 0..P-1 by falling screen time (frames covered), ties by first appearance."""
    people = np.unique(labels)
    keys = []
    for p in people:
        members = labels == p
        covered = sum(int(l - f + 1) for f, l in zip(first[members], last[members]))
        keys.append((-covered, int(first[members].min()), int(p)))
    order = [k[2] for k in sorted(keys)]
    mapping = {old: new for new, old in enumerate(order)}
    return np.asarray([mapping[int(l)] for l in labels], np.int64)


def run_video(
    path: str | Path,
    out_dir: str | Path,
    config: PipelineConfig = PipelineConfig(),
    *,
    hook: ProgressHook | None = None,
    force: bool = False,
) -> VideoResult:
    """Run every stage on one video; caches under ``out_dir/cache``. Writes no outputs
    (see :func:`facecluster.outputs.write_video_outputs`)."""
    hook = hook or _no_progress
    path = Path(path)
    info = probe(path)
    cache = StageCache(Path(out_dir) / "cache", enabled=not force)
    stages = _Stages(path, info, cache, config, hook)
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    shots_key, shots, times = stages.shots()
    timings["shots"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    det_key, detections = stages.detections(shots_key, len(times))
    timings["detect"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    tracks = track_faces(detections, shots, config.tracker_params())
    track_key = stage_key("track", asdict(config.tracker_params()), [det_key])
    timings["track"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    embed_key, embeddings = stages.embeddings(track_key, detections, tracks)
    timings["embed"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    features_for_clustering = stages.learned(embed_key, detections, tracks, embeddings)
    timings["learn"] = time.perf_counter() - t0

    context = None
    if config.uses_clothing:
        t0 = time.perf_counter()
        _, context = stages.context(embed_key, shots, detections, embeddings)
        timings["context"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    features, track_person = stages.clustering(track_key, detections, tracks, features_for_clustering, shots, context)
    timings["cluster"] = time.perf_counter() - t0

    info = VideoInfo(**{**asdict(info), "num_frames": len(times)})
    return VideoResult(
        info=info,
        frame_times=times,
        shots=shots,
        detections=detections,
        tracks=tracks,
        embeddings=embeddings,
        track_features=features,
        track_person=track_person,
        config=config,
        timings=timings,
        clothing=stages.calibration,
    )
