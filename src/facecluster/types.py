"""Typed data that stages hand to each other: plain arrays in frozen dataclasses.

Coordinates are pixels of the decoded (rotation-corrected) frame; frame indices
are 0-based in decode order; times are seconds from the start of the container.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds, read from its container."""

    path: str
    width: int
    height: int
    fps: float
    num_frames: int  # frames actually decoded (0 when unknown before decoding)
    duration_s: float
    rotation: int  # degrees, counter-clockwise, already applied to decoded frames


@dataclass(frozen=True)
class Shots:
    """Shot boundaries. ``starts[i]`` .. ``ends[i]`` (inclusive) are the frames of shot i."""

    starts: np.ndarray  # (S,) int64
    ends: np.ndarray  # (S,) int64

    def __len__(self) -> int:
        return int(self.starts.shape[0])

    def shot_of(self, frames: np.ndarray) -> np.ndarray:
        """Shot index of each frame index, shape like ``frames``."""
        return np.searchsorted(self.starts, np.asarray(frames), side="right") - 1


@dataclass(frozen=True)
class Detections:
    """All face detections of a video, one row per face.

    frames: (N,) int64 frame index; boxes: (N, 4) float32 x1, y1, x2, y2;
    scores: (N,) float32 in [0, 1]; signatures: (N, D) float16 appearance signatures
    (:mod:`facecluster.appearance`) for the tracker's check, or None.
    """

    frames: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    signatures: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.frames.shape[0])

    @staticmethod
    def empty() -> "Detections":
        return Detections(
            frames=np.zeros(0, np.int64),
            boxes=np.zeros((0, 4), np.float32),
            scores=np.zeros(0, np.float32),
        )


@dataclass(frozen=True)
class Tracks:
    """Face tracks: ``track_ids[i]`` is the track of detection i (-1: in no track).

    track_shots: (T,) int64 shot of each track, indexed by track id 0..T-1.
    """

    track_ids: np.ndarray  # (N,) int64, parallel to Detections rows
    track_shots: np.ndarray  # (T,) int64

    @property
    def num_tracks(self) -> int:
        return int(self.track_shots.shape[0])


@dataclass(frozen=True)
class Embeddings:
    """Face descriptors for a subset of detections.

    rows: (M,) int64 indices into Detections; vectors: (M, D) float32.
    """

    rows: np.ndarray
    vectors: np.ndarray



ProgressHook = Callable[[str, int, "int | None"], None]
