from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("FACECLUSTER_DATA", REPO.parent / "shared" / "data"))


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data; skips the test with a reason where it is absent."""
    path = DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found: {path} (set FACECLUSTER_DATA)")
    return path


def write_video(path: Path, frames: list[np.ndarray], fps: int = 25) -> Path:
    """Encode RGB frames (H, W, 3) uint8 as H.264 MP4."""
    import av

    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height = w, h
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "18"}
        for rgb in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def colour_frames(colours: list[tuple[int, int, int]], per_shot: int, size=(96, 64)) -> list[np.ndarray]:
    """Shots of flat colour with a moving square, ``per_shot`` frames each."""
    w, h = size
    frames = []
    for c in colours:
        for i in range(per_shot):
            f = np.zeros((h, w, 3), np.uint8)
            f[:] = c
            x = 5 + i
            f[10:30, x : x + 20] = 255 - np.array(c, np.uint8)
            frames.append(f)
    return frames


@pytest.fixture(scope="session")
def demo_video(tmp_path_factory) -> Path:
    from facecluster.demo import write_demo_video

    return write_demo_video(tmp_path_factory.mktemp("demo") / "demo.mp4")


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    from facecluster.demo import demo_photo

    return demo_photo("eileen_collins")


@pytest.fixture(scope="session")
def demo_cache(demo_video, tmp_path_factory) -> Path:
    """The stage cache of one default run of the demo video (detections, embeddings, clothing)."""
    from facecluster.config import PipelineConfig
    from facecluster.pipeline.video import run_video

    folder = tmp_path_factory.mktemp("demo_cache") / "demo"
    run_video(demo_video, folder, PipelineConfig(workers=1))
    return folder / "cache"


@pytest.fixture
def seed_cache(demo_cache):
    """``seed_cache(folder)``: copy the demo's stage cache into ``folder/cache``, so that a run on the
    demo video (or a copy of it: caches are keyed by content) starts from its finished stages."""
    import shutil

    def seed(folder: Path) -> Path:
        shutil.copytree(demo_cache, Path(folder) / "cache")
        return Path(folder)

    return seed
