import json
import subprocess
import sys

from conftest import shared_data


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "facecluster", *map(str, args)], capture_output=True, text=True, cwd=cwd)


def test_bad_inputs_one_line_error_and_others_complete(tmp_path, demo_video):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    text = tmp_path / "notes.mp4"
    text.write_text("hello")
    out = tmp_path / "out"
    proc = cli("run", empty, text, demo_video, "-o", out, "--workers", "1")
    assert proc.returncode == 1
    errors = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
    assert any(str(empty) in l and "file is empty" in l for l in errors)
    assert any(str(text) in l and "not a playable video" in l for l in errors)
    assert "Traceback" not in proc.stderr
    assert "done: 1 of 3 videos, 2 failed" in proc.stdout
    assert (out / "demo" / "clusters.json").is_file()
    assert not (out / "empty" / "clusters.json").exists() and not (out / "notes" / "clusters.json").exists()


def test_usage_errors(tmp_path):
    proc = cli("run", tmp_path / "x.mp4")
    assert proc.returncode == 2 and "Missing option" in proc.stderr
    proc = cli("run", tmp_path / "x.mp4", "-o", tmp_path, "--num-people", "0")
    assert proc.returncode == 2 and "num-people" in proc.stderr


def test_eval_json(tmp_path):
    gt = tmp_path / "gt"
    gt.mkdir()
    (gt / "faces.csv").write_text("frame,track_id,x1,y1,x2,y2,score,label\n0,0,0,0,10,10,1,ann\n")
    pred = tmp_path / "pred"
    pred.mkdir()
    (pred / "faces.csv").write_text("frame,time_s,track_id,x1,y1,x2,y2,score,person\n0,0,0,0,0,10,10,1,0\n")
    proc = cli("eval", pred, gt, "--json")
    assert proc.returncode == 0, proc.stderr
    scores = json.loads(proc.stdout)
    for key in ("detection_recall", "detection_precision", "wcp", "nmi", "bcubed_f", "num_people_pred", "num_people_true"):
        assert key in scores
    assert scores["detection_recall"] == 1.0


def test_real_clip_end_to_end(tmp_path):
    """The Hamilton clip through the CLI, scored against its ground truth."""
    video = shared_data("video", "short_hamilton_clip.mp4")
    gt = shared_data("video", "gt", "short_hamilton_clip")
    proc = cli("run", video, "-o", tmp_path, "--num-people", "13")
    assert proc.returncode == 0, proc.stderr
    scores = json.loads(cli("eval", tmp_path / "short_hamilton_clip", gt, "--json").stdout)
    assert scores["detection_recall"] >= 0.9
    assert scores["num_people_pred"] == 13
    assert scores["bcubed_f"] >= 0.8
    assert scores["impure_tracks"] == 0 and scores["cut_f1"] >= 0.95  # no track holds two people; the cuts found
