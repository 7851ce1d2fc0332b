"""Video decoding with PyAV: RGB frames with their index and timestamp."""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facecluster.errors import InputError
from facecluster.types import VideoInfo


@dataclass(frozen=True)
class Frame:
    """One decoded frame. ``rgb`` is (H, W, 3) uint8, rotation already applied."""

    index: int  # 0-based, decode order
    time_s: float  # seconds from the container's start
    rgb: np.ndarray
    source: object = None  # with iter_frames(keep_source=True): the decoded frame, for full_rgb
    rotation: int = 0  # the display rotation to apply to the source (degrees counter-clockwise)


def full_rgb(frame: Frame) -> np.ndarray:
    """(H, W, 3) uint8 RGB of a frame yielded by ``iter_frames(..., thumbnail=..., keep_source=True)`` at full size,
    rotation applied: the conversion that the thumbnail spared, done only for the frames that need it."""
    if frame.source is None:
        return frame.rgb
    return _rotate(frame.source.to_ndarray(format="rgb24"), frame.rotation)


def _check_readable(path: Path) -> None:
    if not path.exists():
        raise InputError(path, "no such file")
    if path.is_dir():
        raise InputError(path, "is a directory, expected a video file")
    if not os.access(path, os.R_OK):
        raise InputError(path, "permission denied (file is not readable)")
    if path.stat().st_size == 0:
        raise InputError(path, "file is empty (0 bytes)")


def _open(path: Path):
    import av

    _check_readable(path)
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as exc:
        raise InputError(path, f"not a playable video ({_ffmpeg_reason(exc)})") from None
    if not container.streams.video:
        kinds = sorted({s.type for s in container.streams})
        container.close()
        what = f"only {', '.join(kinds)} streams" if kinds else "no streams"
        raise InputError(path, f"no video stream ({what})")
    return container


def _ffmpeg_reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return str(text).split(":")[0].strip() or type(exc).__name__


def _stream_rotation(stream) -> int:
    """Counter-clockwise display rotation from the legacy ``rotate`` tag (clockwise), or 0."""
    value = stream.metadata.get("rotate")
    if value:
        try:
            return (-int(round(float(value)))) % 360
        except ValueError:
            pass
    return 0


def _frame_rotation(frame, stream_rotation: int) -> int:
    """Counter-clockwise display rotation of a decoded frame (display matrix first)."""
    rotation = getattr(frame, "rotation", 0) or 0
    return int(rotation) % 360 if rotation else stream_rotation


def _rotate(rgb: np.ndarray, degrees: int) -> np.ndarray:
    """Rotate for display: ``degrees`` counter-clockwise as FFmpeg's display matrix says."""
    k = (int(round(degrees / 90.0)) % 4)
    return np.ascontiguousarray(np.rot90(rgb, k=k)) if k else rgb


def probe(path: str | Path) -> VideoInfo:
    """Read a video's size, frame rate, duration and rotation without decoding it all."""
    import av

    path = Path(path)
    container = _open(path)
    try:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.guessed_rate or 25.0)
        if container.duration:
            duration = container.duration / 1e6
        elif stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        else:
            duration = 0.0
        rotation = _stream_rotation(stream)
        try:
            first = next(container.decode(stream))
            rotation = _frame_rotation(first, rotation)
        except (StopIteration, av.error.FFmpegError):
            pass
        width, height = stream.codec_context.width, stream.codec_context.height
        if rotation % 180 == 90:
            width, height = height, width
        return VideoInfo(
            path=str(path),
            width=int(width),
            height=int(height),
            fps=fps,
            num_frames=int(stream.frames or 0),
            duration_s=float(duration),
            rotation=rotation,
        )
    finally:
        container.close()


