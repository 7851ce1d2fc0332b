"""`facecluster cluster` on embedding files, and `images` that embeds each photo once (issue 20)."""
import csv
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from facecluster.distances import l2_normalize
from facecluster.jobs.embeddings import cluster_file
from facecluster.pipeline import photo_cache
from facecluster.pipeline import photos as photos_mod
from facecluster.research.metrics import bcubed


def cli(*args):
    return subprocess.run([sys.executable, "-m", "facecluster", *map(str, args)], capture_output=True, text=True)


def people(seed=0, k=4, n_per=15, dim=16):
    rng = np.random.default_rng(seed)
    centres = l2_normalize(rng.normal(size=(k, dim)))
    X = np.concatenate([c + 0.05 * rng.normal(size=(n_per, dim)) for c in centres]).astype(np.float32)
    return X, np.repeat(np.arange(k), n_per)


def read_labels(path):
    rows = list(csv.DictReader(open(path, newline="")))
    assert [int(r["row"]) for r in rows] == list(range(len(rows)))
    return [r["person"] for r in rows]


def test_cluster_npy_npz_and_cannot_links(tmp_path):
    X, y = people()
    np.save(tmp_path / "e.npy", X)
    proc = cli("cluster", tmp_path / "e.npy", "-o", tmp_path / "labels.csv")
    assert proc.returncode == 0, proc.stderr
    assert "4 people in 60 rows" in proc.stdout
    labels = np.asarray(read_labels(tmp_path / "labels.csv"), int)
    assert bcubed(y, labels)[2] == pytest.approx(1.0)
    # Two faces of person 0 said to be different people end up apart.
    (tmp_path / "pairs.csv").write_text("a,b\n0,1\n")
    np.savez(tmp_path / "e.npz", embeddings=X, names=y)
    proc = cli("cluster", tmp_path / "e.npz", "-o", tmp_path / "labels.csv", "--cannot-link", tmp_path / "pairs.csv")
    assert proc.returncode == 0, proc.stderr
    labels = read_labels(tmp_path / "labels.csv")
    assert labels[0] != labels[1]
    proc = cli("cluster", tmp_path / "e.npy", "-o", tmp_path / "labels.csv", "--num-people", "2", "--method", "graph")
    assert proc.returncode == 0 and len(set(read_labels(tmp_path / "labels.csv"))) == 2


def test_cluster_parquet_with_rows_that_have_no_embedding(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    X, y = people(seed=1, k=3)
    column = [None if i % 7 == 0 else v.tolist() for i, v in enumerate(X)]
    pq.write_table(pa.table({"frame": np.arange(len(X)), "embedding": pa.array(column, type=pa.list_(pa.float32()))}),
                   tmp_path / "faces.parquet")
    done = cluster_file(tmp_path / "faces.parquet", tmp_path / "out.csv")
    labels = read_labels(tmp_path / "out.csv")
    assert done.rows == len(X) and done.clustered == sum(v is not None for v in column) and done.people == 3
    assert all((labels[i] == "") == (column[i] is None) for i in range(len(X)))
    kept = [i for i in range(len(X)) if labels[i] != ""]
    assert bcubed(y[kept], np.asarray([labels[i] for i in kept], int))[2] == pytest.approx(1.0)


@pytest.mark.parametrize("content,make,message", [
    ("npy", lambda p: np.save(p, np.ones(4)), "2-d array"),
    ("npz", lambda p: np.savez(p, a=np.ones((2, 2)), b=np.ones(2)), "holds arrays a, b"),
    ("npy", lambda p: p.write_bytes(b"not numpy"), "not a readable .npy file"),
    ("txt", lambda p: p.write_text("1,2"), "unknown embeddings format"),
    ("npy", lambda p: np.save(p, np.array([[1.0, 0.0], [np.nan, 1.0]])), "NaN"),
])
def test_cluster_bad_files_one_line_error(tmp_path, content, make, message):
    path = tmp_path / f"e.{content}"
    make(path)
    proc = cli("cluster", path, "-o", tmp_path / "labels.csv")
    assert proc.returncode != 0
    assert message in proc.stderr and str(path) in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "labels.csv").exists()


def test_cluster_never_overwrites_a_file_of_the_user(tmp_path):
    X, _ = people()
    np.save(tmp_path / "e.npy", X)
    mine = tmp_path / "notes.csv"
    mine.write_text("my,own\n")
    proc = cli("cluster", tmp_path / "e.npy", "-o", mine)
    assert proc.returncode != 0 and "was not written by facecluster" in proc.stderr
    assert mine.read_text() == "my,own\n"
    (tmp_path / "pairs.csv").write_text("0,99\n")
    proc = cli("cluster", tmp_path / "e.npy", "-o", tmp_path / "l.csv", "--cannot-link", tmp_path / "pairs.csv")
    assert proc.returncode != 0 and "line 1: row numbers must lie in 0..59" in proc.stderr
    assert cli("cluster", tmp_path / "e.npy", "-o", mine, "--force").returncode == 0
    assert read_labels(mine)[0] == "0" or read_labels(mine)[0].isdigit()


def test_images_embeds_each_photo_once(tmp_path, astronaut, monkeypatch):
    album = tmp_path / "album"
    album.mkdir()
    for name, image in (("a.png", astronaut), ("b.png", astronaut[:, ::-1].copy()), ("c.jpg", astronaut)):
        Image.fromarray(image).save(album / name)
    loaded = []
    real_load = photos_mod.load_photo
    monkeypatch.setattr(photos_mod, "load_photo", lambda p: loaded.append(p.name) or real_load(p))
    monkeypatch.setattr(photo_cache, "CHUNK", 1)  # a file a photo: an interruption loses nothing embedded
    monkeypatch.setattr(photos_mod, "CHIP_BATCH", 1)
    cache = tmp_path / "cache"

    def interrupt(stage, done, total):
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        photos_mod.embed_photos(album, cache_dir=cache, hook=interrupt)
    assert loaded == ["a.png", "b.png"]
    first = photos_mod.embed_photos(album, cache_dir=cache)
    resumed = loaded[2:]
    assert "a.png" not in resumed and resumed[-1] == "c.jpg"  # resumed after the photos already embedded
    Image.fromarray(astronaut[::-1].copy()).save(album / "b2.png")
    del loaded[:]
    again = photos_mod.embed_photos(album, cache_dir=cache)
    assert loaded == ["b2.png"]  # a photo added later is the only one embedded
    assert again.files == ["a.png", "b.png", "b2.png", "c.jpg"]
    rows = [again.files.index(f) for f in first.files]
    assert np.array_equal(again.vectors[np.isin(again.face_file, rows)], first.vectors)
    fresh = photos_mod.embed_photos(album)  # no cache: the same faces
    assert np.allclose(fresh.vectors, again.vectors, atol=1e-5) and np.array_equal(fresh.face_file, again.face_file)
