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


def test_impure_tracks_and_cuts(tmp_path):
    """A predicted track that runs from ann onto bob (3 faces each) is impure; one that merely touches bob for two
    faces is not. With shots on both sides, the cuts are scored within two frames."""
    import json

    gt_rows, pred_rows = [], []
    for f in range(6):
        label = "ann" if f < 3 else "bob"
        gt_rows.append((f, f // 3, 0, 0, 10, 10, 1, label))
        pred_rows.append((f, 0, 7, 0, 0, 10, 10, 0.9, 0))  # track 7 holds ann, then bob
    for f in range(6, 11):
        label = "bob" if f < 8 else "cid"
        gt_rows.append((f, 2, 40, 0, 50, 10, 1, label))
        pred_rows.append((f, 0, 8, 40, 0, 50, 10, 0.9, 1))  # track 8: bob twice, then cid three times
    write(tmp_path / "gt", "frame,track_id,x1,y1,x2,y2,score,label", gt_rows)
    write(tmp_path / "pred", "frame,time_s,track_id,x1,y1,x2,y2,score,person", pred_rows)
    (tmp_path / "gt" / "shots.csv").write_text("shot,first_frame,last_frame\n0,0,2\n1,3,5\n2,6,10\n")
    (tmp_path / "pred" / "clusters.json").write_text(json.dumps({"shots": [[0, 6], [7, 10]]}))
    s = evaluate_dirs(tmp_path / "pred", tmp_path / "gt")
    assert s["impure_tracks"] == 1 and s["impure"] == [{"track_id": 7, "people": {"ann": 3, "bob": 3}}]
    assert s["cuts_missed"] == [3] and s["cuts_extra"] == [] and s["cut_recall"] == 0.5 and s["cut_precision"] == 1.0


def test_a_cut_anywhere_in_a_labelled_gradual_transition_matches_it(tmp_path):
    """shots.csv may give the frames of the gradual transition that leads into a shot: a cut found anywhere in them
    matches; the strict F1 (within CUT_TOLERANCE of the labelled frame) does not count it."""
    import json

    from facecluster.research.evaluate import cut_scores, read_shots_csv

    (tmp_path / "gt").mkdir()
    (tmp_path / "pred").mkdir()
    (tmp_path / "gt" / "shots.csv").write_text("shot,first_frame,last_frame,transition_first,transition_last\n"
                                               "0,0,49,,\n1,50,99,30,50\n2,100,150,,\n")
    starts, transitions = read_shots_csv(tmp_path / "gt" / "shots.csv")
    assert starts.tolist() == [0, 50, 100] and transitions == {50: (30, 50)}
    (tmp_path / "pred" / "clusters.json").write_text(json.dumps({"shots": [[0, 39], [40, 100], [101, 150]]}))
    s = cut_scores(tmp_path / "pred", tmp_path / "gt")
    assert s["f1"] == 1.0 and s["missed"] == [] and s["extra"] == []  # 40 is in 30-50; 101 within 2 of 100
    assert s["f1_strict"] == 0.5
