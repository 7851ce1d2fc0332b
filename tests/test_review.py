"""The review page, driven in headless Chromium: rename, move a track, merge, mark "not a face"; each change
lands in corrections.json, the outputs, the report and the gallery, and survives a reload and a rerun."""
from __future__ import annotations

import csv
import json
import shutil
import socket
import subprocess
import threading
import urllib.error
import urllib.request

import pytest

from facecluster.app import process_videos
from facecluster.config import PipelineConfig
from facecluster.jobs.gallery import apply_gallery, open_gallery


def _browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not browser or not driver:
        pytest.fail("headless Chromium and chromedriver are missing: install Debian's 'chromium' and 'chromium-driver' (make test does)")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=options)


@pytest.fixture
def review(demo_video, tmp_path):
    from facecluster.review import make_server, url_of

    out = tmp_path / "out"
    [outcome] = process_videos([demo_video], out, PipelineConfig(workers=1))
    gallery = open_gallery(tmp_path / "people.db")
    apply_gallery(gallery, [outcome])
    server, state = make_server(outcome.folder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    driver = _browser()
    try:
        yield {"folder": outcome.folder, "gallery": gallery, "url": url_of(server, state), "server": server,
               "driver": driver, "video": demo_video, "out": out}
    finally:
        driver.quit()
        server.shutdown()
        server.server_close()


def _tracks(folder) -> dict[int, int]:
    with open(folder / "tracks.csv", newline="") as f:
        return {int(r["track_id"]): int(r["person"]) for r in csv.DictReader(f)}


def _doc(folder) -> dict:
    return json.loads((folder / "clusters.json").read_text())


def _actions(folder) -> list[dict]:
    return json.loads((folder / "corrections.json").read_text())["actions"]


def _act(driver, click) -> None:
    """Click, then wait for the page the server reloads after saving."""
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element("tag name", "html")
    click()
    WebDriverWait(driver, 120).until(lambda d: old.id != d.find_element("tag name", "html").id
                                     and d.execute_script("return document.readyState") == "complete")
    assert "error" not in driver.find_element("id", "status").text


def _sections(driver):
    return driver.find_elements("css selector", "section.person")


def test_review_page_corrections(review):
    from selenium.webdriver.support.ui import Select

    driver, folder, gallery = review["driver"], review["folder"], review["gallery"]
    driver.get(review["url"])
    assert len(_sections(driver)) == 2
    images = driver.find_elements("css selector", "section.person .chips img")
    assert images and all(driver.execute_script("return arguments[0].naturalWidth", img) > 0 for img in images)
    faces = driver.find_elements("css selector", "img.track-face")  # one face of every track, beside its row
    assert len(faces) == len(_tracks(folder)) and all(driver.execute_script("return arguments[0].naturalWidth", i) > 0 for i in faces)

    # Rename the first person.
    first = _sections(driver)[0]
    anchor = int(first.get_attribute("data-anchor"))
    first.find_element("css selector", "input.rename-input").send_keys("Ada Lovelace")
    _act(driver, first.find_element("css selector", "button.rename").click)
    assert _actions(folder)[-1] == {"op": "rename", "track": anchor, "name": "Ada Lovelace"}
    ada = _tracks(folder)[anchor]
    assert next(p for p in _doc(folder)["people"] if p["id"] == ada)["name"] == "Ada Lovelace"
    assert "Ada Lovelace" in (folder / "report.html").read_text(encoding="utf-8")
    assert "Ada Lovelace" in gallery.names().values()
    driver.refresh()
    assert _sections(driver)[0].find_element("css selector", "h2.name").text == "Ada Lovelace"

    # Move one of Ada's tracks (not the anchor) to a new person.
    section = next(s for s in _sections(driver) if s.find_element("css selector", "h2.name").text == "Ada Lovelace")
    row = next(r for r in section.find_elements("css selector", "tr.track") if int(r.get_attribute("data-track")) != anchor)
    moved = int(row.get_attribute("data-track"))
    Select(row.find_element("css selector", "select.move-target")).select_by_value("new")
    _act(driver, row.find_element("css selector", "button.move").click)
    tracks = _tracks(folder)
    assert _doc(folder)["num_people"] == 3 and list(tracks.values()).count(tracks[moved]) == 1
    assert tracks[moved] != tracks[anchor]
    assert len(_sections(driver)) == 3
    assert len([p for p in gallery.people() if p.faces]) >= 3  # the gallery learnt the new person

    # Merge that new person back into Ada.
    section = next(s for s in _sections(driver) if s.get_attribute("data-tracks") == str(moved))
    Select(section.find_element("css selector", "select.merge-target")).select_by_visible_text("Ada Lovelace")
    _act(driver, section.find_element("css selector", "button.merge").click)
    tracks = _tracks(folder)
    assert _doc(folder)["num_people"] == 2 and tracks[moved] == tracks[anchor]
    assert _actions(folder)[-1]["op"] == "merge" and len(_sections(driver)) == 2

    # Mark one of the other person's tracks "not a face".
    other = next(s for s in _sections(driver) if s.find_element("css selector", "h2.name").text != "Ada Lovelace")
    row = other.find_elements("css selector", "tr.track")[0]
    gone = int(row.get_attribute("data-track"))
    _act(driver, row.find_element("css selector", "button.not-face").click)
    assert _tracks(folder)[gone] == -1
    assert gone in [t["track_id"] for t in _doc(folder)["not_a_face"]]
    driver.refresh()
    assert [int(li.get_attribute("data-track")) for li in driver.find_elements("css selector", "li.not-a-face")] == [gone]
    assert [a["op"] for a in _actions(folder)] == ["rename", "move", "merge", "not_a_face"]

    # A rerun keeps every correction, also when it recomputes everything.
    for force in (False, True):
        [again] = process_videos([review["video"]], review["out"], PipelineConfig(workers=1), force=force)
        assert again.error is None
        tracks = _tracks(folder)
        assert tracks[gone] == -1 and tracks[moved] == tracks[anchor]
        assert next(p for p in _doc(folder)["people"] if p["id"] == tracks[anchor])["name"] == "Ada Lovelace"


def test_review_server_refuses_requests_without_the_token_and_listens_on_loopback_only(review):
    server, url, folder = review["server"], review["url"], review["folder"]
    base = url.split("?")[0]
    host, port = server.server_address[:2]
    assert host == "127.0.0.1"
    for bad in (base, base + "?token=wrong", base.rstrip("/") + "/video/x?token="):
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(bad, timeout=10)
        assert info.value.code == 403
    post = urllib.request.Request(base.rstrip("/") + f"/api/{folder.name}", data=b'{"op": "not_a_face", "track": 0}', method="POST")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(post, timeout=10)
    assert info.value.code == 403 and not (folder / "corrections.json").exists()
    assert urllib.request.urlopen(url, timeout=30).status == 200
    # Chips are served from chips/ only: no other file of the folder, nothing outside it.
    token = url.split("token=")[1]
    for path in ("clusters.json", "../out/x", "cache/x"):
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(base.rstrip("/") + f"/file/{folder.name}/{path}?token={token}", timeout=10)
    # Nothing answers on any other address of this machine.
    addresses = {"127.0.0.2"}
    ip = subprocess.run(["hostname", "-I"], capture_output=True, text=True)
    addresses |= set(ip.stdout.split()) if ip.returncode == 0 else set()
    for address in addresses - {"127.0.0.1"}:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.settimeout(3)
            assert s.connect_ex((address, port)) != 0, address


def test_corrections_file_errors_are_one_line(tmp_path):
    from facecluster.errors import InputError
    from facecluster.outputs.corrections import add_action, load_corrections

    (tmp_path / "corrections.json").write_text("{not json")
    with pytest.raises(InputError, match="corrections.json: not JSON"):
        load_corrections(tmp_path)
    (tmp_path / "corrections.json").write_text('{"version": 1, "actions": [{"op": "explode", "track": 1}]}')
    with pytest.raises(InputError, match="action 1: op must be one of"):
        load_corrections(tmp_path)
    (tmp_path / "corrections.json").unlink()
    with pytest.raises(InputError, match="track must be a track id"):
        add_action(tmp_path, {"op": "move", "track": "x", "to_track": None})
    assert not (tmp_path / "corrections.json").exists()


def test_apply_corrections_follows_tracks_not_person_ids():
    import numpy as np

    from facecluster.outputs.corrections import apply_corrections

    person = np.array([0, 0, 1, 1, 2, -1])
    first = np.array([0, 100, 0, 100, 0, 0])
    last = np.array([99, 199, 49, 149, 9, 9])  # screen time: person 0 > 1 > 2
    actions = [
        {"op": "rename", "track": 2, "name": "Bo"},
        {"op": "move", "track": 1, "to_track": None},  # track 1 becomes a person of its own
        {"op": "merge", "tracks": [4], "into_track": 2},  # person 2 (track 4) joins Bo
        {"op": "not_a_face", "track": 0},
        {"op": "move", "track": 99, "to_track": 0},  # a track that no longer exists: skipped
        {"op": "rename", "track": 1, "name": "Cy"},
        {"op": "rename", "track": 3, "name": ""},  # an empty name removes Bo's name
        {"op": "rename", "track": 4, "name": "Bo B."},
    ]
    labels, names = apply_corrections(person, actions, first, last)
    assert labels[0] == -1 and labels[5] == -1
    assert labels[2] == labels[3] == labels[4] and labels[1] != labels[2]
    assert sorted(set(labels[labels >= 0].tolist())) == [0, 1]  # renumbered by screen time
    assert names == {int(labels[2]): "Bo B.", int(labels[1]): "Cy"}
