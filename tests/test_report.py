import csv
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facecluster.app import process_videos
from facecluster.config import PipelineConfig
from facecluster.jobs.photos import process_photos

EVIL = "<script>alert(1)</script>"
EVIL_FILE = "<img src=x onerror=alert(1)>"  # file names cannot hold '/'; this is markup all the same
BROWSER_SERVICE_HOSTS = ("google.com", "googleapis.com", "gstatic.com", "gvt1.com", "googleusercontent.com")


@pytest.fixture(scope="module")
def demo_out(demo_video, tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    outcome = process_videos([demo_video], out, PipelineConfig(workers=1))[0]
    assert outcome.error is None
    return outcome.folder


def cli(*args):
    return subprocess.run([sys.executable, "-m", "facecluster", *map(str, args)], capture_output=True, text=True)


def test_report_sections_and_rename(demo_out):
    page = (demo_out / "report.html").read_text()
    assert page.count('class="card"') == 2
    assert "<svg" in page and "Timeline" in page and "Parameters and timings" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in page
    (demo_out / "names.json").write_text(json.dumps({"0": EVIL, "1": "Grace Hopper"}))
    proc = cli("report", demo_out)
    assert proc.returncode == 0, proc.stderr
    page = (demo_out / "report.html").read_text()
    assert EVIL not in page and html_escaped(EVIL) in page and "Grace Hopper" in page
    (demo_out / "names.json").write_text("{not json")
    proc = cli("report", demo_out)
    assert proc.returncode == 2 and "names.json: not JSON" in proc.stderr
    (demo_out / "names.json").unlink()


def test_report_shows_the_clothing_next_to_the_faces(demo_out):
    doc = json.loads((demo_out / "clusters.json").read_text())
    assert doc["parameters"]["cues"] == "auto" and set(doc["clothing_cue"]) >= {"weight", "auc", "same_pairs", "different_pairs", "scenes"}
    page = (demo_out / "report.html").read_text()
    for person in doc["people"]:
        assert 0 < len(person["clothing_chips"]) <= len(person["chips"])  # none where the torso is out of frame
        for rel in person["clothing_chips"]:
            assert (demo_out / rel).is_file() and rel in page
    # The demo has only two pairs of people on screen together: too little to weigh clothing, and the page says so.
    assert doc["clothing_cue"]["weight"] == 0.0 and "clothing (not used" in page


def html_escaped(text):
    import html

    return html.escape(text, quote=True)


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    pytest.fail("headless Chromium is missing: install Debian's 'chromium' package (make test does)")


def test_report_in_headless_chromium(demo_out, tmp_path):
    """Screenshot, DOM and network log of the report in a real browser."""
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1280,1400", "--enable-logging=stderr", "--v=0"]
    url = (demo_out / "report.html").as_uri()
    shot = tmp_path / "report.png"
    netlog = tmp_path / "net.json"
    proc = subprocess.run([chromium(), *flags, f"--log-net-log={netlog}", f"--screenshot={shot}", url],
                          capture_output=True, text=True, timeout=120)
    assert shot.is_file() and shot.stat().st_size > 10_000, proc.stderr[-2000:]
    console = [l for l in proc.stderr.splitlines() if ":CONSOLE" in l]
    assert console == [], console
    events = json.loads(netlog.read_text())["events"]
    urls = {e["params"]["url"] for e in events if "url" in e.get("params", {})}
    external = [u for u in urls if re.match(r"(https?|wss?)://", u) and not any(h in u for h in BROWSER_SERVICE_HOSTS)]
    assert external == []
    dom = subprocess.run([chromium(), *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    assert dom.count('class="card"') == 2 and "<svg" in dom and "<rect" in dom
    # Every chip the page shows exists in the folder (relative paths only).
    for src in re.findall(r'<img src="([^"]+)"', dom):
        assert (demo_out / src).is_file(), src


def make_photos(folder: Path, astronaut: np.ndarray) -> None:
    """Photos of one face (a real photograph) in many encodings, plus broken files."""
    import cv2

    folder.mkdir()
    face = astronaut[0:300, 80:400]
    Image.fromarray(face).save(folder / "rgb.jpg")
    Image.fromarray(face).convert("L").save(folder / "grey.png")
    Image.fromarray(face).convert("CMYK").save(folder / "cmyk.jpg")
    Image.fromarray(np.dstack([face, np.full(face.shape[:2], 255, np.uint8)])).save(folder / "rgba.png")
    grey16 = (cv2.cvtColor(face, cv2.COLOR_RGB2GRAY).astype(np.uint16) * 257)
    cv2.imwrite(str(folder / "sixteen.png"), grey16)
    rotated = Image.fromarray(np.rot90(face).copy())  # stored on its side, EXIF says: turn it back
    exif = Image.Exif()
    exif[0x0112] = 6  # "turn 90° clockwise to view"
    rotated.save(folder / "exif_rotated.jpg", exif=exif)
    Image.fromarray(face).save(folder / f"{EVIL_FILE}.png")
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    data = (folder / "rgb.jpg").read_bytes()
    (folder / "truncated.png").write_bytes((folder / "grey.png").read_bytes()[:200])
    (folder / "text.webp").write_text("hello")
    (folder / "notes.txt").write_text("ignored: not a photo")
    (folder / "loop").symlink_to(folder, target_is_directory=True)  # a symlink loop must not hang the walk
    assert data


def test_images_command(tmp_path, astronaut):
    photos = tmp_path / "album"
    make_photos(photos, astronaut)
    outcome = process_photos(photos, tmp_path / "out", export_folders=True)
    folder = outcome.folder
    skipped = {s for s, _ in outcome.skipped}
    assert skipped == {"corrupt.jpg", "truncated.png", "text.webp"}
    rows = list(csv.DictReader(open(folder / "faces.csv", newline="")))
    files = {r["file"] for r in rows}
    # Every readable encoding yields the face, the EXIF-rotated one included (upright after transposing).
    assert files == {"rgb.jpg", "grey.png", "cmyk.jpg", "rgba.png", "sixteen.png", "exif_rotated.jpg", f"{EVIL_FILE}.png"}
    assert outcome.num_people == 1  # one person in every photo
    doc = json.loads((folder / "clusters.json").read_text())
    assert doc["kind"] == "photos" and len(doc["skipped"]) == 3
    page = (folder / "report.html").read_text()
    assert EVIL_FILE not in page and html_escaped(EVIL_FILE) in page
    linked = sorted(p.name for p in (folder / "people" / "person_0").iterdir())
    assert len(linked) == 7 and all((folder / "people" / "person_0" / n).is_symlink() for n in linked)
    proc = cli("images", photos, "-o", tmp_path / "out2", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("warning:") == 3 and "3 files skipped" in proc.stdout


def test_images_bad_folder(tmp_path):
    proc = cli("images", tmp_path / "nowhere", "-o", tmp_path / "out")
    assert proc.returncode == 2 and "nowhere: no such folder" in proc.stderr


def test_parquet_exports(demo_video, tmp_path, astronaut):
    import pyarrow.parquet as pq

    out = process_videos([demo_video], tmp_path / "v", PipelineConfig(workers=1), parquet=True)[0]
    table = pq.read_table(out.folder / "faces.parquet")
    faces = list(csv.DictReader(open(out.folder / "faces.csv", newline="")))
    assert table.num_rows == len(faces) and table.column("person").to_pylist() == [int(f["person"]) for f in faces]
    embedded = [e for e in table.column("embedding").to_pylist() if e is not None]
    assert len(embedded) == len(out.result.embeddings.rows) and len(embedded[0]) == 128
    assert table.schema.metadata[b"facecluster.network"] == b"sface_2021dec"
    assert json.loads((out.folder / "clusters.json").read_text())["network"] == "sface_2021dec"
    photos = tmp_path / "p"
    photos.mkdir()
    Image.fromarray(astronaut).save(photos / "a.png")
    res = process_photos(photos, tmp_path / "o", parquet=True)
    t2 = pq.read_table(res.folder / "faces.parquet")
    assert t2.column("file").to_pylist() == ["a.png"] and len(t2.column("embedding").to_pylist()[0]) == 128
    dlib = process_photos(photos, tmp_path / "o2", parquet=True, network="dlib")
    assert pq.read_table(dlib.folder / "faces.parquet").schema.metadata[b"facecluster.network"] == b"dlib_resnet_v1"


def test_photo_report_names_close_pairs(tmp_path, astronaut):
    """Two people never in one photo are listed as a pair to check, with their chips."""
    from facecluster.demo import demo_photo

    photos = tmp_path / "p"
    photos.mkdir()
    Image.fromarray(astronaut).save(photos / "collins.png")
    Image.fromarray(astronaut[:, ::-1].copy()).save(photos / "collins_mirrored.png")
    Image.fromarray(demo_photo("grace_hopper")).save(photos / "hopper.png")
    res = process_photos(photos, tmp_path / "o", num_people=3)
    doc = json.loads((res.folder / "clusters.json").read_text())
    pairs = doc["uncertain"]["close_pairs"]
    assert len(pairs) == 3 and pairs[0]["distance"] <= pairs[-1]["distance"]
    collins = {p["id"] for p in doc["people"] if any("collins" in f for f in p["files"])}
    assert set(pairs[0]["people"]) == collins  # the two Collins photos are the closest pair
    assert "Pairs of people" in (res.folder / "report.html").read_text()
