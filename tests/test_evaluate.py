import pytest

from facecluster.errors import InputError
from facecluster.research.evaluate import evaluate_dirs


def write(path, header, rows):
    path.mkdir(parents=True, exist_ok=True)
    (path / "faces.csv").write_text(header + "\n" + "\n".join(",".join(map(str, r)) for r in rows) + "\n")


def test_matching_and_scores(tmp_path):
    gt_header = "frame,track_id,x1,y1,x2,y2,score,label"
    write(tmp_path / "gt", gt_header, [
        (0, 0, 0, 0, 10, 10, 1, "ann"), (0, 1, 20, 0, 30, 10, 1, "bob"),
        (1, 0, 0, 0, 10, 10, 1, "ann"), (1, 1, 20, 0, 30, 10, 1, "bob"),
        (2, 2, 50, 50, 60, 60, 1, "false"),
    ])
    pred_header = "frame,time_s,track_id,x1,y1,x2,y2,score,person"
    write(tmp_path / "pred", pred_header, [
        (0, 0, 0, 1, 0, 11, 10, 0.9, 0),   # IoU 9/11 with ann
        (0, 0, 1, 20, 0, 30, 10, 0.9, 1),  # bob
        (1, 0, 0, 0, 0, 10, 10, 0.9, 0),   # ann
        (1, 0, 1, 25, 0, 35, 10, 0.9, 0),  # IoU 1/3 with bob: unmatched
        (3, 0, 2, 0, 0, 10, 10, 0.9, 2),   # no ground truth in frame 3
    ])
    s = evaluate_dirs(tmp_path / "pred", tmp_path / "gt")
    assert s["detection_recall"] == pytest.approx(3 / 4)  # the 'false' face does not count
    assert s["detection_precision"] == pytest.approx(3 / 5)
    assert s["wcp"] == pytest.approx(1.0) and s["bcubed_f"] == pytest.approx(1.0)
    assert s["num_people_pred"] == 3 and s["num_people_true"] == 2


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="faces.csv: no such file"):
        evaluate_dirs(tmp_path, tmp_path)
