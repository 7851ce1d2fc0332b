"""The video pipeline: a thin composition of stages, each cached on disk.

decode → shots → detection → tracking → alignment + embedding → (learning) →
(clothing) → clustering. A fresh run finds the shots and the faces of the key frames in
one decoding pass (:meth:`_Stages.shots_and_detections`); the embedding pass also cuts
the clothing descriptors and the report's crops. Each stage's result is cached under ``<out>/cache``,
keyed by the stage's parameters, its code version and its inputs; detection
and embedding are cached in chunks, so an interrupted run resumes where it
stopped. The maths of each stage lives in its own package; this module only
calls them, caches and times them. Progress goes through a hook
``hook(stage, completed, total)``; nothing here prints.
"""
from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from facecluster import appearance
from facecluster.cache import StageCache, fingerprint_file, stage_key
from facecluster.clothing import descriptors as clothing_descriptors
from facecluster.clothing.distance import track_distances_with_clothing
from facecluster.cluster.registry import fallback, make_clusterer
from facecluster.cluster.stop_rule import TRACKS_MIN_ITEMS, stop_distance
from facecluster.cluster.tracks import not_a_face_tracks, order_by_screen_time, track_means, track_scores
from facecluster.config import PipelineConfig
from facecluster.distances import pairwise
from facecluster.faces import embed as embed_mod
from facecluster.faces.align import chip_batches
from facecluster.faces.detect import make_detector
from facecluster.faces.detect import windows as windows_mod
from facecluster.faces.detect.track_ends import end_requests, extend_track_ends
from facecluster.learn.variants import BASE_SCALE_METHODS
from facecluster.pipeline.crops import ReportCrops
from facecluster.types import Detections, Embeddings, ProgressHook, Shots, Tracks, VideoInfo
from facecluster.video import shots as shot_mod
from facecluster.video import tracking as tracking_mod
from facecluster.video.decode import Frame, full_rgb, iter_frames, prefetched, probe
from facecluster.video.tracking import (fill_track_gaps, key_frames, overlapping_pairs, select_faces, track_faces_and_cuts,
                                        track_spans)

DETECT_CHUNK_FRAMES = 500
# A track whose median detector score is below the detection threshold + this is 'unsure' (see not_a_face_tracks).
NOT_A_FACE_MARGIN = 0.1
EMBED_CHUNK_FACES = 256


def _no_progress(stage: str, completed: int, total: int | None) -> None:
    pass


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
    clothing: dict | None = None  # with cues face+clothing: the clothing cue's calibration (facecluster.clothing.distance)
    stop_distance: float | None = None  # the stop distance used when K was estimated (calibrated on this video unless given)
    report_crops: Path | None = None  # the report's face (and torso) crops cut in the embedding pass (facecluster.pipeline.crops)

    @property
    def num_people(self) -> int:
        return int(self.track_person.max() + 1) if self.track_person.size else 0


