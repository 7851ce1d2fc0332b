"""``report.html``: one self-contained page per output folder, readable without JavaScript.

The page is built from the folder's own files — ``clusters.json``, ``tracks.csv`` and,
when present, ``names.json`` (person id → name) — so ``facecluster report DIR``
re-renders it after a rename without recomputing anything. Images are the
folder's ``chips/`` files, referenced by relative paths; nothing is fetched from
the network. Every name and file name is HTML-escaped.
"""
from __future__ import annotations

import csv
import html
import json
from pathlib import Path
from urllib.parse import quote

from .cache import atomic_write_text
from .errors import InputError

PERSON_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;background:#fafafa}
h1{font-size:1.5em;margin:0 0 4px} h2{font-size:1.2em;margin:28px 0 8px}
.sub{color:#666;margin-bottom:16px}
.cards{display:flex;flex-wrap:wrap;gap:14px}
.card{background:#fff;border:1px solid #ddd;border-radius:8px;padding:10px;width:300px}
.card h3{margin:0 0 6px;font-size:1.05em;display:flex;align-items:center;gap:6px}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px}
.chips{display:grid;grid-template-columns:repeat(3,1fr);gap:4px;margin:6px 0}
.chips img,.pair img,.track img{width:100%;border-radius:4px;display:block}
.facts{font-size:.9em;color:#444;line-height:1.5}
table{border-collapse:collapse;font-size:.9em;background:#fff}
td,th{border:1px solid #ddd;padding:4px 8px;text-align:left}
.doubt{display:flex;flex-wrap:wrap;gap:12px}
.pair,.track{background:#fff;border:1px solid #ddd;border-radius:8px;padding:8px;width:150px;font-size:.85em}
.pair .two{display:grid;grid-template-columns:1fr 1fr;gap:4px}
svg text{font-size:11px;font-family:inherit}
"""


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


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _src(rel: str) -> str:
    """A relative image path, escaped for an attribute (file names are user data too)."""
    return _esc(quote(rel))


def _clock(seconds: float) -> str:
    seconds = max(0.0, float(seconds))
    m, s = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _timeline(people: list[dict], tracks: list[dict], shots: list[list[int]], fps: float, duration: float, names: dict[int, str]) -> str:
    """Inline SVG: one row per person, a bar per track, grey lines at the shot cuts."""
    width, label_w, row_h = 1000, 150, 18
    plot_w = width - label_w - 10
    height = 24 + row_h * max(len(people), 1)
    total = max(duration, 1e-6)
    x = lambda t: label_w + plot_w * min(max(t / total, 0.0), 1.0)  # noqa: E731
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="timeline">']
    for start, _ in shots[1:]:
        xc = x(start / fps)
        parts.append(f'<line x1="{xc:.1f}" y1="0" x2="{xc:.1f}" y2="{height - 18}" stroke="#ddd" stroke-width="1"/>')
    by_person: dict[int, list[dict]] = {}
    for t in tracks:
        by_person.setdefault(int(t["person"]), []).append(t)
    for row, p in enumerate(people):
        y = 4 + row * row_h
        colour = PERSON_COLOURS[p["id"] % len(PERSON_COLOURS)]
        label = names.get(p["id"], "person %d" % p["id"])
        parts.append(f'<text x="4" y="{y + 12}">{_esc(label)}</text>')
        for t in by_person.get(p["id"], []):
            x1, x2 = x(int(t["first_frame"]) / fps), x((int(t["last_frame"]) + 1) / fps)
            parts.append(f'<rect x="{x1:.1f}" y="{y + 2}" width="{max(x2 - x1, 1.5):.1f}" height="{row_h - 6}" fill="{colour}"><title>track {int(t["track_id"])}</title></rect>')
    axis_y = height - 6
    for k in range(6):
        t = total * k / 5
        parts.append(f'<text x="{x(t) - (0 if k == 0 else 14):.1f}" y="{axis_y}" fill="#666">{_clock(t)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_report(folder: str | Path, doc: dict | None = None) -> Path:
    """(Re)write ``folder/report.html`` from the folder's clusters.json (or ``doc``, its
    content not yet written), tracks.csv and names.json."""
    folder = Path(folder)
    if doc is None:
        doc_path = folder / "clusters.json"
        if not doc_path.is_file():
            raise InputError(folder, "no clusters.json: not a finished facecluster output folder")
        doc = json.loads(doc_path.read_text(encoding="utf-8"))
    tracks = list(csv.DictReader(open(folder / "tracks.csv", newline="", encoding="utf-8"))) if (folder / "tracks.csv").is_file() else []
    names = load_names(folder)
    photos = doc.get("kind") == "photos"
    video = doc.get("video", {})
    fps = float(video.get("fps") or 25.0)
    duration = float(video.get("duration_s") or 0.0) or (max((int(t["last_frame"]) for t in tracks), default=0) + 1) / fps
    people = sorted(doc.get("people", []), key=lambda p: -p.get("screen_time_s", 0))
    if photos:
        people = sorted(doc.get("people", []), key=lambda p: (-p["num_faces"], p["id"]))
    title = Path(video.get("path", doc.get("root", folder.name))).name
    name_of = lambda pid: names.get(int(pid), f"person {int(pid)}")  # noqa: E731

    out = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>{_esc(title)} — facecluster</title>",
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'\">",
        f"<style>{CSS}</style></head><body>",
        f"<h1>Who appears in {_esc(title)}</h1>",
        (f"<div class=\"sub\">{len(people)} people · {doc.get('num_faces', 0)} faces in {doc.get('num_photos', 0)} photos"
         f"{' · ' + str(len(doc.get('skipped', []))) + ' files skipped' if doc.get('skipped') else ''}</div>") if photos else
        (f"<div class=\"sub\">{len(people)} people · {doc.get('num_tracks', len(tracks))} tracks · {doc.get('num_faces', 0)} faces · "
         f"{doc.get('num_shots', 0)} shots · {_clock(duration)} of video</div>"),
        "<h2>People</h2><div class=\"cards\">",
    ]
    if not people:
        out.append("<p>No faces were found in this video.</p>")
    for p in people:
        colour = PERSON_COLOURS[p["id"] % len(PERSON_COLOURS)]
        chips = "".join(f'<img src="{_src(c)}" alt="{_esc(name_of(p["id"]))}" loading="lazy">' for c in p.get("chips", [])[:6])
        if photos:
            files = "".join(f"<li>{_esc(f)}</li>" for f in p.get("files", [])[:5])
            more = f"<li>… {len(p['files']) - 5} more</li>" if len(p.get("files", [])) > 5 else ""
            out.append(
                f'<div class="card" id="person-{p["id"]}"><h3><span class="swatch" style="background:{colour}"></span>'
                f'{_esc(name_of(p["id"]))}</h3><div class="chips">{chips}</div><div class="facts">'
                f'{p["num_faces"]} faces in {p["num_photos"]} photos<ul>{files}{more}</ul></div></div>'
            )
            continue
        share = 100.0 * p.get("screen_time_s", 0) / duration if duration else 0.0
        if p.get("clothing_chips"):
            # The clothing the grouping also looked at, under the same faces.
            clothes = "".join(f'<img src="{_src(c)}" alt="clothing of {_esc(name_of(p["id"]))}" loading="lazy">'
                              for c in p["clothing_chips"][:6])
            cue = doc.get("clothing_cue") or {}
            used = f"clothing, weighed {cue['weight']:.2f} within a scene" if cue.get("weight") else "clothing (not used: this video gave too little evidence)"
            chips += f'</div><div class="facts">{used}</div><div class="chips clothing">{clothes}'
        out.append(
            f'<div class="card" id="person-{p["id"]}"><h3><span class="swatch" style="background:{colour}"></span>'
            f'{_esc(name_of(p["id"]))}</h3><div class="chips">{chips}</div><div class="facts">'
            f'{p["num_tracks"]} tracks · {p["num_faces"]} faces<br>on screen {p["screen_time_s"]:.1f} s ({share:.1f}% of the video)<br>'
            f'first {_clock(p["first_appearance_s"])} · last {_clock(p["last_appearance_s"])}</div></div>'
        )
    out.append("</div>")
    if not photos:
        out.append("<h2>Timeline</h2>")
        out.append(_timeline(people, tracks, doc.get("shots", []), fps, duration, names))
    if doc.get("skipped"):
        out.append("<h2>Files skipped</h2><ul>")
        out += [f"<li>{_esc(s['file'])}: {_esc(s['problem'])}</li>" for s in doc["skipped"]]
        out.append("</ul>")
    doubt = doc.get("uncertain", {})
    pairs, far = doubt.get("close_pairs", []), doubt.get("far_tracks", [])
    if pairs or far:
        out.append("<h2>Where the tool was least sure</h2>")
    if pairs:
        out.append("<p>Pairs of people whose faces are closest — perhaps one person split in two:</p><div class=\"doubt\">")
        for pr in pairs:
            a, b = pr["people"]
            imgs = "".join(f'<img src="{_src(c)}" alt="">' for c in pr.get("chips", []))
            out.append(f'<div class="pair"><div class="two">{imgs}</div>{_esc(name_of(a))} and {_esc(name_of(b))}: distance {pr["distance"]:.2f}</div>')
        out.append("</div>")
    if far:
        out.append("<p>Tracks that sit farthest from the rest of their person:</p><div class=\"doubt\">")
        for tr in far:
            img = f'<img src="{_src(tr["chip"])}" alt="">' if tr.get("chip") else ""
            out.append(f'<div class="track">{img}track {int(tr["track_id"])} in {_esc(name_of(tr["person"]))}: distance {tr["distance"]:.2f}</div>')
        out.append("</div>")
    out.append("<h2>Parameters and timings</h2><table><tr><th>parameter</th><th>value</th></tr>")
    for k, v in doc.get("parameters", {}).items():
        out.append(f"<tr><td>{_esc(k)}</td><td>{_esc(v)}</td></tr>")
    timings = json.loads((folder / "timings.json").read_text()) if (folder / "timings.json").is_file() else {}
    for k, v in timings.items():
        out.append(f"<tr><td>time: {_esc(k)}</td><td>{float(v):.1f} s</td></tr>")
    out.append(f"<tr><td>facecluster</td><td>{_esc(doc.get('facecluster_version', ''))}</td></tr></table>")
    out.append("</body></html>\n")
    path = folder / "report.html"
    atomic_write_text(path, "".join(out))
    return path


def render_index(out_root: str | Path, folders: list[Path]) -> Path:
    """``OUT/index.html`` linking each video's report."""
    out_root = Path(out_root)
    rows = []
    for f in folders:
        doc_path = f / "clusters.json"
        if not doc_path.is_file():
            continue
        doc = json.loads(doc_path.read_text(encoding="utf-8"))
        rel = quote(f"{f.name}/report.html")
        rows.append(
            f'<tr><td><a href="{_esc(rel)}">{_esc(Path(doc["video"]["path"]).name)}</a></td>'
            f'<td>{doc["num_people"]}</td><td>{doc["num_tracks"]}</td><td>{_clock(doc["video"]["duration_s"])}</td></tr>'
        )
    page = (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>facecluster — videos</title>"
        f"<style>{CSS}</style></head><body><h1>Videos</h1>"
        + ('<p><a href="people.html">People across all videos</a></p>' if (out_root / "people.json").is_file() else "")
        + "<table><tr><th>video</th><th>people</th><th>tracks</th><th>length</th></tr>"
        + "".join(rows) + "</table></body></html>\n"
    )
    path = out_root / "index.html"
    atomic_write_text(path, page)
    return path


def render_people_page(out_root: str | Path, doc: dict, chips: dict[tuple[str, int], str], reports: dict[str, str]) -> Path:
    """``OUT/people.html``: one card per collection person (from ``people.json``'s ``doc``),
    with a face from each source they appear in and links to those sources' reports."""
    out_root = Path(out_root)
    cards = []
    for person in doc["people"]:
        faces, lines = [], []
        for a in person["appearances"]:
            chip = chips.get((a["source"], a["person"]))
            if chip and (out_root / chip).is_file():
                faces.append(f'<img src="{_src(chip)}" alt="{_esc(a["source"])} person {a["person"]}" loading="lazy">')
            time_text = f", {_clock(a['screen_time_s'])}" if a["screen_time_s"] else ""
            link = reports.get(a["source"], "")
            target = f'<a href="{_src(link)}">{_esc(a["source"])}</a>' if link else _esc(a["source"])
            lines.append(f"<li>{target}: person {a['person']} ({a['faces']} faces{time_text})</li>")
        total = f", {_clock(person['screen_time_s'])} on screen" if person["screen_time_s"] else ""
        cards.append(
            f'<div class="card"><h3>Person {person["id"]}</h3><div class="chips">{"".join(faces[:6])}</div>'
            f'<div class="facts">in {person["num_sources"]} of {len(doc["sources"])} · {person["faces"]} faces{total}'
            f'<ul>{"".join(lines)}</ul></div></div>'
        )
    page = (
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>facecluster — people of the collection</title>"
        f"<style>{CSS}</style></head><body><h1>People of the collection</h1>"
        f'<div class="sub">{len(doc["people"])} people across {len(doc["sources"])} sources; people of one source are never joined; '
        f'people of different sources are joined when their faces agree (threshold {doc["linking"]["threshold"]}).</div>'
        f'<div class="cards">{"".join(cards)}</div></body></html>\n'
    )
    path = out_root / "people.html"
    atomic_write_text(path, page)
    return path
