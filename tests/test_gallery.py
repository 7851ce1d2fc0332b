"""The people gallery: storage, refusal of files that are not ours, open-set matching, concurrency."""
from __future__ import annotations

import multiprocessing
import sqlite3
import subprocess
import sys

import numpy as np
import pytest

from facecluster.cluster.linking import SourcePeople
from facecluster.errors import InputError
from facecluster.gallery import Gallery, match_to_gallery
from facecluster.gallery.store import APPLICATION_ID


def _people(vectors: np.ndarray, start: int = 0) -> list[dict]:
    return [{"person": start + k, "gallery_id": None, "vector": v, "faces": 10 + k, "screen_time_s": 1.5 * k}
            for k, v in enumerate(vectors)]


def _unit(X):
    return (X / np.linalg.norm(X, axis=1, keepdims=True)).astype(np.float32)


def test_gallery_records_renames_and_persists(tmp_path):
    path = tmp_path / "g.db"
    g = Gallery(path, "net-a")
    vectors = _unit(np.random.default_rng(0).normal(size=(3, 8)))
    assigned = g.record_source("/videos/a.mp4", _people(vectors))
    assert sorted(assigned) == [0, 1, 2] and len(set(assigned.values())) == 3
    g.rename(assigned[1], "Ann")
    again = Gallery(path, "net-a")  # reopened: everything kept
    assert again.names() == {assigned[1]: "Ann"}
    ids, V = again.person_vectors()
    assert list(ids) == sorted(assigned.values()) and np.allclose(V, vectors[np.argsort([assigned[k] for k in range(3)])], atol=1e-6)
    people = {p.id: p for p in again.people()}
    assert people[assigned[2]].faces == 12 and people[assigned[2]].sources == 1 and people[assigned[2]].references == 1
    # A rerun of the same source replaces its appearances and references; the named person keeps the name.
    rerun = _people(vectors[:2])
    rerun[1]["gallery_id"] = assigned[1]
    second = again.record_source("/videos/a.mp4", rerun)
    assert second[1] == assigned[1] and again.names() == {assigned[1]: "Ann"}
    assert sum(p.references for p in again.people()) == 2
    with pytest.raises(InputError, match="no person 999"):
        again.rename(999, "Bob")
    with pytest.raises(InputError, match="net-a face vectors.*net-b"):
        Gallery(path, "net-b")


def test_files_that_are_not_our_gallery_are_refused_and_left_untouched(tmp_path):
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 8)
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE notes (t TEXT)")
    newer = tmp_path / "newer.db"
    Gallery(newer, "net-a")
    with sqlite3.connect(newer) as db:
        db.execute("PRAGMA user_version = 99")
    for path, problem in ((corrupt, "not a facecluster gallery or is corrupt"), (other, "not made by facecluster"),
                          (newer, "newer facecluster \\(gallery schema 99")):
        before = path.read_bytes()
        with pytest.raises(InputError, match=problem) as info:
            Gallery(path, "net-a")
        assert "\n" not in str(info.value) and str(path) in str(info.value)
        assert path.read_bytes() == before
        assert not any(p.name.startswith(path.name + "-") for p in tmp_path.iterdir())  # no journal left beside it
    with sqlite3.connect(newer) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID


def test_matching_is_open_set_and_one_to_one():
    rng = np.random.default_rng(3)
    known = _unit(rng.normal(size=(6, 32)))
    # The new video: 3 of the known people (slightly changed: ~0.1 away, within the linking distance of dlib's units,
    # these vectors' network being unknown), 2 strangers, and a look-alike of person 0.
    new = np.concatenate([known[[0, 2, 4]] + 0.02 * rng.normal(size=(3, 32)), rng.normal(size=(2, 32)),
                          known[[0]] + 0.03 * rng.normal(size=(1, 32))])
    source = SourcePeople(source="b", person_ids=np.arange(6), features=_unit(new), faces=np.full(6, 20),
                          screen_time_s=np.zeros(6))
    gallery_ids = np.array([10, 11, 12, 13, 14, 15])
    matched = match_to_gallery(gallery_ids, known, source)
    assert matched.get(1) == 12 and matched.get(2) == 14
    assert 3 not in matched and 4 not in matched  # strangers stay new
    assert len(set(matched.values())) == len(matched)  # never two people of one video to one gallery person
    assert (matched.get(0) == 10) != (matched.get(5) == 10)  # person 0 or its look-alike, not both
    assert match_to_gallery(np.zeros(0, np.int64), np.zeros((0, 32)), source) == {}