class _Stages:
    """The cached stages of one video run; each returns its cache key with its result."""

    def __init__(self, path: Path, info: VideoInfo, cache: StageCache, config: PipelineConfig, hook: ProgressHook) -> None:
        self.path = path
        self.info = info
        self.cache = cache
        self.config = config
        self.hook = hook
        self.fingerprint = fingerprint_file(path)
        self.calibration: dict | None = None
        self.stop_distance: float | None = None
        self.report_crops: Path | None = None
        self.embedder_ready: threading.Thread | None = None
        self.collected_clothing: tuple[str | None, dict | None] = (None, None)  # (clothing key, arrays) from the embedding pass

    def shots_key(self) -> str:
        params = {**asdict(shot_mod.ShotDetectorParams()), "code": shot_mod.CODE_VERSION,
                  "signature": [shot_mod.THUMB_SIZE, shot_mod.HIST_BINS]}
        return stage_key("shots", params, [self.fingerprint])

    def detections_key(self, upstream: str, detector) -> str:
        cfg = self.config
        params = {"detector": detector.params, "every": cfg.detect_every, "code": detector.code_version,
                  "frames": "shot-aligned" if cfg.detect_every > 1 else "all", "appearance": appearance.CODE_VERSION}
        if cfg.full_frame_every > 1:
            params["windows"] = windows_mod.search_params(cfg.full_frame_every)
        if windows_mod.scale_params(cfg.coarse_side):
            params["sizes"] = windows_mod.scale_params(cfg.coarse_side)
        return stage_key("detect", params, [upstream])

    def shots_and_detections(self) -> tuple[str, Shots, np.ndarray, str, Detections] | None:
        """Shots and the faces on their key frames in one decoding pass, where neither the shots nor any chunk of
        the faces is cached (else None: :meth:`shots` then :meth:`detections` resume from the cache). Each frame's
        thumbnail feeds the shot detector (:class:`~facecluster.video.shots.ShotStream`), and a frame whose shot
        is settled (a few frames later) and that is a key frame is converted to full size and searched. The same
        shots, key frames and faces as :meth:`shots` then :meth:`detections`, cached under the same keys, with
        the video decoded once instead of twice and no pass that waits for the other."""
        cfg = self.config
        every, full_every = max(1, cfg.detect_every), cfg.full_frame_every
        shots_key = self.shots_key()
        if self.cache.load("shots", shots_key) is not None:
            return None
        detector = make_detector(cfg.detector, **cfg.detector_params())
        key = self.detections_key(shots_key, detector)
        if self.cache.load("detect", f"{key}-{0:05d}") is not None:
            detector.close()
            return None
        self.embedder_ready = _load_in_background(cfg)
        search = windows_mod.KeyFrameSearch(detector, describe=appearance.face_signatures, coarse_side=cfg.coarse_side)
        stream = shot_mod.ShotStream()
        chunks = _DetectionChunks(self.cache, key)
        pending: dict[int, Frame] = {}  # decoded frames whose shot is not settled yet
        times: list[float] = []
        shot = {"start": -1, "position": 0}  # the shot of the frames being settled; its key frames so far

        def settle(settled: list[tuple[int, int, bool]]) -> None:
            for f, start, last in settled:
                frame = pending.pop(f)
                if start != shot["start"]:
                    shot["start"], shot["position"] = start, 0
                if (f - start) % every and not last:
                    continue
                position = shot["position"]
                shot["position"] += 1
                chunks.expect(f)
                search.declare(f, full_every <= 1 or position == 0 or last or position % full_every == 0, position == 0)
                chunks.add(search.feed(Frame(index=f, time_s=frame.time_s, rgb=full_rgb(frame))))

        total = self.info.num_frames or None
        try:
            for frame in prefetched(iter_frames(self.path, thumbnail=shot_mod.THUMB_SIZE, keep_source=True)):
                pending[frame.index] = frame
                times.append(frame.time_s)
                settle(stream.push(shot_mod.frame_signature(frame.rgb)))
                if len(times) % 50 == 0:
                    self.hook("detect", len(times), total)
            settle(stream.finish())
            chunks.add(search.finish())
        finally:
            detector.close()
        detections = chunks.finish(detector, save_rest=True)  # the stream has ended: its last chunk is whole
        shots = stream.shots()
        self.cache.save("shots", shots_key, {"starts": shots.starts, "ends": shots.ends, "times": np.asarray(times, np.float64)})
        self.hook("detect", len(times), len(times))
        return shots_key, shots, np.asarray(times, np.float64), key, detections

    def shots(self) -> tuple[str, Shots, np.ndarray]:
        key = self.shots_key()
        data = self.cache.load("shots", key)
        if data is None:
            found, times = shot_mod.detect_video_shots(self.path, self.info.num_frames or None,
                                                       lambda done, total: self.hook("shots", done, total))
            data = {"starts": found.starts, "ends": found.ends, "times": times}
            self.cache.save("shots", key, data)
        self.hook("shots", len(data["times"]), len(data["times"]))
        return key, Shots(starts=data["starts"], ends=data["ends"]), data["times"]

    def detections(self, upstream: str, num_frames: int, shots: Shots) -> tuple[str, Detections]:
        """Faces on the key frames (cached in chunks of key frames). With ``full_frame_every`` > 1 only some key
        frames are searched whole, the others around the faces of those (:mod:`facecluster.faces.detect.windows`)."""
        cfg = self.config
        detector = make_detector(cfg.detector, **cfg.detector_params())
        key = self.detections_key(upstream, detector)
        key_array = key_frames(shots, num_frames, cfg.detect_every)
        full = windows_mod.full_key_frames(key_array, shots, cfg.full_frame_every)
        wanted = key_array.tolist()
        chunks = [wanted[i : i + DETECT_CHUNK_FRAMES] for i in range(0, len(wanted), DETECT_CHUNK_FRAMES)]
        parts: dict[int, dict[str, np.ndarray]] = {}
        for c in range(len(chunks)):
            part = self.cache.load("detect", f"{key}-{c:05d}")
            if part is not None:
                parts[c] = part
        store = _DetectionChunks(self.cache, key, parts)
        done = sum(len(chunks[c]) for c in parts)
        self.hook("detect", done, len(wanted))
        todo = {f: c for c, frames in enumerate(chunks) if c not in parts for f in frames}
        if todo:
            self.embedder_ready = _load_in_background(cfg)
            # Faces of whole-searched frames in cached chunks that windows to search now need (few: at chunk edges).
            search = windows_mod.KeyFrameSearch(detector, key_array, full, windows_mod.first_key_frames(key_array, shots),
                                                describe=appearance.face_signatures, coarse_side=cfg.coarse_side)
            for f in search.neighbours_outside(todo):
                part = parts[int(np.searchsorted(key_array, f)) // DETECT_CHUNK_FRAMES]
                here = part["frames"] == f
                search.known[f] = (part["boxes"][here].reshape(-1, 4), part["scores"][here])
            # Anchors in cached chunks are searched again for the size they choose for the frames to do now.
            search.decide_only = search.anchors_outside(todo) if cfg.coarse_side else set()
            for f, c in todo.items():
                store.expect(f, c, len(chunks[c]))

            def record(found: list[tuple[int, np.ndarray, np.ndarray]]) -> None:
                nonlocal done
                done += store.add(found)
                if found:
                    self.hook("detect", done, len(wanted))

            try:
                for frame in prefetched(iter_frames(self.path, frames=set(todo) | search.decide_only)):
                    record(search.feed(frame))
                record(search.finish())
            finally:
                detector.close()
        self.hook("detect", len(wanted), len(wanted))
        # A chunk left short (a video shorter than its frame count said) is used but not cached.
        return key, store.finish(detector, save_rest=False)

    def tracks(self, upstream: str, detections: Detections, shots: Shots) -> tuple[str, Detections, Tracks, Shots]:
        """Tracks, and the shots split at the cuts the tracker's appearance check found
        (:func:`~facecluster.video.tracking.track_faces_and_cuts`). With detection on key frames only, each
        track's ends are looked for again between key frames (:mod:`facecluster.faces.detect.track_ends`,
        cached), and the frames between a track's faces get interpolated boxes (score 0, never embedded), so that
        faces.csv and screen time cover every frame of a track. Detecting on every frame, only the runs of up to
        ``STEADY_EVERY - 1`` frames are filled: the frames the window search left to the tracker between steady
        faces, and a face missed on a frame."""
        cfg = self.config
        params = cfg.tracker_params()
        max_gap = None if cfg.detect_every > 1 else windows_mod.STEADY_EVERY - 1  # the runs of frames to fill in
        key = stage_key("track", {**asdict(params), "code": tracking_mod.CODE_VERSION,
                                  "fill": "all" if max_gap is None else max_gap}, [upstream])
        tracks, shots, _ = track_faces_and_cuts(detections, shots, params)
        if cfg.detect_every == 1:  # the signatures have served the tracker: later stages do not carry them
            detections = Detections(frames=detections.frames, boxes=detections.boxes, scores=detections.scores)
            # The frames the window search left to the tracker, and a face missed on a frame or so (not the longer
            # gaps the tracker bridges: a face hidden for a few frames is not on screen there).
            detections, tracks = fill_track_gaps(detections, tracks, max_gap)
            return key, detections, tracks, shots
        n = len(detections)
        ends = self.cache.load("ends", key)
        if ends is None:
            detector = make_detector(cfg.detector, **cfg.detector_params())
            wanted = set(end_requests(detections, tracks, shots, cfg.detect_every))
            frames = prefetched(iter_frames(self.path, frames=wanted)) if wanted else iter(())
            try:
                extended, ext_tracks = extend_track_ends(frames, detections, tracks, shots, detector, cfg.detect_every,
                                                         params.max_appearance)
            finally:
                detector.close()
            ends = {"frames": extended.frames[n:], "boxes": extended.boxes[n:], "scores": extended.scores[n:],
                    "track_ids": ext_tracks.track_ids[n:]}
            self.cache.save("ends", key, ends)
        # The signatures have served the tracker; the rows filled in below have none.
        detections = Detections(frames=np.concatenate([detections.frames, ends["frames"]]),
                                boxes=np.concatenate([detections.boxes, ends["boxes"]]).reshape(-1, 4),
                                scores=np.concatenate([detections.scores, ends["scores"]]))
        tracks = Tracks(track_ids=np.concatenate([tracks.track_ids, ends["track_ids"]]), track_shots=tracks.track_shots)
        detections, tracks = fill_track_gaps(detections, tracks, max_gap)
        return key, detections, tracks, shots

    def embeddings(self, upstream: str, detections: Detections, tracks: Tracks, shots: Shots | None = None) -> tuple[str, Embeddings]:
        """Base descriptors of the faces to embed (cached in chunks). With ``shots`` given and the clothing
        stage still to do, the same decoding pass also collects the clothing descriptors (cached under the
        clothing stage's key): one decode instead of two."""
        cfg = self.config
        rows = select_faces(tracks, detections, cfg.faces_per_track)
        params = {
            "network": embed_mod.network_id(cfg.network),
            "backend": embed_mod.resolve_embedder(cfg.embedder, cfg.device, cfg.network),
            "aligner": "centerface-5pt-arcface" if cfg.network == "sface" else "dlib-5pt-square",
            "faces_per_track": cfg.faces_per_track,
            "spread": "time",  # select_faces: nearest to evenly spaced frames
            "code": embed_mod.CODE_VERSION,
            **embed_mod.output_params(cfg.embedder, cfg.device, cfg.network),
        }
        key = stage_key("embed", params, [upstream])
        # The report's crops come from this stage's decoding pass; with the clothing cue, torsos too.
        self.report_crops = self.cache.files_folder("crops", f"{key}-torso" if cfg.uses_clothing else key)
        chunks = [rows[i : i + EMBED_CHUNK_FACES] for i in range(0, len(rows), EMBED_CHUNK_FACES)]
        parts: dict[int, np.ndarray] = {}
        for c in range(len(chunks)):
            part = self.cache.load("embed", f"{key}-{c:05d}")
            if part is None:
                continue
            if "rows" not in part or not np.array_equal(part["rows"], chunks[c]):
                continue  # a chunk of other faces (a stale or foreign file): embed again
            parts[c] = part["vectors"]
        done = sum(len(chunks[c]) for c in parts)
        self.hook("embed", done, len(rows))
        todo = [c for c in range(len(chunks)) if c not in parts]
        if todo:
            todo_rows = np.concatenate([chunks[c] for c in todo])
            progress = [done]

            def on_batch(k: int) -> None:
                progress[0] += k
                self.hook("embed", progress[0], len(rows))

            if self.embedder_ready is not None:
                self.embedder_ready.join()
            clothing_key = self._clothing_key(key)
            collector = None
            if shots is not None and cfg.uses_clothing and len(todo) == len(chunks) and self.cache.load("clothing", clothing_key) is None:
                collector = clothing_descriptors.VideoClothing(shots, detections, rows)
            crops = ReportCrops(self.report_crops, detections, tracks, rows, with_torso=cfg.uses_clothing, decoded=todo_rows)
            also = [(crops, crops.wanted)] + ([(collector.add, collector.wanted)] if collector else [])

            def collect(index: int, rgb: np.ndarray) -> None:
                for fn, frames in also:
                    if index in frames:
                        fn(index, rgb)

            batches = chip_batches(self.path, detections.frames, detections.boxes, todo_rows, embed_mod.make_aligner(cfg.network),
                                   also=collect, also_frames=set().union(*(frames for _, frames in also)))
            vectors = np.concatenate(
                list(embed_mod.embed_chip_batches(batches, workers=cfg.workers, on_batch=on_batch, embedder=cfg.embedder, network=cfg.network,
                                                  device=cfg.device))
                or [np.zeros((0, embed_mod.EMBEDDING_DIM), np.float32)]
            )
            if collector is not None:
                self.collected_clothing = (clothing_key, collector.result())
                self.cache.save("clothing", clothing_key, self.collected_clothing[1])
            # Rows were embedded in frame order; put them back in chunk order.
            by_row = dict(zip(todo_rows.tolist(), vectors))
            for c in todo:
                parts[c] = np.stack([by_row[r] for r in chunks[c].tolist()]).astype(np.float32)
                self.cache.save("embed", f"{key}-{c:05d}", {"rows": chunks[c], "vectors": parts[c]})
        vectors = (np.concatenate([parts[c] for c in range(len(chunks))]) if chunks
                   else np.zeros((0, embed_mod.EMBEDDING_DIM), np.float32))
        return key, Embeddings(rows=rows, vectors=vectors)

    def learned(self, upstream: str, detections: Detections, tracks: Tracks, emb: Embeddings) -> tuple[Embeddings, float]:
        """Adapted face features (SSiam, TSiam, CCL) of the embedded faces (the base ones for ``none``), and
        the learned space's distance scale against the base one (CCL's ``distance_scale_``; 1.0 otherwise)."""
        cfg = self.config
        method = cfg.learn
        if method == "none" or len(emb.rows) < 2:
            return emb, 1.0
        from facecluster.learn import variants

        learner = variants.make_learner(method, cfg.learn_variant, cfg.seed)
        if "device" in learner.get_params():  # SSiam and TSiam run on PyTorch; CCL on NumPy
            learner.set_params(device=cfg.device)
        params = {"method": method, **learner.get_params(), "device": "any", "code": variants.CODE_VERSION}
        key = stage_key("learn", params, [upstream])
        data = self.cache.load("learn", key)
        if data is None:
            self.hook("learn", 0, learner.epochs)
            if method not in variants.TRACK_METHODS:
                learner.fit(emb.vectors)
            else:
                learner.fit(emb.vectors, tracks.track_ids[emb.rows], detections.frames[emb.rows])
            data = {"vectors": learner.transform(emb.vectors),
                    "distance_scale": np.float64(getattr(learner, "distance_scale_", 1.0))}
            self.cache.save("learn", key, data)
        self.hook("learn", 1, 1)
        return Embeddings(rows=emb.rows, vectors=data["vectors"]), float(data["distance_scale"])

    @staticmethod
    def _clothing_key(upstream: str) -> str:
        c = clothing_descriptors
        params = {"torso": [c.TORSO_WIDTH, c.TORSO_GAP, c.TORSO_HEIGHT], "bins": [c.HUE_BINS, c.SAT_BINS, c.VALUE_BINS],
                  "grid": c.BACKGROUND_GRID, "min_visible": c.MIN_VISIBLE, "code": c.CODE_VERSION}
        return stage_key("clothing", params, [upstream])

    def clothing(self, upstream: str, shots: Shots, detections: Detections, emb: Embeddings) -> tuple[str, dict]:
        """Clothing descriptor of every embedded face and background descriptor of every shot (cached; usually
        collected already by the embedding stage's decoding pass)."""
        c = clothing_descriptors
        key = self._clothing_key(upstream)
        collected_key, data = self.collected_clothing
        if collected_key != key:
            data = self.cache.load("clothing", key)
        if data is None:
            data = c.describe_video(self.path, shots, detections, emb.rows, lambda done, total: self.hook("clothing", done, total))
            self.cache.save("clothing", key, data)
        return key, data

    def clustering(self, detections: Detections, tracks: Tracks, emb: Embeddings, shots: Shots,
                   clothing: dict | None, base: Embeddings | None = None, base_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Track features (T, D) and the person of each track (T,), ordered by screen time;
        -1 for tracks that are probably not a face (:func:`~facecluster.cluster.tracks.not_a_face_tracks`).

        emb: the features to cluster; base: the network's own vectors of the same faces where
        emb was learned on this video. The stop distance is then calibrated on the base track
        features, whose pairs on screen together were not trained apart, and applied to the
        learned distances times ``base_scale``, how much the learned space shrinks distances
        (CCL's ``distance_scale_``; benchmarks/results/learn.md)."""
        cfg = self.config
        features = track_means(tracks, emb, detections.scores)
        calibration_features = features if base is None else track_means(tracks, base, detections.scores)
        first, last = track_spans(tracks, detections)
        cannot = overlapping_pairs(first, last)
        T = tracks.num_tracks
        if T == 0:
            return np.zeros((0, features.shape[1]), np.float32), np.zeros(0, np.int64)
        scores = track_scores(tracks, detections.scores)
        faces = ~not_a_face_tracks(scores, calibration_features, cannot, low_score=cfg.score_threshold + NOT_A_FACE_MARGIN)
        keep = np.flatnonzero(faces)
        index = np.full(T, -1, np.int64)
        index[keep] = np.arange(len(keep))
        sub_cannot = index[cannot]
        sub_cannot = sub_cannot[(sub_cannot >= 0).all(axis=1)] if len(cannot) else cannot
        n_clusters = None if cfg.num_people is None else min(cfg.num_people, len(keep))
        labels = np.full(T, -1, np.int64)
        if len(keep) == 0:
            return features, labels
        threshold = cfg.distance_threshold
        if threshold is None and n_clusters is None and cfg.cluster == "average":
            # The self-calibrating rule for a video's tracks (stop_rule.TRACKS_MIN_ITEMS: the fallback, not nearest
            # neighbours, where too few pairs are known to differ), on the faces alone: clothing shifts the distances of
            # pairs on screen together (different clothes) upwards, which would make a cannot-link yardstick too lenient.
            threshold = stop_distance(pairwise(calibration_features[keep]), sub_cannot, fallback("tracks", cfg.network),
                                      min_items=TRACKS_MIN_ITEMS) * (base_scale if base is not None else 1.0)
        if clothing is not None:
            distances, self.calibration = track_distances_with_clothing(features, tracks, detections, emb, shots, clothing, cannot,
                                                                            cfg.network)
            model = make_clusterer(cfg.cluster, n_clusters=n_clusters, threshold=threshold, metric="precomputed",
                                   network=cfg.network)
            labels[keep] = model.fit_predict(distances[np.ix_(keep, keep)], cannot_link=sub_cannot)
        else:
            model = make_clusterer(cfg.cluster, n_clusters=n_clusters, threshold=threshold, network=cfg.network)
            labels[keep] = model.fit_predict(features[keep], cannot_link=sub_cannot)
        stop = getattr(model, "distance_threshold_", None)
        self.stop_distance = None if stop is None or n_clusters is not None else float(stop)
        return features, order_by_screen_time(labels, first, last)


def _load_in_background(config: PipelineConfig) -> threading.Thread:
    """Start a thread that loads what the later stages need: the face network (its onnxruntime session
    built from dlib's file, ~0.3 s; or PyTorch's import, ~2 s) and SciPy's parts behind tracking and
    clustering (~1 s). Started when detection starts, whose work runs outside the GIL. Join it before
    embedding, and before the run ends."""

    def load() -> None:
        try:
            import scipy.optimize  # noqa: F401 - tracking and the window search (imported where used, ~0.5 s)
            import scipy.spatial.distance  # noqa: F401 - distances for clustering (~0.4 s)

            import facecluster.cluster.agglomerative  # noqa: F401 - SciPy's parts behind clustering

            embed_mod.preload(config.embedder, config.device, config.workers, config.network)
        except Exception:  # noqa: BLE001 - the stage that needs it loads it again and reports the error itself
            pass

    thread = threading.Thread(target=load, name="preload", daemon=True)
    thread.start()
    return thread


class _DetectionChunks:
    """The faces of a video's key frames, cached in chunks of ``DETECT_CHUNK_FRAMES`` key frames, each saved as
    soon as it is full: :meth:`expect` each key frame to search (its chunk and that chunk's size; by default the
    next place in order), :meth:`add` what the search returns, :meth:`finish` for the detections of all chunks,
    ``parts`` (chunk → columns, those read from the cache) included."""

    def __init__(self, cache: StageCache, key: str, parts: dict[int, dict[str, np.ndarray]] | None = None) -> None:
        self.cache, self.key = cache, key
        self.parts = dict(parts or {})
        self.chunk_of: dict[int, int] = {}
        self.sizes: dict[int, int] = {}
        self.count = 0
        self.buffers: dict[int, list] = {}

    def expect(self, frame: int, chunk: int | None = None, size: int = DETECT_CHUNK_FRAMES) -> None:
        c = self.count // DETECT_CHUNK_FRAMES if chunk is None else chunk
        self.chunk_of[frame], self.sizes[c] = c, size
        self.count += 1

    def add(self, found: list[tuple[int, np.ndarray, np.ndarray]]) -> int:
        """Take the search's (frame, boxes, scores); returns how many key frames that was."""
        for item in found:
            c = self.chunk_of.pop(item[0])
            self.buffers.setdefault(c, []).append(item)
            if len(self.buffers[c]) == self.sizes[c]:
                self._keep(c, save=True)
        return len(found)

    def finish(self, detector, save_rest: bool) -> Detections:
        """The detections of every chunk in frame order, the windows' seeds dropped (:func:`windows.detections_only`);
        chunks not full are kept, and cached only with ``save_rest``."""
        for c in sorted(self.buffers):
            self._keep(c, save=save_rest)
        if not self.parts:
            return Detections.empty()
        ordered = [self.parts[c] for c in sorted(self.parts)]
        found = {name: np.concatenate([p[name] for p in ordered]) for name in ordered[0]}
        real = windows_mod.detections_only(found["scores"], detector)
        return Detections(**{name: values[real] for name, values in found.items()})

    def _keep(self, c: int, save: bool) -> None:
        self.parts[c] = _stack_detections(self.buffers.pop(c))
        if save:
            self.cache.save("detect", f"{self.key}-{c:05d}", self.parts[c])


def _stack_detections(items: list[tuple]) -> dict[str, np.ndarray]:
    """One chunk's detections, (frame, boxes (K, 4), scores (K,), signatures (K, D)) per frame in any order, as
    Detections columns by frame."""
    items = sorted(items, key=lambda item: item[0])
    return {
        "frames": np.concatenate([np.zeros(0, np.int64), *(np.full(len(item[1]), item[0], np.int64) for item in items)]),
        "boxes": np.concatenate([np.zeros((0, 4), np.float32), *(item[1].reshape(-1, 4) for item in items)]).astype(np.float32),
        "scores": np.concatenate([np.zeros(0, np.float32), *(item[2] for item in items)]).astype(np.float32),
        "signatures": np.concatenate([np.zeros((0, appearance.SIZE), np.float16),
                                      *(item[3].reshape(-1, appearance.SIZE) for item in items)]).astype(np.float16),
    }


def run_video(
    path: str | Path,
    out_dir: str | Path,
    config: PipelineConfig = PipelineConfig(),
    *,
    hook: ProgressHook | None = None,
    force: bool = False,
) -> VideoResult:
    """Run every stage on one video; caches under ``out_dir/cache``. Writes no outputs
    (see :func:`facecluster.outputs.video.write_video_outputs`)."""
    hook = hook or _no_progress
    path = Path(path)
    info = probe(path)
    cache = StageCache(Path(out_dir) / "cache", enabled=not force)
    stages = _Stages(path, info, cache, config, hook)
    timings: dict[str, float] = {}
    try:
        t0 = time.perf_counter()
        found = stages.shots_and_detections()  # one decoding pass for both (None: resume from the cache)
        if found is not None:
            shots_key, shots, times, det_key, detections = found
            timings["shots"] = 0.0  # the pass counts as detection
        else:
            shots_key, shots, times = stages.shots()
            timings["shots"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            det_key, detections = stages.detections(shots_key, len(times), shots)
        timings["detect"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        track_key, detections, tracks, shots = stages.tracks(det_key, detections, shots)
        timings["track"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        embed_key, embeddings = stages.embeddings(track_key, detections, tracks, shots)
        timings["embed"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        features_for_clustering, learned_scale = stages.learned(embed_key, detections, tracks, embeddings)
        timings["learn"] = time.perf_counter() - t0

        clothing = None
        if config.uses_clothing:
            t0 = time.perf_counter()
            _, clothing = stages.clothing(embed_key, shots, detections, embeddings)
            timings["clothing"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        base = embeddings if config.learn in BASE_SCALE_METHODS and len(embeddings.rows) >= 2 else None
        features, track_person = stages.clustering(detections, tracks, features_for_clustering, shots, clothing, base, learned_scale)
        timings["cluster"] = time.perf_counter() - t0
    finally:
        # The embedder's background loading must not outlive the run (a thread left inside PyTorch's
        # loading aborts the interpreter at exit).
        if stages.embedder_ready is not None:
            stages.embedder_ready.join()

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
        stop_distance=stages.stop_distance,
        report_crops=stages.report_crops,
    )
