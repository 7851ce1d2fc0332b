"""tools/label_devset.py: a clip through prepare → labels → build gives ground truth in the shared format."""
import csv
import subprocess
import sys
from pathlib import Path

from facecluster.research.evaluate import evaluate_dirs

TOOL = Path(__file__).resolve().parents[1] / "tools" / "label_devset.py"


def tool(*args):
    proc = subprocess.run([sys.executable, str(TOOL), *map(str, args)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_prepare_label_build(demo_video, tmp_path):
    work, gt = tmp_path / "work", tmp_path / "gt"
    tool("prepare", demo_video, "--work", work)
    assert (work / "shots.csv").is_file() and sorted(p.name.split("_")[0] for p in (work / "sheets").glob("*.png")) >= ["cuts", "shots", "tracks"]
    template = rows(work / "labels.csv")
    assert template and all(r["label"] == "" for r in template)
    # Unlabelled tracks are refused, not guessed.
    proc = subprocess.run([sys.executable, str(TOOL), "build", "--work", str(work), "--out", str(gt)], capture_output=True, text=True)
    assert proc.returncode != 0 and "no label" in proc.stderr
    # Label the first track as two people (split at its middle frame), the others as one person each.
    run = next((work / "run").iterdir())
    first = [r for r in rows(run / "faces.csv") if r["track_id"] == template[0]["track_id"] and float(r["score"]) > 0]
    middle = int(first[len(first) // 2]["frame"])
    with open(work / "labels.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["track_id", "label", "first_frame", "last_frame"])
        w.writerow([template[0]["track_id"], "ann", "", middle - 1])
        w.writerow([template[0]["track_id"], "bob", middle, ""])
        for r in template[1:]:
            w.writerow([r["track_id"], f"person_{r['track_id']}", "", ""])
    tool("build", "--work", work, "--out", gt)
    tracks, faces = rows(gt / "tracks.csv"), rows(gt / "faces.csv")
    assert list(tracks[0]) == ["track_id", "shot", "first_frame", "last_frame", "n_frames", "label"]
    assert list(faces[0]) == ["frame", "track_id", "x1", "y1", "x2", "y2", "score", "label"]
    assert len(tracks) == len(template) + 1  # the split track is two
    assert {r["label"] for r in faces} >= {"ann", "bob"} and all(float(r["score"]) > 0 for r in faces)
    assert len(faces) == sum(int(t["n_frames"]) for t in tracks)
    assert list((work / "sheets").glob("identity_ann_*.png"))
    # The run the ground truth came from finds every one of its faces, and no track holds two of its people but
    # the one labelled so on purpose.
    scores = evaluate_dirs(run, gt)
    assert scores["detection_recall"] == 1.0 and scores["impure_tracks"] == 1
