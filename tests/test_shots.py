import csv

import numpy as np
from conftest import colour_frames, shared_data, write_video

from facecluster.video.decode import iter_frames
from facecluster.video.shots import boundary_f1, detect_shots, frame_signature, shots_from_cuts


def test_cuts_found_in_generated_video(tmp_path):
    frames = colour_frames([(200, 30, 30), (30, 200, 30), (30, 30, 200), (220, 220, 40)], per_shot=15)
    video = write_video(tmp_path / "cuts.mp4", frames)
    sigs = np.stack([frame_signature(f.rgb) for f in iter_frames(video)])
    shots = detect_shots(sigs)
    assert shots.starts.tolist() == [0, 15, 30, 45]
    assert shots.ends.tolist() == [14, 29, 44, 59]


def test_no_cut_in_slow_motion(tmp_path):
    frames = colour_frames([(120, 90, 60)], per_shot=40)
    sigs = np.stack([frame_signature(f) for f in frames])
    assert len(detect_shots(sigs)) == 1


def test_shot_of_and_f1():
    shots = shots_from_cuts(np.array([10, 20]), 30)
    assert shots.shot_of(np.array([0, 9, 10, 29])).tolist() == [0, 0, 1, 2]
    score = boundary_f1(np.array([0, 11, 25]), np.array([0, 10, 20]), tolerance=1)
    assert score["precision"] == 0.5 and score["recall"] == 0.5


def test_shot_f1_on_real_clips():
    for clip in ("short_hamilton_clip", "sweden"):
        video = shared_data("video", f"{clip}.mp4")
        gt = shared_data("video", "gt", clip, "shots.csv")
        true = [int(r["first_frame"]) for r in csv.DictReader(open(gt))]
        sigs = np.stack([frame_signature(f.rgb) for f in iter_frames(video)])
        f1 = boundary_f1(detect_shots(sigs).starts, np.array(true), tolerance=1)["f1"]
        assert f1 >= 0.9, (clip, f1)


def test_thumbnail_decoding_finds_the_same_shots():
    """detect_video_shots decodes straight to thumbnails; the cuts are those found from full frames."""
    from facecluster.video.shots import detect_video_shots

    video = shared_data("video", "short_hamilton_clip.mp4")
    sigs = np.stack([frame_signature(f.rgb) for f in iter_frames(video)])
    shots, times = detect_video_shots(video)
    assert np.array_equal(shots.starts, detect_shots(sigs).starts) and len(times) == len(sigs)