def _writer(path: str, worker: int, rounds: int) -> None:
    g = Gallery(path, "net-a")
    rng = np.random.default_rng(worker)
    for r in range(rounds):
        g.record_source(f"/videos/{worker}-{r}.mp4", _people(_unit(rng.normal(size=(2, 8)))))


def test_concurrent_runs_do_not_corrupt_the_gallery(tmp_path):
    path = tmp_path / "g.db"
    Gallery(path, "net-a")
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(path), w, 15)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    g = Gallery(path, "net-a")
    assert len(g.people()) == 3 * 15 * 2 and sum(p.references for p in g.people()) == 90
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_gallery_command_lists_and_renames(tmp_path):
    path = tmp_path / "g.db"
    ids = Gallery(path, "dlib_resnet_v1").record_source("/v.mp4", _people(_unit(np.eye(3, 8))))
    cli = [sys.executable, "-m", "facecluster", "gallery", str(path)]
    proc = subprocess.run([*cli, "--rename", str(ids[0]), "Grace Hopper"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    listing = subprocess.run(cli, capture_output=True, text=True).stdout
    assert "Grace Hopper" in listing and len(listing.strip().splitlines()) == 3
    bad = tmp_path / "bad.db"
    bad.write_text("not a database at all, just text " * 50)
    proc = subprocess.run([sys.executable, "-m", "facecluster", "gallery", str(bad)], capture_output=True, text=True)
    assert proc.returncode != 0 and proc.stderr.strip().count("\n") == 0 and str(bad) in proc.stderr


def test_run_with_a_bad_gallery_stops_before_any_video(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"\x00" * 4096)
    before = bad.read_bytes()
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "facecluster", "run", str(tmp_path / "missing.mp4"), "-o", str(out),
                           "--gallery", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0, proc.stderr
    assert str(bad) in proc.stderr and "gallery" in proc.stderr
    assert bad.read_bytes() == before and not out.exists()


def test_a_gallery_moves_to_another_network_with_its_names(tmp_path):
    path = tmp_path / "g.db"
    g = Gallery(path, "net-a")
    people = _people(_unit(np.eye(3, 8)))
    for k, p in enumerate(people[:2]):
        p["images"] = [bytes([k, n]) for n in range(6)]  # more than FACES_PER_REFERENCE: the first ones are kept
    assigned = g.record_source("/v.mp4", people)
    g.rename(assigned[0], "Ann")
    with pytest.raises(InputError, match="net-a face vectors.*net-b.*--reembed"):
        Gallery(path, "net-b")
    seen = []

    def describe(images):
        seen.append(images)
        return np.full(4, float(images[0][0]) + 1.0, np.float32)  # another network: another dimension

    done = Gallery(path, None).reembed("net-b", describe)
    assert done == {"moved": 2, "dropped": 1, "from": "net-a", "to": "net-b"}
    assert all(len(images) == 4 for images in seen)
    moved = Gallery(path, "net-b")  # now opens for the new network, and only for it
    assert moved.names() == {assigned[0]: "Ann"}
    ids, vectors = moved.person_vectors()
    assert sorted(ids) == sorted([assigned[0], assigned[1]]) and vectors.shape == (2, 4)
    assert {p.id: p.sources for p in moved.people()}[assigned[2]] == 1  # its appearances stay, though its reference went
    with pytest.raises(InputError, match="net-b face vectors"):
        Gallery(path, "net-a")


def test_a_gallery_of_schema_1_opens_and_keeps_its_people(tmp_path):
    from facecluster.gallery.store import MIGRATIONS

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.executescript(MIGRATIONS[0])
        db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        db.execute("PRAGMA user_version = 1")
        db.executemany("INSERT INTO meta VALUES (?, ?)", [("network", "dlib_resnet_v1"), ("created", "2026-01-01T00:00:00")])
        db.execute("INSERT INTO people (id, name, created) VALUES (1, 'Ann', '2026-01-01T00:00:00')")
        db.execute("INSERT INTO refs (person_id, source, vector, dim) VALUES (1, '/v.mp4', ?, 8)",
                   (np.ones(8, np.float32).tobytes(),))
    g = Gallery(path, "dlib_resnet_v1")
    assert g.names() == {1: "Ann"} and len(g.person_vectors()[0]) == 1
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2
    # No face crops behind its reference: a move to another network keeps the person and the name, not the vector.
    assert g.reembed("sface_2021dec", lambda images: np.zeros(8))["dropped"] == 1
    assert Gallery(path, "sface_2021dec").names() == {1: "Ann"}
