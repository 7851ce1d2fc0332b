import csv
import json

import numpy as np
import pytest

from facecluster import PipelineConfig, run_video
from facecluster.app import process_videos
from facecluster.demo import DEMO_PEOPLE, DEMO_SHOTS
from facecluster.errors import ParameterError
from facecluster.outputs.video import write_video_outputs
from facecluster.research.metrics import bcubed


@pytest.fixture(scope="module")
def demo_run(demo_video, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    outcomes = process_videos([demo_video], out, PipelineConfig(workers=1))
    assert outcomes[0].error is None
    return outcomes[0]


def test_demo_people_found(demo_run):
    r = demo_run.result
    assert r.num_people == 2
    assert len(r.shots) == len(DEMO_SHOTS)
    # Each shot's tracks, left to right, against who is in that shot.
    truth, pred = [], []
    first = {t: r.detections.frames[r.tracks.track_ids == t].min() for t in range(r.tracks.num_tracks)}
    x = {t: r.detections.boxes[r.tracks.track_ids == t, 0].mean() for t in range(r.tracks.num_tracks)}
    for t in range(r.tracks.num_tracks):
        who = DEMO_SHOTS[int(r.shots.shot_of(np.array([first[t]]))[0])][0]
        same_shot = sorted((u for u in x if r.tracks.track_shots[u] == r.tracks.track_shots[t]), key=x.get)
        truth.append(DEMO_PEOPLE[who][same_shot.index(t)])
        pred.append(r.track_person[t])
    assert bcubed(np.array(truth), np.array(pred))[2] == pytest.approx(1.0)


def test_outputs_written(demo_run):
    folder = demo_run.folder
    doc = json.loads((folder / "clusters.json").read_text())
    assert doc["num_people"] == 2 and len(doc["people"]) == 2
    p0 = doc["people"][0]
    assert set(p0) >= {"id", "track_ids", "num_faces", "screen_time_s", "first_appearance_s", "last_appearance_s", "chips"}
    assert doc["people"][0]["screen_time_s"] >= doc["people"][1]["screen_time_s"]
    assert all((folder / c).is_file() for c in p0["chips"]) and p0["chips"]
    faces = list(csv.DictReader(open(folder / "faces.csv")))
    assert list(faces[0]) == ["frame", "time_s", "track_id", "x1", "y1", "x2", "y2", "score", "person"]
    assert sum(p["num_faces"] for p in doc["people"]) == len(faces)
    tracks = list(csv.DictReader(open(folder / "tracks.csv")))
    assert list(tracks[0]) == ["track_id", "shot", "first_frame", "last_frame", "n_faces", "person", "first_time_s", "last_time_s"]
    assert len(tracks) == doc["num_tracks"]


def test_cache_reused_and_results_identical(demo_run, demo_video, monkeypatch):
    folder = demo_run.folder
    before = {n: (folder / n).read_bytes() for n in ("faces.csv", "tracks.csv", "clusters.json")}
    from facecluster.faces.detect import centerface

    def fail(*a, **k):
        raise AssertionError("detector ran although its result was cached")

    monkeypatch.setattr(centerface.CenterFaceDetector, "detect", fail)
    monkeypatch.setattr("facecluster.faces.embed.embed_chip_batches", fail)
    result = run_video(demo_video, folder, PipelineConfig(workers=2))  # workers do not change results
    write_video_outputs(result, folder)
    for name, data in before.items():
        assert (folder / name).read_bytes() == data, name


def test_known_number_of_people(demo_run, demo_video):
    result = run_video(demo_video, demo_run.folder, PipelineConfig(num_people=1))
    # Two faces share frames, so one person is impossible: the cannot-links keep two.
    assert result.num_people == 2


def test_resume_after_partial_cache(demo_video, tmp_path):
    folder = tmp_path / "demo"
    full = run_video(demo_video, folder, PipelineConfig())
    parts = sorted((folder / "cache").glob("embed-*.npz"))
    assert parts
    parts[-1].unlink()  # as if killed while embedding
    again = run_video(demo_video, folder, PipelineConfig())
    assert np.array_equal(full.embeddings.vectors, again.embeddings.vectors)
    assert np.array_equal(full.track_person, again.track_person)


def test_clothing_collected_in_the_embedding_pass(demo_video, tmp_path, monkeypatch):
    """A fresh run decodes once for chips and clothing; the descriptors equal those of the clothing stage's own
    pass, which a run still makes where the embeddings were cached without them."""
    from facecluster.clothing import descriptors

    own_pass = descriptors.describe_video
    calls = []
    monkeypatch.setattr(descriptors, "describe_video", lambda *a, **k: calls.append(1) or own_pass(*a, **k))
    folder = tmp_path / "demo"
    result = run_video(demo_video, folder, PipelineConfig())
    assert calls == [] and result.clothing is not None
    (cached,) = (folder / "cache").glob("clothing-*.npz")
    with np.load(cached) as collected:
        reference = own_pass(demo_video, result.shots, result.detections, result.embeddings.rows)
        assert set(collected.files) == set(reference)
        for name, values in reference.items():
            assert np.array_equal(collected[name], values), name
    cached.unlink()  # embeddings cached, clothing not: its own decoding pass
    again = run_video(demo_video, folder, PipelineConfig())
    assert calls == [1] and np.array_equal(again.track_person, result.track_person)


def test_report_chips_come_from_the_embedding_pass(demo_video, tmp_path, monkeypatch):
    """Writing the report decodes nothing: its face and torso crops were cut in the embedding pass. Without
    them (a cache from an older version) the report decodes the frames itself and writes the same files."""
    import facecluster.outputs.chips as chips_mod

    folder = tmp_path / "demo"
    result = run_video(demo_video, folder, PipelineConfig())
    assert result.report_crops is not None and result.report_crops.is_dir() and result.clothing is not None
    decoded = []
    own_decode = chips_mod.iter_frames
    monkeypatch.setattr(chips_mod, "iter_frames", lambda *a, **k: decoded.append(1) or own_decode(*a, **k))
    write_video_outputs(result, tmp_path / "from_cache")
    assert decoded == []
    chips = sorted((tmp_path / "from_cache" / "chips").rglob("*.jpg"))
    assert any(c.name.startswith("clothing_") for c in chips) and any(c.name.startswith("track_") for c in chips)
    shown = {int(c.stem.split("_")[0]) for c in result.report_crops.glob("*.jpg")}
    assert shown <= set(result.embeddings.rows.tolist())  # only embedded faces: detected, never carried between key frames
    for crop in result.report_crops.glob("*.jpg"):
        crop.unlink()
    write_video_outputs(result, tmp_path / "decoded")
    assert decoded == [1]
    again = sorted((tmp_path / "decoded" / "chips").rglob("*.jpg"))
    assert [c.relative_to(tmp_path / "decoded") for c in again] == [c.relative_to(tmp_path / "from_cache") for c in chips]
    assert all(a.read_bytes() == b.read_bytes() for a, b in zip(chips, again))


def test_a_default_run_does_not_load_pytorch(demo_video, tmp_path):
    """The default embedder (onnxruntime) and learner (CCL, NumPy) need no PyTorch (~2 s to import on 2 cores,
    ~140 MB), neither on a first run nor on a cached rerun, where PyTorch is CPU-only (where it may see a GPU,
    ``auto`` asks it which device to embed on); nor scikit-learn; and the rerun reuses every stage."""
    import subprocess
    import sys

    from facecluster.faces.embed import _torch_may_see_a_gpu

    script = ("import sys; from facecluster import PipelineConfig; from facecluster.app import process_videos; "
              f"[o] = process_videos([{str(demo_video)!r}], {str(tmp_path)!r}, PipelineConfig(workers=1)); "
              "assert o.error is None, o.error; print(o.result.num_people, 'torch' in sys.modules, 'sklearn' in sys.modules, "
              "o.result.report_crops)")
    first = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert first.stdout.split()[:3] == ["2", str(_torch_may_see_a_gpu()), "False"]
    cached = sorted(p.name for p in (tmp_path / demo_video.stem / "cache").rglob("*") if p.is_file())
    again = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert again.stdout.split() == first.stdout.split()
    assert sorted(p.name for p in (tmp_path / demo_video.stem / "cache").rglob("*") if p.is_file()) == cached


def test_config_errors():
    with pytest.raises(ParameterError, match="num_people must be >= 1"):
        PipelineConfig(num_people=0)
    with pytest.raises(ParameterError, match="detect_every"):
        PipelineConfig(detect_every=0)
    with pytest.raises(ParameterError, match="full_frame_every"):
        PipelineConfig(full_frame_every=0)


def test_video_without_faces(tmp_path):
    from conftest import colour_frames, write_video

    video = write_video(tmp_path / "blank.mp4", colour_frames([(10, 10, 10), (200, 200, 200)], 8))
    outcomes = process_videos([video], tmp_path / "out")
    assert outcomes[0].error is None and outcomes[0].result.num_people == 0
    doc = json.loads((tmp_path / "out" / "blank" / "clusters.json").read_text())
    assert doc["num_people"] == 0 and doc["people"] == []
    assert (tmp_path / "out" / "blank" / "faces.csv").read_text().strip() == "frame,time_s,track_id,x1,y1,x2,y2,score,person"


def test_sparse_detection(demo_video, tmp_path):
    from facecluster.video.tracking import key_frames

    result = run_video(demo_video, tmp_path / "sparse", PipelineConfig(detect_every=3))
    assert result.num_people == 2
    det = result.detections
    detected = det.scores > 0
    keys = key_frames(result.shots, result.info.num_frames, 3)
    assert set(np.unique(det.frames[detected])) <= set(keys.tolist())
    for s, e in zip(result.shots.starts, result.shots.ends):  # each shot's first and last frame are key frames
        assert s in keys and e in keys
    # Between its detected faces, a track carries interpolated boxes (score 0) on every frame, never embedded.
    assert (~detected).any() and not np.isin(result.embeddings.rows, np.flatnonzero(~detected)).any()
    for t in range(result.tracks.num_tracks):
        frames = np.sort(det.frames[result.tracks.track_ids == t])
        assert np.array_equal(frames, np.arange(frames[0], frames[-1] + 1))


def test_a_face_missing_on_one_frame_of_its_track_gets_a_box_at_the_defaults(demo_video, tmp_path):
    """Detection on every frame: the frames the window search leaves to the tracker (steady close-ups: every other
    frame) and a face missed on one frame get interpolated boxes (score 0, never embedded), as between key frames;
    longer gaps the tracker bridges stay empty."""
    from facecluster.faces.detect import windows

    result = run_video(demo_video, tmp_path / "dense", PipelineConfig())
    det = result.detections
    detected = det.scores > 0
    assert (~detected).any() and not np.isin(result.embeddings.rows, np.flatnonzero(~detected)).any()
    for t in range(result.tracks.num_tracks):
        frames = np.sort(det.frames[result.tracks.track_ids == t])
        assert not np.isin(np.diff(frames), np.arange(2, windows.STEADY_EVERY + 1)).any()  # no short gap left


def _resumes_to_the_same(video, out, config, done):
    """Remove every other cached chunk of faces of the run ``done`` (in ``out``) as if it had been killed, run again,
    and check that the faces and people are the same; returns the resumed run."""
    parts = sorted((out / "cache").glob("detect-*.npz"))
    assert len(parts) >= 3
    for part in parts[1::2]:
        part.unlink()
    again = run_video(video, out, config)
    for name in ("frames", "boxes", "scores"):
        assert np.array_equal(getattr(again.detections, name), getattr(done.detections, name)), name
    assert np.array_equal(again.track_person, done.track_person)
    return again


def test_key_frames_searched_around_the_faces_of_their_neighbours(demo_video, tmp_path, monkeypatch):
    """With full_frame_every, the key frames between whole-searched ones are searched in windows only; the
    people are the same, and a run interrupted mid-way (chunks of key frames missing) resumes to the same faces."""
    from facecluster.faces.detect import windows
    from facecluster.pipeline import video as pipeline_video
    from facecluster.video.tracking import key_frames

    searched = []
    own = windows.detect_in_windows
    monkeypatch.setattr(windows, "detect_in_windows", lambda det, images, *rest: searched.append(len(images)) or own(det, images, *rest))
    monkeypatch.setattr(pipeline_video, "DETECT_CHUNK_FRAMES", 4)
    config = PipelineConfig(detect_every=2, full_frame_every=3)
    result = run_video(demo_video, tmp_path / "windows", config)
    assert result.num_people == 2 and sum(searched) > 0
    keys = key_frames(result.shots, result.info.num_frames, 2)
    full = windows.full_key_frames(keys, result.shots, 3)
    assert sum(searched) == int((~full).sum())
    detected = result.detections.scores > 0
    assert set(np.unique(result.detections.frames[detected])) <= set(keys.tolist())
    # Faces on the window frames too, not only on the whole-searched ones.
    assert np.isin(result.detections.frames[detected], keys[~full]).any()
    searched.clear()
    _resumes_to_the_same(demo_video, tmp_path / "windows", config, result)
    assert 0 < sum(searched) < int((~full).sum())


def test_shots_and_faces_found_in_one_decoding_pass(demo_video, tmp_path, monkeypatch):
    """A fresh run finds the shots and the faces of the key frames in one decoding pass: the same shots, frame
    times, faces and people as a shots pass then a detection pass, cached under the same keys; interrupted
    (the shots not cached yet, chunks of key frames missing) it resumes to the same faces."""
    from facecluster.pipeline import video as pipeline_video

    passes = []
    own = pipeline_video.iter_frames
    monkeypatch.setattr(pipeline_video, "iter_frames", lambda *a, **k: passes.append(k) or own(*a, **k))
    monkeypatch.setattr(pipeline_video, "DETECT_CHUNK_FRAMES", 4)
    config = PipelineConfig(detect_every=2, full_frame_every=3)
    one = run_video(demo_video, tmp_path / "one", config)
    assert one.timings["shots"] == 0.0 and one.num_people == 2
    assert [k.get("keep_source", False) for k in passes][:1] == [True]  # the first pass: shots and faces
    assert sum(bool(k.get("thumbnail")) for k in passes) == 1  # no other pass for the shots
    monkeypatch.setattr(pipeline_video._Stages, "shots_and_detections", lambda self: None)
    two = run_video(demo_video, tmp_path / "two", config)
    assert two.timings["shots"] > 0.0
    for name in ("starts", "ends"):
        assert np.array_equal(getattr(one.shots, name), getattr(two.shots, name)), name
    assert np.array_equal(one.frame_times, two.frame_times)
    for name in ("frames", "boxes", "scores"):
        assert np.array_equal(getattr(one.detections, name), getattr(two.detections, name)), name
    assert np.array_equal(one.track_person, two.track_person)
    assert sorted(p.name for p in (tmp_path / "one" / "cache").glob("[sd]*-*.npz")) == \
        sorted(p.name for p in (tmp_path / "two" / "cache").glob("[sd]*-*.npz"))
    # Killed in the one pass: no shots cached, some chunks of faces cached.
    monkeypatch.undo()
    monkeypatch.setattr(pipeline_video, "DETECT_CHUNK_FRAMES", 4)
    for shots_file in (tmp_path / "one" / "cache").glob("shots-*.npz"):
        shots_file.unlink()
    _resumes_to_the_same(demo_video, tmp_path / "one", config, one)


@pytest.mark.parametrize("method,dim", [("ssiam", 128 + 512), ("tsiam", 128 + 512), ("ccl", 256)])
def test_learned_features_in_pipeline(demo_video, tmp_path, method, dim):
    cfg = PipelineConfig(learn=method, num_people=2, seed=1)
    a = run_video(demo_video, tmp_path / "a", cfg)
    # base and learned vectors side by side (SSiam/TSiam: the hidden layer; CCL: the projection), not the base alone
    assert a.track_features.shape[1] == dim
    assert a.num_people == 2
    b = run_video(demo_video, tmp_path / "b", cfg)  # fresh cache, same seed: same result
    assert np.array_equal(a.track_features, b.track_features)
    assert any((tmp_path / "a" / "cache").glob("learn-*.npz"))
    with pytest.raises(ParameterError, match="learn must be"):
        PipelineConfig(learn="mlp")


def test_outputs_identical_across_worker_counts(demo_run, demo_video, tmp_path):
    """A fresh run with 2 embedding workers writes the same bytes as the 1-worker run."""
    [other] = process_videos([demo_video], tmp_path, PipelineConfig(workers=2))
    for name in ("faces.csv", "tracks.csv", "clusters.json"):
        assert (other.folder / name).read_bytes() == (demo_run.folder / name).read_bytes(), name


def test_a_run_needs_no_pytorch_and_ssiam_says_how_to_get_it(demo_video, tmp_path):
    """With PyTorch not importable (an install without the 'torch' extra), the default run works; SSiam
    is a one-line error naming the extra."""
    import subprocess
    import sys

    block = "import sys; sys.modules['torch'] = None; from facecluster.cli import main; main()"
    ok = subprocess.run([sys.executable, "-c", block, "run", str(demo_video), "--out", str(tmp_path / "a"), "--workers", "1"],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert (tmp_path / "a" / demo_video.stem / "report.html").is_file()
    bad = subprocess.run([sys.executable, "-c", block, "run", str(demo_video), "--out", str(tmp_path / "b"), "--workers", "1",
                          "--learn", "ssiam"], capture_output=True, text=True)
    assert bad.returncode != 0
    assert "pip install 'facecluster[torch]'" in bad.stderr and bad.stderr.strip().count("\n") == 0, bad.stderr


def test_hd_frames_searched_scaled_down_and_resumed_to_the_same_faces(demo_video, tmp_path, monkeypatch):
    """The demo at 1280×720: its whole-searched key frames go through the network scaled down to 640 except at the
    anchors (full size as well), the people are the demo's, and a run interrupted mid-way resumes to the same faces
    (the anchors of cached chunks searched again for the size they choose)."""
    import av
    import cv2

    from facecluster.faces.detect.centerface import CenterFaceDetector
    from facecluster.pipeline import video as pipeline_video
    from facecluster.video.decode import iter_frames

    hd = tmp_path / "hd.mp4"
    with av.open(str(hd), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 1280, 720, "yuv420p"
        stream.options = {"crf": "18", "preset": "veryfast"}
        for frame in iter_frames(demo_video):
            big = cv2.resize(frame.rgb, (1280, 720), interpolation=cv2.INTER_CUBIC)
            for packet in stream.encode(av.VideoFrame.from_ndarray(big, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    sides = []
    own = CenterFaceDetector.detect_candidates
    monkeypatch.setattr(CenterFaceDetector, "detect_candidates",
                        lambda self, rgb, below, max_side=None: sides.append(max_side) or own(self, rgb, below, max_side))
    monkeypatch.setattr(pipeline_video, "DETECT_CHUNK_FRAMES", 4)
    config = PipelineConfig(detect_every=2, full_frame_every=3)
    result = run_video(hd, tmp_path / "run", config)
    assert result.num_people == 2
    assert sides.count(640) > 0 and sides.count(None) < sides.count(640)  # full size only where the anchors want it
    _resumes_to_the_same(hd, tmp_path / "run", config, result)
    off = run_video(hd, tmp_path / "off", PipelineConfig(detect_every=2, full_frame_every=3, coarse_side=0))
    assert off.num_people == 2 and len(off.detections) > 0
