import numpy as np
import pytest
from conftest import colour_frames, write_video

from facecluster.errors import InputError
from facecluster.video.decode import iter_frames, probe


@pytest.fixture()
def small_video(tmp_path):
    return write_video(tmp_path / "small.mp4", colour_frames([(200, 40, 40), (40, 40, 200)], per_shot=10), fps=10)


def test_probe_and_decode(small_video):
    info = probe(small_video)
    assert (info.width, info.height, info.fps, info.rotation) == (96, 64, 10.0, 0)
    frames = list(iter_frames(small_video))
    assert [f.index for f in frames] == list(range(20))
    assert np.allclose([f.time_s for f in frames], np.arange(20) / 10.0, atol=1e-3)
    assert frames[0].rgb.shape == (64, 96, 3) and frames[0].rgb.dtype == np.uint8
    assert abs(int(frames[0].rgb[50, 80, 0]) - 200) < 12  # red shot, colours survive the codec


def test_subset_of_frames(small_video):
    assert [f.index for f in iter_frames(small_video, frames={4, 7})] == [4, 7]
    assert [f.index for f in iter_frames(small_video, frames={0, 18})] == [0, 18]


def make_audio_only(path):
    import av

    with av.open(str(path), "w") as c:
        s = c.add_stream("aac", rate=16000)
        for i in range(10):
            f = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            f.sample_rate, f.pts = 16000, i * 1024
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.write_bytes(b""), "file is empty"),
        (lambda p: p.write_text("not a video"), "not a playable video"),
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: None, "no such file"),
        (make_audio_only, "no video stream (only audio streams)"),
    ],
)
def test_bad_input_names_file_and_problem(tmp_path, make, message):
    path = tmp_path / "input.mp4"
    make(path)
    with pytest.raises(InputError) as err:
        list(iter_frames(path))
    assert str(path) in str(err.value) and message in str(err.value)
    assert "\n" not in str(err.value)


def test_truncated_file_keeps_decoded_frames(tmp_path, small_video):
    data = small_video.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    try:
        frames = list(iter_frames(cut))
    except InputError as exc:  # the moov atom may sit at the end: then nothing is playable
        assert "cut.mp4" in str(exc)
    else:
        assert len(frames) <= 20


@pytest.mark.parametrize("height", [64, 54])  # 54: chroma planes of 27 rows, which do not fill whole rows of W (as 480x270)
def test_thumbnails_match_resized_frames(tmp_path, height):
    """Frames decoded straight to thumbnails look like full frames scaled down (4:2:0 planes scaled first)."""
    import cv2

    rng = np.random.default_rng(0)
    frames = [cv2.GaussianBlur(rng.integers(0, 255, (height, 96, 3), dtype=np.uint8), (9, 9), 3) for _ in range(5)]
    video = write_video(tmp_path / "noise.mp4", frames, fps=10)
    full = [cv2.resize(f.rgb, (32, 20), interpolation=cv2.INTER_AREA) for f in iter_frames(video)]
    small = [f.rgb for f in iter_frames(video, thumbnail=(32, 20))]
    assert len(small) == 5 and small[0].shape == (20, 32, 3)
    for a, b in zip(full, small):
        assert np.abs(a.astype(int) - b).mean() < 3


def test_prefetched_frames(small_video):
    """Decoding ahead in a thread yields the same frames; an early stop ends the thread; errors come through."""
    import threading

    from facecluster.video.decode import prefetched

    plain = [(f.index, f.rgb.sum()) for f in iter_frames(small_video)]
    assert [(f.index, f.rgb.sum()) for f in prefetched(iter_frames(small_video), depth=2)] == plain
    ahead = prefetched(iter_frames(small_video), depth=1)
    assert next(ahead).index == 0
    ahead.close()
    assert not any(t.name == "decode" for t in threading.enumerate())

    def broken():
        yield from iter_frames(small_video, frames={0})
        raise InputError(small_video, "broke off")

    with pytest.raises(InputError, match="broke off"):
        list(prefetched(broken()))
