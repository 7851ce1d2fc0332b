"""Videos as tasks on a Dask cluster, and people linked across videos (issue 9)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import write_video

from facecluster.errors import InputError, ParameterError
from facecluster.jobs.dask import check_reachable, parse_scheduler

OUTPUTS = ("faces.csv", "tracks.csv", "clusters.json")


def cli(*args):
    return subprocess.run([sys.executable, "-m", "facecluster", *map(str, args)], capture_output=True, text=True)


def test_three_videos_on_a_local_dask_cluster_match_the_in_process_run(tmp_path):
    from facecluster.demo import demo_frames

    frames = demo_frames()  # shots: collins, hopper, both, collins, hopper, both, collins
    parts = {"a": (0, 60), "b": (95, 145), "c": (170, 195)}  # a, b: both people; c: collins only
    videos = [write_video(tmp_path / f"{name}.mp4", frames[s:e]) for name, (s, e) in parts.items()]
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    here = cli("run", *videos, "-o", tmp_path / "here", "--workers", "1")
    assert here.returncode == 0, here.stderr
    there = cli("run", *videos, empty, "-o", tmp_path / "there", "--workers", "1", "--scheduler", "local:2")
    assert there.returncode == 1
    assert f"error: {empty}: file is empty (0 bytes)" in there.stderr.splitlines()
    assert "done: 3 of 4 videos, 1 failed" in there.stdout
    for name in parts:
        for output in OUTPUTS:
            assert (tmp_path / "here" / name / output).read_bytes() == (tmp_path / "there" / name / output).read_bytes(), (name, output)
    assert (tmp_path / "here" / "people.json").read_bytes() == (tmp_path / "there" / "people.json").read_bytes()
    doc = json.loads((tmp_path / "there" / "people.json").read_text())
    assert doc["sources"] == ["a", "b", "c"]
    by_sources = sorted(sorted(a["source"] for a in p["appearances"]) for p in doc["people"])
    assert by_sources == [["a", "b"], ["a", "b", "c"]]  # hopper in a and b; collins in all three
    page = (tmp_path / "there" / "people.html").read_text()
    assert page.count('class="card"') == 2 and 'href="a/report.html"' in page
    assert 'href="people.html"' in (tmp_path / "there" / "index.html").read_text()


def test_scheduler_values():
    assert parse_scheduler("local:3") == ("local", 3)
    assert parse_scheduler("tcp://10.0.0.5:8786") == ("address", "tcp://10.0.0.5:8786")
    for bad in ("local:0", "local:x", "local", "nonsense"):
        with pytest.raises(ParameterError):
            parse_scheduler(bad)


def test_scheduler_error_is_one_line(tmp_path):
    done = cli("run", tmp_path / "x.mp4", "-o", tmp_path / "out", "--scheduler", "local:0")
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0 and "local:N" in done.stderr


class _Client:
    """Stands in for a Dask client whose second worker cannot see the folder."""

    def run(self, fn, path):
        return {"tcp://w1:1": fn(path), "tcp://w2:1": False}


def test_output_folder_not_shared_with_workers_is_refused(tmp_path):
    with pytest.raises(InputError, match="not reachable from Dask worker\\(s\\) tcp://w2:1") as info:
        check_reachable(_Client(), tmp_path / "out")
    assert "shared file system" in str(info.value)
    assert not list((tmp_path / "out").iterdir())  # the probe file is gone
