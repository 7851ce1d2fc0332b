import numpy as np
import pytest
from tvfiles import write_features_h5, write_features_v5

from facecluster.errors import InputError
from facecluster.research.features_io import read_features

IDS = np.array([7, 11, 3])
COUNTS = np.array([4, 2, 5])


@pytest.fixture()
def vectors():
    return np.random.default_rng(0).normal(size=(COUNTS.sum(), 6)).astype(np.float32)


@pytest.mark.parametrize("layout, crops, crop", [("concat", 1, 0), ("crops", 10, 4), ("pages", 1, 0)])
def test_mat_v5_layouts(tmp_path, vectors, layout, crops, crop):
    path = write_features_v5(tmp_path / "bbt_s01e01_features_VGG2.mat", IDS, COUNTS, vectors, layout, crops, crop)
    got = read_features(path)
    assert got.tracker_ids.tolist() == IDS.tolist() and got.counts.tolist() == COUNTS.tolist()
    assert np.allclose(got.vectors, vectors)
    assert np.allclose(got.of_track(1), vectors[4:6])


@pytest.mark.parametrize("references", [False, True])
def test_hdf5_layout(tmp_path, vectors, references):
    got = read_features(write_features_h5(tmp_path / "tracks.mat", IDS, COUNTS, vectors, references=references))
    assert got.tracker_ids.tolist() == IDS.tolist() and got.counts.tolist() == COUNTS.tolist()
    assert np.allclose(got.vectors, vectors)  # the centre crop, index 4


def test_npy_folder(tmp_path, vectors):
    start = 0
    for t, c in zip(IDS, COUNTS):
        np.save(tmp_path / f"{t}.npy", vectors[start : start + c])
        start += c
    got = read_features(tmp_path)
    order = np.argsort(IDS)  # files are read in track-id order
    assert got.tracker_ids.tolist() == sorted(IDS.tolist())
    assert np.allclose(got.of_track(0), vectors[6:11])  # track 3
    assert got.counts.tolist() == COUNTS[order].tolist()


def test_errors(tmp_path, vectors):
    with pytest.raises(InputError, match="no <trackId>.npy files"):
        read_features(tmp_path)
    path = write_features_v5(tmp_path / "f.mat", IDS, COUNTS + 1, vectors)  # counts disagree with the features
    with pytest.raises(InputError, match="features hold 11 faces but Tracks count 14"):
        read_features(path)
