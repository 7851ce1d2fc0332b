import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import shared_data
from tvfiles import episode_tracks, write_facetracks, write_features_v5

from facecluster.errors import FaceclusterError, InputError
from facecluster.research.features_io import FaceFeatures
from facecluster.research.paper import align_features, run_protocol
from facecluster.research.tvdata import read_facetracks


def synthetic_features(episode, dim=32, spread=0.35, seed=0):
    """One centre per identity; each face = centre + a per-track offset + noise (track order)."""
    rng = np.random.default_rng(seed)
    names = sorted(set(episode.labels.tolist()))
    centres = {n: rng.normal(size=dim) for n in names}
    ids, counts, rows = [], [], []
    for t in range(episode.num_tracks):
        faces = np.flatnonzero(episode.face_track == t)
        offset = 0.5 * spread * rng.normal(size=dim)
        rows.append(centres[str(episode.labels[t])] + offset + spread * rng.normal(size=(len(faces), dim)))
        ids.append(int(episode.tracker_ids[t]))
        counts.append(len(faces))
    return np.array(ids), np.array(counts), np.concatenate(rows).astype(np.float32)


@pytest.fixture(scope="module")
def small_bbt(tmp_path_factory):
    """BBT S01E01's first 40 tracks (real structure and labels) as annotation + feature files."""
    full = read_facetracks(shared_data("tvpersonid", "tracks", "bbt_s01e01.facetracks.mat"))
    keep = np.zeros(full.num_tracks, bool)
    keep[:40] = True
    ep = full.subset(keep)
    root = tmp_path_factory.mktemp("ann")
    (root / "tracks").mkdir()
    write_facetracks(root / "tracks" / "bbt_s01e01.facetracks.mat", episode_tracks(ep))
    ids, counts, vectors = synthetic_features(ep)
    feats = write_features_v5(root / "bbt_s01e01_features_VGG2.mat", ids, counts, vectors)
    return root, feats, ep


def test_cli_runs_every_method_and_level(small_bbt):
    root, feats, ep = small_bbt
    proc = subprocess.run(
        [sys.executable, "-m", "facecluster", "paper", "bbt_s01e01", "--annotations", str(root), "--features", str(feats),
         "--max-frames", "1500", "--json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [(r["method"], r["level"]) for r in rows] == [(m, l) for m in ("none", "ssiam", "tsiam") for l in ("frame", "track")]
    base_frame = rows[0]
    assert base_frame["k"] == len(set(ep.labels.tolist()) & {"leonard", "sheldon", "penny", "howard", "raj"})
    assert base_frame["scores"]["wcp"] > 0.8  # identities are separable in the synthetic features
    assert rows[2]["published_wcp"] == 99.04 and rows[4]["published_wcp"] == 98.58
    table = subprocess.run(
        [sys.executable, "-m", "facecluster", "paper", "bbt_s01e01", "--annotations", str(root), "--features", str(feats),
         "--method", "none"], capture_output=True, text=True).stdout
    assert "| bbt_s01e01 | base | frame |" in table and "| bbt_s01e01 | base | track |" in table


def test_feature_mismatch_is_reported(small_bbt):
    _, _, ep = small_bbt
    ids, counts, vectors = synthetic_features(ep)
    counts = counts.copy()
    counts[0] += 1
    bad = FaceFeatures(ids, counts, np.concatenate([vectors[:1], vectors]))
    with pytest.raises(InputError, match=f"track {ids[0]} has {counts[0]} feature rows but {counts[0] - 1} annotated faces"):
        align_features(ep, bad)
    with pytest.raises(FaceclusterError, match="give exactly one of"):
        from facecluster.app import run_paper

        run_paper("bbt_s01e01", ".", features=None, video=None)


def demo_identity(frame: int, box: np.ndarray) -> str:
    """Who is at ``box`` in ``frame`` of the demo video, known from how the video is built."""
    from facecluster.demo import DEMO_PEOPLE, DEMO_SHOTS, DEMO_SIZE

    start = 0
    for who, n, *_ in DEMO_SHOTS:
        if frame < start + n:
            people = DEMO_PEOPLE[who]
            centre = (box[0] + box[2]) / 2
            return people[0] if len(people) == 1 or centre < DEMO_SIZE[0] / 2 else people[1]
        start += n
    raise AssertionError(f"frame {frame} is past the demo's end")


def test_protocol_on_video_boxes(tmp_path, demo_video):
    """--video: our embedder on annotated boxes (here: the demo video's detections, labelled with
    who the video was built from, not with any clustering's output)."""
    from facecluster import PipelineConfig, run_video
    from facecluster.research.paper import embed_annotated_faces
    from facecluster.research.tvdata import paper_subset

    r = run_video(demo_video, tmp_path / "run", PipelineConfig(num_people=2))
    tracks = []
    for t in range(r.tracks.num_tracks):
        rows = np.flatnonzero(r.tracks.track_ids == t)[::6]  # every 6th face keeps the test short
        b = r.detections.boxes[rows]
        truth = {demo_identity(int(f), box) for f, box in zip(r.detections.frames[rows], b)}
        assert len(truth) == 1  # a track follows one person
        tracks.append({"trackerId": 100 + t, "groundTruthIdentity": truth.pop(), "frames": r.detections.frames[rows],
                       "x": b[:, 0], "y": b[:, 1], "w": b[:, 2] - b[:, 0], "h": b[:, 3] - b[:, 1]})
    path = write_facetracks(tmp_path / "demo.facetracks.mat", tracks)
    ep = read_facetracks(path)
    X = embed_annotated_faces(demo_video, ep)
    assert X.shape == (len(ep.frames), 128)
    rows = run_protocol(ep, X, methods=("none",))
    assert rows[0].scores["wcp"] == pytest.approx(1.0) and rows[1].scores["bcubed_f"] == pytest.approx(1.0)
    assert paper_subset(ep).num_tracks == ep.num_tracks  # unknown series: every label kept
