"""``report.html``, ``index.html`` and ``people.html``: self-contained pages, readable without JavaScript.

A report is built from its folder's own files — ``clusters.json`` (with the names
a people gallery gave), ``tracks.csv`` and, when present, ``names.json`` (person id →
name, which wins over the gallery's) — so ``facecluster report
DIR`` re-renders it after a rename without recomputing anything. Images are the
folder's ``chips/`` files, referenced by relative paths; nothing is fetched from
the network. Pages come from the Jinja2 templates in ``templates/`` with
autoescaping on, so every name and file name is HTML-escaped.
"""
from __future__ import annotations

import csv
import functools
import json
from pathlib import Path
from urllib.parse import quote

from facecluster.cache import atomic_write_text
from facecluster.errors import InputError

PERSON_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
CHIPS_SHOWN = 6


def clock(seconds: float) -> str:
    """``m:ss`` or ``h:mm:ss``."""
    seconds = max(0.0, float(seconds))
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


@functools.lru_cache(maxsize=1)
def _environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("facecluster.outputs", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["clock"] = clock
    env.filters["src"] = lambda rel: quote(str(rel))  # a relative path; file names are user data too
    return env


def _render(template: str, path: Path, **context) -> Path:
    atomic_write_text(path, _environment().get_template(template).render(**context) + "\n")
    return path


def load_names(folder: Path) -> dict[int, str]:
    path = folder / "names.json"
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(path, f"not JSON ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(doc, dict):
        raise InputError(path, "expected an object mapping person id to name, like {\"0\": \"Ann\"}")
    names = {}
    for key, value in doc.items():
        try:
            names[int(key)] = str(value)
        except ValueError:
            raise InputError(path, f"person id {key!r} is not a number") from None
    return names



def timeline_layout(people: list[dict], tracks: list[dict], shot_starts_s: list[float], duration: float, fps: float,
                    names: dict[int, str]) -> dict:
    """Geometry of the SVG timeline (pixels): one row per person, a bar per track, lines at the shot cuts.

    Times are the container's timestamps (tracks.csv ``first_time_s``/``last_time_s``, clusters.json
    ``shot_starts_s``), the clock of faces.csv and the cards; folders of older versions without them
    fall back to frame / fps."""
    width, label_w, row_h = 1000, 150, 18
    plot_w = width - label_w - 10
    total = max(duration, 1e-6)
    frame_s = 1.0 / fps

    def x(t: float) -> float:
        return label_w + plot_w * min(max(t / total, 0.0), 1.0)

    def span(t: dict) -> tuple[float, float]:
        if t.get("first_time_s") not in (None, ""):
            return float(t["first_time_s"]), float(t["last_time_s"]) + frame_s
        return int(t["first_frame"]) * frame_s, (int(t["last_frame"]) + 1) * frame_s

    by_person: dict[int, list[dict]] = {}
    for t in tracks:
        by_person.setdefault(int(t["person"]), []).append(t)
    rows = []
    for row, p in enumerate(people):
        bars = []
        for t in by_person.get(p["id"], []):
            start, end = span(t)
            bars.append({"x": x(start), "width": max(x(end) - x(start), 1.5), "track_id": int(t["track_id"])})
        rows.append({"y": 4 + row * row_h, "label": names.get(p["id"], f"person {p['id']}"),
                     "colour": PERSON_COLOURS[p["id"] % len(PERSON_COLOURS)], "bars": bars})
    ticks = [{"x": x(total * k / 5) - (0 if k == 0 else 14), "seconds": total * k / 5} for k in range(6)]
    return {"width": width, "height": 24 + row_h * max(len(people), 1), "bar_height": row_h - 6,
            "cuts": [x(s) for s in shot_starts_s[1:]], "rows": rows, "ticks": ticks}


def shot_starts_s(doc: dict, fps: float) -> list[float]:
    """Start of each shot in seconds: clusters.json ``shot_starts_s``, or frame / fps in older folders."""
    if "shot_starts_s" in doc:
        return [float(s) for s in doc["shot_starts_s"]]
    return [start / fps for start, _ in doc.get("shots", [])]


def render_report(folder: str | Path, doc: dict | None = None) -> Path:
    """(Re)write ``folder/report.html`` from the folder's clusters.json (or ``doc``, its
    content not yet written), tracks.csv and names.json."""
    folder = Path(folder)
    if doc is None:
        doc_path = folder / "clusters.json"
        if not doc_path.is_file():
            raise InputError(folder, "no clusters.json: not a finished facecluster output folder")
        doc = json.loads(doc_path.read_text(encoding="utf-8"))
    tracks = []
    if (folder / "tracks.csv").is_file():
        with open(folder / "tracks.csv", newline="", encoding="utf-8") as f:
            tracks = list(csv.DictReader(f))
    # Names from the people gallery (clusters.json), overridden by the folder's names.json.
    names = {int(p["id"]): str(p["name"]) for p in doc.get("people", []) if p.get("name")} | load_names(folder)
    photos = doc.get("kind") == "photos"
    video = doc.get("video", {})
    fps = float(video.get("fps") or 25.0)
    duration = float(video.get("duration_s") or 0.0) or (max((int(t["last_frame"]) for t in tracks), default=0) + 1) / fps
    if photos:
        people = sorted(doc.get("people", []), key=lambda p: (-p["num_faces"], p["id"]))
    else:
        people = sorted(doc.get("people", []), key=lambda p: -p.get("screen_time_s", 0))

    def name_of(pid) -> str:
        return names.get(int(pid), f"person {int(pid)}")

    cards = []
    for p in people:
        card = {**p, "name": name_of(p["id"]), "colour": PERSON_COLOURS[p["id"] % len(PERSON_COLOURS)],
                "chips": p.get("chips", [])[:CHIPS_SHOWN], "clothing_chips": p.get("clothing_chips", [])[:CHIPS_SHOWN],
                "files": p.get("files", [])}
        if not photos:
            card["share"] = 100.0 * p.get("screen_time_s", 0) / duration if duration else 0.0
        cards.append(card)
    doubt = doc.get("uncertain", {})
    close_pairs = [{**pr, "names": [name_of(a) for a in pr["people"]], "chips": pr.get("chips", [])}
                   for pr in doubt.get("close_pairs", [])]
    far_tracks = [{**tr, "name": name_of(tr["person"]), "chip": tr.get("chip")} for tr in doubt.get("far_tracks", [])]
    timings = json.loads((folder / "timings.json").read_text()) if (folder / "timings.json").is_file() else {}
    return _render(
        "report.html", folder / "report.html",
        photos=photos, skipped=doc.get("skipped", []), num_faces=doc.get("num_faces", 0),
        num_photos=doc.get("num_photos", 0), num_shots=doc.get("num_shots", 0), version=doc.get("facecluster_version", ""), title=Path(video.get("path", doc.get("root", folder.name))).name, people=cards,
        num_tracks=doc.get("num_tracks", len(tracks)), duration=duration,
        clothing_weight=(doc.get("clothing_cue") or {}).get("weight", 0.0),
        timeline=None if photos else timeline_layout(people, tracks, shot_starts_s(doc, fps), duration, fps, names),
        close_pairs=close_pairs, far_tracks=far_tracks, not_a_face=doc.get("not_a_face", []),
        parameters=list(doc.get("parameters", {}).items()), timings=[(k, float(v)) for k, v in timings.items()],
    )


def render_index(out_root: str | Path, folders: list[Path], failed: dict[str, str] | None = None) -> Path:
    """``OUT/index.html`` linking each video's report; ``failed``: input name → problem, listed as failed."""
    out_root = Path(out_root)
    videos = []
    for f in folders:
        doc_path = f / "clusters.json"
        if not doc_path.is_file():
            continue
        doc = json.loads(doc_path.read_text(encoding="utf-8"))
        videos.append({"name": Path(doc["video"]["path"]).name, "report": f"{f.name}/report.html", "failed": None,
                       "num_people": doc["num_people"], "num_tracks": doc["num_tracks"],
                       "duration_s": doc["video"]["duration_s"]})
    videos += [{"name": name, "failed": problem} for name, problem in (failed or {}).items()]
    return _render("index.html", out_root / "index.html", videos=videos,
                   people_page=(out_root / "people.json").is_file())


def render_people_page(out_root: str | Path, doc: dict, chips: dict[tuple[str, int], str], reports: dict[str, str]) -> Path:
    """``OUT/people.html``: one card per collection person (from ``people.json``'s ``doc``),
    with a face from each source they appear in and links to those sources' reports."""
    out_root = Path(out_root)
    people = []
    for person in doc["people"]:
        faces = []
        for a in person["appearances"]:
            chip = chips.get((a["source"], a["person"]))
            if chip and (out_root / chip).is_file():
                faces.append({"chip": chip, "source": a["source"], "person": a["person"]})
        appearances = [{**a, "report": reports.get(a["source"], "")} for a in person["appearances"]]
        people.append({"id": person["id"], "name": person.get("name"), "faces": faces, "appearances": appearances, "faces_count": person["faces"],
                       "num_sources": person["num_sources"], "screen_time_s": person["screen_time_s"]})
    return _render("people.html", out_root / "people.html", people=people, num_sources=len(doc["sources"]),
                   threshold=doc["linking"].get("stop_distance") or doc["linking"]["threshold"])