def _thumbnail(frame, size: tuple[int, int]) -> np.ndarray:
    """(h, w, 3) uint8 RGB of a decoded frame scaled to ``size`` (w, h) by area averaging.

    For 4:2:0 YUV (nearly every video) the planes are scaled first and only the thumbnail
    is converted to RGB: about a third of the cost of converting the whole frame."""
    import cv2

    w, h = size
    if frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0 and w % 4 == 0 and h % 4 == 0:
        planes = frame.to_ndarray().reshape(-1)  # Y (H, W), then U and V each (H/2, W/2), packed one after the other
        H, W = frame.height, frame.width
        n_y, n_c = H * W, (H // 2) * (W // 2)  # a chroma plane need not fill whole rows of W (H/2 odd: 480x270)
        y = cv2.resize(planes[:n_y].reshape(H, W), (w, h), interpolation=cv2.INTER_AREA)
        u = cv2.resize(planes[n_y : n_y + n_c].reshape(H // 2, W // 2), (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        v = cv2.resize(planes[n_y + n_c : n_y + 2 * n_c].reshape(H // 2, W // 2), (w // 2, h // 2), interpolation=cv2.INTER_AREA)
        small = np.concatenate([y, u.reshape(-1, w), v.reshape(-1, w)])
        return cv2.cvtColor(small, cv2.COLOR_YUV2RGB_I420)
    return cv2.resize(frame.to_ndarray(format="rgb24"), (w, h), interpolation=cv2.INTER_AREA)


def iter_frames(path: str | Path, *, frames: set[int] | None = None, thumbnail: tuple[int, int] | None = None,
                keep_source: bool = False) -> Iterator[Frame]:
    """Decode a video and yield RGB frames in decode order.

    frames: if given, yield only these indices (and stop after the last). thumbnail: (w, h)
    (multiples of 4 are fastest): yield every frame scaled to that size (before the display rotation) instead
    of at full size, which is much cheaper; with ``keep_source`` each frame also keeps the decoded picture, so
    that :func:`full_rgb` gives it at full size later (a few frames held: ~1.5 bytes a pixel each). Raises InputError when no frame at all can be
    decoded; a file that breaks off mid-way yields the frames before the break.
    """
    import av

    path = Path(path)
    container = _open(path)
    last_wanted = max(frames) if frames else None
    decoded = 0
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        start = container.start_time / 1e6 if container.start_time is not None else 0.0
        fps = float(stream.average_rate or stream.guessed_rate or 25.0)
        stream_rotation = _stream_rotation(stream)
        index = -1
        try:
            for frame in container.decode(stream):
                index += 1
                decoded += 1
                if frames is not None and index not in frames:
                    if last_wanted is not None and index > last_wanted:
                        break
                    continue
                rgb = frame.to_ndarray(format="rgb24") if thumbnail is None else _thumbnail(frame, thumbnail)
                rotation = _frame_rotation(frame, stream_rotation)
                rgb = _rotate(rgb, rotation)
                t = frame.time
                time_s = (t - start) if t is not None else index / fps
                if keep_source and thumbnail is not None:
                    yield Frame(index=index, time_s=float(time_s), rgb=rgb, source=frame, rotation=rotation)
                else:
                    yield Frame(index=index, time_s=float(time_s), rgb=rgb)
        except av.error.FFmpegError as exc:
            if decoded == 0:
                raise InputError(path, f"no decodable video frames ({_ffmpeg_reason(exc)})") from None
            # A truncated file: keep what was decoded.
        if decoded == 0:
            raise InputError(path, "no decodable video frames")
    finally:
        container.close()


def prefetched(frames: Iterator[Frame], depth: int = 8) -> Iterator[Frame]:
    """The same frames, decoded ahead in a background thread (at most ``depth`` waiting).

    PyAV decodes and converts without holding the GIL, so decoding overlaps the caller's
    work on the frames. An error raised while decoding is raised here, at the frame where
    it happened; closing this generator early stops the decoding thread."""
    import queue
    import threading

    items: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()
    done = object()

    def produce() -> None:
        try:
            for frame in frames:
                while not stop.is_set():
                    try:
                        items.put(frame, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    break
            items.put((done, None))
        except BaseException as exc:  # handed to the consumer
            items.put((done, exc))
        finally:
            close = getattr(frames, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="decode", daemon=True)
    worker.start()
    try:
        while True:
            item = items.get()
            if isinstance(item, tuple) and item[0] is done:
                if item[1] is not None:
                    raise item[1]
                return
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                items.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.05)
