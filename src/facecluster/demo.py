"""A short sample video built from two real photographs that ship inside this package.

Two people: astronaut Eileen Collins and Grace Hopper (public-domain photographs,
``demo_photos/``, see its NOTICE). Seven shots of slow zooms and
pans, one with both side by side, so the video has several tracks per person, shot
cuts and two faces in one frame.
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path

import cv2
import numpy as np

DEMO_SIZE = (640, 360)  # width, height
DEMO_FPS = 25
# (who, frames, start zoom, end zoom, horizontal drift in px over the shot)
DEMO_SHOTS = [
    ("collins", 30, 1.00, 1.15, 0),
    ("hopper", 30, 1.10, 1.00, 20),
    ("both", 35, 1.00, 1.05, 0),
    ("collins", 25, 1.30, 1.40, -20),
    ("hopper", 25, 1.00, 1.10, -10),
    ("both", 25, 1.05, 1.00, 10),
    ("collins", 25, 1.10, 1.00, 10),
]
# Who is in each shot, left to right, for checking the demo's result.
DEMO_PEOPLE = {"collins": ["collins"], "hopper": ["hopper"], "both": ["collins", "hopper"]}


def demo_photo(name: str) -> np.ndarray:
    """A shipped photograph, (H, W, 3) uint8 RGB: ``eileen_collins`` (512×512) or ``grace_hopper``."""
    files = {"eileen_collins": "eileen_collins.png", "grace_hopper": "grace_hopper.jpg"}
    raw = (resources.files("facecluster") / "demo_photos" / files[name]).read_bytes()
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _photos() -> dict[str, np.ndarray]:
    """RGB uint8 photographs, keyed by person."""
    collins = demo_photo("eileen_collins")
    hopper = demo_photo("grace_hopper")
    # Head-and-shoulders crops, roughly centred on the face.
    return {"collins": collins[0:330, 60:420], "hopper": hopper[0:420, 80:500]}


def _canvas(photo: np.ndarray, zoom: float, dx: float) -> np.ndarray:
    """One frame: a photo scaled to the frame height × zoom, centred, shifted by dx."""
    w, h = DEMO_SIZE
    scale = h * zoom / photo.shape[0]
    img = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    frame = np.full((h, w, 3), 40, np.uint8)
    x0 = int(round((w - img.shape[1]) / 2 + dx))
    y0 = int(round((h - img.shape[0]) / 2))
    sx0, sy0 = max(0, -x0), max(0, -y0)
    dx0, dy0 = max(0, x0), max(0, y0)
    cw, ch = min(img.shape[1] - sx0, w - dx0), min(img.shape[0] - sy0, h - dy0)
    frame[dy0 : dy0 + ch, dx0 : dx0 + cw] = img[sy0 : sy0 + ch, sx0 : sx0 + cw]
    return frame


def _side_by_side(photos: dict[str, np.ndarray], zoom: float, dx: float) -> np.ndarray:
    w, h = DEMO_SIZE
    half_w = w // 2
    left = cv2.resize(_canvas(photos["collins"], zoom, dx), (half_w, int(h * half_w / w)))
    right = cv2.resize(_canvas(photos["hopper"], zoom, -dx), (half_w, int(h * half_w / w)))
    frame = np.full((h, w, 3), 25, np.uint8)
    y0 = (h - left.shape[0]) // 2
    frame[y0 : y0 + left.shape[0], :half_w] = left
    frame[y0 : y0 + right.shape[0], half_w : 2 * half_w] = right
    return frame


def demo_frames() -> list[np.ndarray]:
    """All frames of the demo video, (360, 640, 3) uint8 each."""
    photos = _photos()
    frames = []
    for who, n, z0, z1, drift in DEMO_SHOTS:
        for i in range(n):
            a = i / max(n - 1, 1)
            zoom, dx = z0 + (z1 - z0) * a, drift * a
            frames.append(_side_by_side(photos, zoom, dx) if who == "both" else _canvas(photos[who], zoom, dx))
    return frames


def write_demo_video(path: str | Path) -> Path:
    """Encode the demo as H.264 MP4 with PyAV; returns the path."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=DEMO_FPS)
        stream.width, stream.height = DEMO_SIZE
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "20", "preset": "veryfast"}
        for rgb in demo_frames():
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def expected_people() -> int:
    return len({p for who, *_ in DEMO_SHOTS for p in DEMO_PEOPLE[who]})
