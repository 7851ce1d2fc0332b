"""The people gallery across videos, on the labelled clips cut in halves: name people seen in the first
halves, and they come back named in the second halves; nobody else gets a name."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_data

from facecluster.research.evaluate import EXCLUDED_LABELS, match_faces, read_faces_csv

CLIPS = ("short_hamilton_clip", "sweden")
CLI = [sys.executable, "-m", "facecluster"]


def cut_in_halves(video: Path, gt: Path, out: Path) -> list[tuple[Path, Path]]:
    """(first half, second half) videos of ``video`` with their ground-truth folders (frames renumbered)."""
    import av

    from facecluster.video.decode import iter_frames

    frames = [np.ascontiguousarray(f.rgb) for f in iter_frames(video)]
    rows = list(csv.DictReader(open(gt / "faces.csv", newline="")))
    half = len(frames) // 2
    parts = []
    for k, (a, b) in enumerate(((0, half), (half, len(frames)))):
        path, part_gt = out / f"{video.stem}_part{k + 1}.mp4", out / f"gt_{video.stem}_part{k + 1}"
        with av.open(str(path), "w") as container:
            stream = container.add_stream("libx264", rate=30)
            stream.width, stream.height, stream.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
            stream.options = {"crf": "18"}
            for rgb in frames[a:b]:
                for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        part_gt.mkdir()
        with open(part_gt / "faces.csv", "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows({**r, "frame": str(int(r["frame"]) - a)} for r in rows if a <= int(r["frame"]) < b)
        parts.append((path, part_gt))
    return parts


def labels_of_people(folder: Path, gt: Path) -> dict[int, str]:
    """Each person's majority ground-truth label, over the faces matched to the ground truth."""
    pairs, _ = match_faces(read_faces_csv(folder / "faces.csv", "person"), read_faces_csv(gt / "faces.csv", "label"))
    votes: dict[int, Counter] = {}
    for person, label in pairs:
        if label not in EXCLUDED_LABELS and int(person) >= 0:
            votes.setdefault(int(person), Counter())[label] += 1
    return {p: c.most_common(1)[0][0] for p, c in votes.items()}


@pytest.mark.shared_data
def test_people_named_in_first_halves_come_back_named(tmp_path):
    halves = {c: cut_in_halves(shared_data("video", f"{c}.mp4"), shared_data("video", "gt", c), tmp_path) for c in CLIPS}
    first, second = tmp_path / "first", tmp_path / "second"
    proc = subprocess.run([*CLI, "run", *(str(halves[c][0][0]) for c in CLIPS), "-o", str(first)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    gallery = first / "people.db"  # the default gallery of a run over several videos
    assert gallery.is_file()
    seen_first: dict[str, set[str]] = {}
    to_name = []
    for c in CLIPS:
        video, gt = halves[c][0]
        folder = first / video.stem
        labels = labels_of_people(folder, gt)
        seen_first[c] = set(labels.values())
        doc = json.loads((folder / "clusters.json").read_text())
        assert all(p["gallery_id"] is not None for p in doc["people"]) and "name" not in json.dumps(doc["people"])
        # Name the person with most faces whose label also appears in the second half.
        later = {r["label"] for r in csv.DictReader(open(halves[c][1][1] / "faces.csv"))}
        person = max((p for p in doc["people"] if labels.get(p["id"]) in later), key=lambda p: p["num_faces"])
        to_name.append((c, labels[person["id"]], person["gallery_id"], f"Named {c}"))
    for _, _, gid, name in to_name:
        proc = subprocess.run([*CLI, "gallery", str(gallery), "--rename", str(gid), name], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr

    proc = subprocess.run([*CLI, "run", *(str(halves[c][1][0]) for c in CLIPS), "-o", str(second), "--gallery", str(gallery)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert not (second / "people.db").exists()  # the gallery given was used
    for c, label, _, name in to_name:
        video, gt = halves[c][1]
        folder = second / video.stem
        labels = labels_of_people(folder, gt)
        doc = json.loads((folder / "clusters.json").read_text())
        names = [p.get("name") for p in doc["people"] if p.get("name")]
        assert len(names) == len(set(names))  # no two people of one video with one name
        named = [p["id"] for p in doc["people"] if p.get("name") == name]
        assert len(named) == 1, (c, names)  # the named person came back named ...
        assert labels.get(named[0]) == label, (c, labels.get(named[0]), label)  # ... and is that person
        for p in doc["people"]:  # people the first halves never showed stay unnamed
            if labels.get(p["id"]) is not None and labels[p["id"]] not in seen_first[c]:
                assert not p.get("name"), (c, p)
        assert name in (folder / "report.html").read_text(encoding="utf-8")
    people = json.loads((second / "people.json").read_text())
    assert {name for *_, name in to_name} <= {p.get("name") for p in people["people"]}


def test_names_survive_a_move_to_another_network(tmp_path, demo_video):
    """A gallery filled and named on dlib's network is refused by an SFace run with a one-line error that says what to
    do; after ``gallery --reembed`` the SFace run recognises the named people."""
    gallery = tmp_path / "people.db"
    first = subprocess.run([*CLI, "run", str(demo_video), "-o", str(tmp_path / "a"), "--network", "dlib",
                            "--gallery", str(gallery)], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    people = json.loads(subprocess.run([*CLI, "gallery", str(gallery), "--json"], capture_output=True, text=True).stdout)
    assert len(people) == 2
    for k, p in enumerate(people):
        assert subprocess.run([*CLI, "gallery", str(gallery), "--rename", str(p["id"]), f"Person {k}"]).returncode == 0
    refused = subprocess.run([*CLI, "run", str(demo_video), "-o", str(tmp_path / "b"), "--gallery", str(gallery)],
                             capture_output=True, text=True)
    assert refused.returncode != 0 and refused.stderr.strip().count("\n") == 0, refused.stderr
    assert "--reembed" in refused.stderr and str(gallery) in refused.stderr and not (tmp_path / "b" / "demo").exists()
    moved = subprocess.run([*CLI, "gallery", str(gallery), "--reembed"], capture_output=True, text=True)
    assert moved.returncode == 0 and "2 reference(s) moved from dlib_resnet_v1 to sface_2021dec" in moved.stdout, moved
    again = subprocess.run([*CLI, "run", str(demo_video), "-o", str(tmp_path / "b"), "--gallery", str(gallery)],
                           capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    named = {p["id"]: f"Person {k}" for k, p in enumerate(people)}  # gallery id -> name given above
    before = {p["id"]: named[p["gallery_id"]] for p in json.loads((tmp_path / "a" / "demo" / "clusters.json").read_text())["people"]}
    after = {p["id"]: p.get("name") for p in json.loads((tmp_path / "b" / "demo" / "clusters.json").read_text())["people"]}
    assert sorted(after.values()) == ["Person 0", "Person 1"] and len(json.loads(subprocess.run(
        [*CLI, "gallery", str(gallery), "--json"], capture_output=True, text=True).stdout)) == 2  # nobody new
    assert before == after  # each person recognised as the one named from the dlib run (the demo's order is stable)
