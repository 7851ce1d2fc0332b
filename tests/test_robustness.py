"""Odd input, interrupted runs and output-folder safety (issue 7)."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import write_video

from facecluster.app import process_videos
from facecluster.config import PipelineConfig
from facecluster.video.decode import iter_frames, probe

OUTPUTS = ("faces.csv", "tracks.csv", "clusters.json")


def cli(*args, **kw):
    return subprocess.run([sys.executable, "-m", "facecluster", *map(str, args)], capture_output=True, text=True, **kw)


def face_frame(astronaut, size, face_height):
    """A (h, w, 3) frame with the astronaut photo scaled so that it is face_height tall, centred."""
    w, h = size
    photo = astronaut[0:330, 60:420]
    scale = face_height / photo.shape[0]
    img = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    frame = np.full((h, w, 3), 40, np.uint8)
    y0, x0 = (h - img.shape[0]) // 2, (w - img.shape[1]) // 2
    frame[y0 : y0 + img.shape[0], x0 : x0 + img.shape[1]] = img
    return frame


def test_output_folder_safety(tmp_path, demo_video):
    out = tmp_path / "out"
    (out / "demo").mkdir(parents=True)
    (out / "demo" / "thesis.docx").write_text("precious")
    [o] = process_videos([demo_video], out, PipelineConfig())
    assert "holds files facecluster did not write (thesis.docx)" in o.error and not (out / "demo" / "clusters.json").exists()
    [o] = process_videos([demo_video], out, PipelineConfig(), force=True)
    assert o.error is None and (out / "demo" / "thesis.docx").read_text() == "precious"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out2 = tmp_path / "out2"
    out2.mkdir()
    (out2 / "demo").symlink_to(elsewhere, target_is_directory=True)
    [o] = process_videos([demo_video], out2, PipelineConfig(), force=True)
    assert "symbolic link" in o.error and list(elsewhere.iterdir()) == []


def test_a_rerun_removes_the_temporary_files_a_killed_run_left(tmp_path, demo_video):
    """Hidden temporaries (what a SIGKILL leaves mid-write) older than STALE_TEMPORARY_S go on the next run; a fresh one
    (another run writing into the same folder now) stays."""
    from facecluster.cache import STALE_TEMPORARY_S

    out = tmp_path / "out"
    [o] = process_videos([demo_video], out, PipelineConfig())
    assert o.error is None
    folder = out / "demo"
    stale = [folder / ".clusters.json-k1ll3d.tmp", folder / "cache" / ".detect-k1ll3d.npz.tmp"]
    fresh = folder / "cache" / ".embed-wr1t1ng.npz.tmp"
    for path in [*stale, fresh]:
        path.write_bytes(b"half a file")
    old = time.time() - STALE_TEMPORARY_S - 60
    for path in stale:
        os.utime(path, (old, old))
    [o] = process_videos([demo_video], out, PipelineConfig())
    assert o.error is None
    assert not any(p.exists() for p in stale) and fresh.exists()
    assert (folder / "clusters.json").is_file()


def test_rotated_phone_video(tmp_path, astronaut):
    import imageio_ffmpeg

    frames = [face_frame(astronaut, (320, 180), 150) for _ in range(8)]
    plain = write_video(tmp_path / "plain.mp4", frames)
    rotated = tmp_path / "rotated.mp4"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-display_rotation", "90", "-i", str(plain),
                    "-c", "copy", str(rotated)], check=True)
    info = probe(rotated)
    assert (info.width, info.height, info.rotation) == (180, 320, 90)
    first = next(iter(iter_frames(rotated)))
    assert first.rgb.shape == (320, 180, 3)
    assert np.abs(first.rgb.astype(int) - np.rot90(next(iter(iter_frames(plain))).rgb).astype(int)).mean() < 3
    [o] = process_videos([rotated], tmp_path / "out", PipelineConfig(workers=1))
    assert o.error is None and o.result.num_people == 1
    boxes = o.result.detections.boxes
    assert boxes[:, 2].max() <= 180 and boxes[:, 3].max() <= 320  # boxes in the upright frame


def test_tiny_and_4k_frames(tmp_path, astronaut):
    tiny = write_video(tmp_path / "tiny.mp4", [np.full((36, 64, 3), 90, np.uint8)] * 5)
    big = write_video(tmp_path / "big.mp4", [face_frame(astronaut, (3840, 2160), 1400)] * 6)
    [t, b] = process_videos([tiny, big], tmp_path / "out", PipelineConfig(workers=1))
    assert t.error is None and t.result.num_people == 0
    assert b.error is None and b.result.num_people == 1
    x1, y1, x2, y2 = b.result.detections.boxes[0]
    assert x2 - x1 > 300 and 1000 < (x1 + x2) / 2 < 2800  # found in full-resolution coordinates


def test_variable_frame_rate(tmp_path, astronaut):
    import av

    path = tmp_path / "vfr.mp4"
    gaps = [1, 1, 3, 1, 5, 2, 1, 1, 4, 1]  # in 1/30 s
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = 320, 180, "yuv420p"
        s.codec_context.time_base = __import__("fractions").Fraction(1, 30)
        pts = 0
        for g in gaps:
            f = av.VideoFrame.from_ndarray(face_frame(astronaut, (320, 180), 150), format="rgb24")
            f.pts = pts
            pts += g
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    times = [f.time_s for f in iter_frames(path)]
    assert len(times) == len(gaps)
    assert np.allclose(np.diff(times), np.array(gaps[:-1]) / 30, atol=1e-3)
    [o] = process_videos([path], tmp_path / "out", PipelineConfig(workers=1))
    assert o.error is None and o.result.num_people == 1
    # Screen time from the timestamps: 19/30 s from first to last frame, plus the last frame's 1/30 s
    # (a frame count × 1/fps would say 10/30 s).
    doc = json.loads((tmp_path / "out" / "vfr" / "clusters.json").read_text())
    assert doc["people"][0]["screen_time_s"] == pytest.approx(20 / 30, abs=0.002)
    assert doc["shot_starts_s"][0] == pytest.approx(0.0, abs=1e-6)
    tracks = (tmp_path / "out" / "vfr" / "tracks.csv").read_text().splitlines()
    assert tracks[0].endswith("first_time_s,last_time_s") and tracks[1].endswith(f",{times[0]:.3f},{times[-1]:.3f}")


def test_path_with_spaces_and_non_ascii(tmp_path, demo_video):
    odd = tmp_path / "my vidéos ü" / "Folge 1 – Ärger.mp4"
    odd.parent.mkdir()
    shutil.copy(demo_video, odd)
    proc = cli("run", odd, "-o", tmp_path / "out put", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "out put" / "Folge 1 – Ärger" / "clusters.json").read_text(encoding="utf-8"))
    assert doc["num_people"] == 2 and doc["video"]["path"] == str(odd)


def test_interrupted_runs_resume_to_identical_outputs(tmp_path):
    """SIGKILL at 5 points (and SIGINT once), then the same command again: byte-identical outputs."""
    from facecluster.demo import demo_frames

    SLOW = ("--detect-every", "1")  # detection on every frame: a run long enough to be interrupted mid-way for certain

    demo_video = write_video(tmp_path / "demo.mp4", demo_frames()[:95])  # the demo's first three shots
    reference = tmp_path / "reference"
    t0 = time.perf_counter()
    proc = cli("run", demo_video, "-o", reference, "--workers", "1", *SLOW)
    duration = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr
    expected = {n: (reference / "demo" / n).read_bytes() for n in OUTPUTS}
    interrupted = 0
    # Kill points spread over the uninterrupted run's duration (start-up, detection, embedding, clustering).
    points = [(0.25, signal.SIGKILL), (0.4, signal.SIGKILL), (0.55, signal.SIGKILL), (0.7, signal.SIGKILL),
              (0.85, signal.SIGKILL), (0.5, signal.SIGINT)]
    for k, (fraction, sig) in enumerate(points):
        delay = fraction * duration
        out = tmp_path / f"run{k}"
        # A child inherits an ignored SIGINT (some library earlier in this pytest process may have set SIG_IGN), and Python
        # then installs no KeyboardInterrupt handler: the run would finish as if never interrupted. Give it the default.
        child = subprocess.Popen([sys.executable, "-m", "facecluster", "run", str(demo_video), "-o", str(out), "--workers", "1", *SLOW],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        if sig == signal.SIGINT:
            # Interrupt mid-run for certain: once the run's cache folder exists, the decoding pass (shots and faces
            # together) is under way; the rest of the run is short (no learner by default), so do not wait longer.
            deadline = time.perf_counter() + 60
            while not (out / "demo" / "cache").is_dir() and time.perf_counter() < deadline:
                time.sleep(0.01)
        else:
            time.sleep(delay)
        ignored = next((line for line in Path(f"/proc/{child.pid}/status").read_text().splitlines() if line.startswith("SigIgn")),
                       "") if Path(f"/proc/{child.pid}/status").exists() else ""
        child.send_signal(sig)
        out_text, err = child.communicate(timeout=60)
        if sig == signal.SIGINT:
            assert child.returncode == 130 and b"rerun the same command to resume" in err, (child.returncode, ignored, err[-2000:], out_text[-500:])
        # No half-written file is ever left under a final name: what a kill interrupts is a hidden temporary file
        # (cache entries, outputs, the crops of the report and of the clothing cue, each in its own folder).
        leftovers = [p for p in out.rglob("*") if p.name.endswith(".tmp")]
        assert all(p.name.startswith(".") and out in p.parents for p in leftovers), leftovers
        if child.returncode != 0:
            interrupted += 1
            # clusters.json is written last and atomically: absent, or already complete.
            final = out / "demo" / "clusters.json"
            assert not final.exists() or final.read_bytes() == expected["clusters.json"]
        again = cli("run", demo_video, "-o", out, "--workers", "1", *SLOW)
        assert again.returncode == 0, again.stderr
        for name, data in expected.items():
            assert (out / "demo" / name).read_bytes() == data, (k, name)
    assert interrupted >= 5  # the signals landed mid-run, not after it


def test_an_interrupt_turned_into_an_error_still_stops_the_run(tmp_path):
    """A Ctrl-C that lands inside an import can surface as an ImportError (an extension's initialisation replaces
    the KeyboardInterrupt); after a SIGINT the run must still stop with 130, not carry on to the next video."""
    from conftest import colour_frames

    videos = [write_video(tmp_path / f"v{i}.mp4", colour_frames([(40, 200, 40)], per_shot=10)) for i in range(2)]
    code = (
        "import sys\n"
        "from facecluster import errors\n"
        "import facecluster.jobs.videos as jobs\n"
        "calls = []\n"
        "def run_video(*args, **kwargs):\n"
        "    calls.append(1)\n"
        "    errors.note_interrupt()  # what the SIGINT handler records\n"
        "    raise errors.MissingDependencyError('the onnxruntime backend needs the onnxruntime package')\n"
        "jobs.run_video = run_video\n"
        f"sys.argv = ['facecluster', 'run', {str(videos[0])!r}, {str(videos[1])!r}, '-o', {str(tmp_path / 'out')!r}]\n"
        "from facecluster.__main__ import main\n"
        "try:\n"
        "    main()\n"
        "finally:\n"
        "    print('runs', len(calls))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 130, proc.stderr
    assert "rerun the same command to resume" in proc.stderr and "error:" not in proc.stderr
    assert "runs 1" in proc.stdout  # the second video was never started


def test_an_interrupt_swallowed_by_a_finaliser_still_stops_the_run(tmp_path):
    """A Ctrl-C that lands while a finaliser runs (``__del__``) is printed and swallowed by Python, and the run would
    finish as if never interrupted (exit 0): seen now and then in the resume test. It must still end with 130."""
    from conftest import colour_frames

    video = write_video(tmp_path / "v.mp4", colour_frames([(40, 200, 40)], per_shot=10))
    code = (
        "import sys\n"
        "from facecluster import errors\n"
        "import facecluster.jobs.videos as jobs\n"
        "original = jobs.run_video\n"
        "class Finaliser:\n"
        "    def __del__(self):\n"
        "        errors.note_interrupt()  # what the SIGINT handler records before raising\n"
        "        raise KeyboardInterrupt\n"
        "def run_video(*args, **kwargs):\n"
        "    result = original(*args, **kwargs)\n"
        "    Finaliser()  # dropped at once: its KeyboardInterrupt is printed and ignored\n"
        "    return result\n"
        "jobs.run_video = run_video\n"
        f"sys.argv = ['facecluster', 'run', {str(video)!r}, '-o', {str(tmp_path / 'out')!r}]\n"
        "from facecluster.__main__ import main\n"
        "main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "Exception ignored" in proc.stderr  # the interrupt was swallowed where it landed
    assert proc.returncode == 130, proc.stderr
    assert "rerun the same command to resume" in proc.stderr


def test_one_frame_video(tmp_path, astronaut):
    video = write_video(tmp_path / "one.mp4", [face_frame(astronaut, (320, 180), 150)])
    [o] = process_videos([video], tmp_path / "out", PipelineConfig(workers=1))
    # One frame cannot make a track of 5 faces: a valid, empty result.
    assert o.error is None and o.result.info.num_frames == 1 and o.result.num_people == 0
    assert json.loads((tmp_path / "out" / "one" / "clusters.json").read_text())["num_people"] == 0


def test_cache_never_reused_across_parameters_or_versions(monkeypatch):
    from facecluster import cache

    key = cache.stage_key("detect", {"score_threshold": 0.5}, ["abc"])
    assert key != cache.stage_key("detect", {"score_threshold": 0.6}, ["abc"])
    assert key != cache.stage_key("detect", {"score_threshold": 0.5}, ["abd"])  # another input or upstream result
    monkeypatch.setattr(cache, "__version__", "9.9.9")
    assert key != cache.stage_key("detect", {"score_threshold": 0.5}, ["abc"])


def _video_without_decodable_frames(path):
    """A well-formed MP4 whose video packets are random bytes: the container opens, no frame decodes."""
    from conftest import colour_frames

    good = write_video(path.with_name("source.mp4"), colour_frames([(200, 40, 40)], per_shot=10))
    data = bytearray(good.read_bytes())
    at = data.find(b"mdat")
    size = int.from_bytes(data[at - 4 : at], "big")
    data[at + 4 : at - 4 + size] = np.random.default_rng(0).integers(0, 256, size - 8, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


def test_video_stream_without_decodable_frames(tmp_path):
    from conftest import colour_frames

    bad = _video_without_decodable_frames(tmp_path / "garbage.mp4")
    assert probe(bad).num_frames == 10  # the container says there are frames ...
    good = write_video(tmp_path / "plain.mp4", colour_frames([(40, 200, 40)], per_shot=10))
    out = tmp_path / "out"
    proc = cli("run", bad, good, "-o", out)
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "garbage.mp4: no decodable video frames" in errors[0]
    assert (out / "plain" / "clusters.json").exists()  # ... the other video still completes
    assert not (out / "garbage" / "clusters.json").exists()


def _without_file_permission_override() -> list[str]:
    """A command prefix that runs without the capability to read any file (root's override)."""
    import os

    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    assert setpriv, "running as root: util-linux's setpriv is needed to drop CAP_DAC_OVERRIDE for this test"
    caps = "-dac_override,-dac_read_search"
    return [setpriv, "--bounding-set", caps, "--inh-caps", caps]


def test_unreadable_video_and_photo(tmp_path, astronaut):
    from conftest import colour_frames

    locked = write_video(tmp_path / "locked.mp4", colour_frames([(200, 40, 40)], per_shot=10))
    good = write_video(tmp_path / "plain.mp4", colour_frames([(40, 200, 40)], per_shot=10))
    locked.chmod(0)
    prefix = _without_file_permission_override()
    run = subprocess.run([*prefix, sys.executable, "-m", "facecluster", "run", str(locked), str(good), "-o", str(tmp_path / "out")],
                         capture_output=True, text=True)
    assert run.returncode == 1
    assert f"error: {locked}: permission denied (file is not readable)" in run.stderr.splitlines()
    assert (tmp_path / "out" / "plain" / "clusters.json").exists()
    assert not (tmp_path / "out" / "locked").exists()

    photos = tmp_path / "photos"
    photos.mkdir()
    cv2.imwrite(str(photos / "open.jpg"), cv2.cvtColor(astronaut, cv2.COLOR_RGB2BGR))
    shutil.copy(photos / "open.jpg", photos / "locked.jpg")
    (photos / "locked.jpg").chmod(0)
    images = subprocess.run([*prefix, sys.executable, "-m", "facecluster", "images", str(photos), "-o", str(tmp_path / "pout")],
                            capture_output=True, text=True)
    assert images.returncode == 0, images.stderr
    warnings = [line for line in images.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "locked.jpg" in warnings[0]
    assert "1 people, 1 faces in 1 photos, 1 files skipped" in images.stdout
