"""``facecluster review OUT``: a local page to correct a run's clustering.

The page lists each person of a video with face crops and tracks: rename, merge
two people, move a track to another person or a new one, mark a track "not a
face". Each action is appended to ``OUT/<stem>/corrections.json`` at once
(:mod:`facecluster.outputs.corrections`), and the video's outputs are written again
from the run's cache with every correction applied — ``faces.csv``, ``tracks.csv``,
``clusters.json``, chips and ``report.html`` — and, where the run used a people
gallery, the gallery learns the change (names included).

Safety: the server binds 127.0.0.1 only; every request must carry the random
token of the URL it prints (others get 403); the page loads nothing from the
network (inline style and script under a Content-Security-Policy, images from
the output folder); files are served only from a video's ``chips/``. Standard
library only (``http.server``): a handful of routes needs no framework.
"""
from __future__ import annotations

import functools
import json
import os
import secrets
import threading
from dataclasses import fields
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from facecluster.errors import FaceclusterError, InputError

HOST = "127.0.0.1"


def video_folders(root: Path) -> dict[str, Path]:
    """Name → folder of every finished video output under ``root`` (``root`` itself if it is one)."""
    root = Path(root)
    if (root / "clusters.json").is_file():
        return {root.name: root}
    found = {p.name: p for p in sorted(root.iterdir()) if p.is_dir() and (p / "clusters.json").is_file()} if root.is_dir() else {}
    found = {n: p for n, p in found.items() if json.loads((p / "clusters.json").read_text(encoding="utf-8")).get("kind") != "photos"}
    if not found:
        raise InputError(root, "no finished video output here (a folder with clusters.json, or a run's OUT)")
    return found


def recompute(folder: Path) -> None:
    """Write ``folder``'s outputs again from its cache, with its corrections applied; update its gallery."""
    from facecluster.config import PipelineConfig
    from facecluster.jobs.gallery import apply_gallery, open_gallery
    from facecluster.jobs.videos import VideoOutcome
    from facecluster.outputs.corrections import corrected
    from facecluster.outputs.people import people_of_video
    from facecluster.outputs.video import write_video_outputs
    from facecluster.pipeline.video import run_video

    doc = json.loads((folder / "clusters.json").read_text(encoding="utf-8"))
    known = {f.name for f in fields(PipelineConfig)}
    params = {k: v for k, v in doc.get("parameters", {}).items() if k in known}
    params.setdefault("network", "dlib")  # outputs written before SFace was the default recorded no network: dlib's
    config = PipelineConfig(**params, workers=os.cpu_count() or 1)
    video = Path(doc["video"]["path"])
    result, names = corrected(run_video(video, folder, config), folder)
    write_video_outputs(result, folder, names=names)
    if doc.get("gallery"):
        outcome = VideoOutcome(video=video, folder=folder, people=people_of_video(result, folder.name))
        apply_gallery(open_gallery(folder / doc["gallery"], config.network), [outcome])  # relative to the folder, or absolute


class ReviewState:
    """The videos under review and the lock that serialises their changes."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.videos = video_folders(self.root)
        self.token = secrets.token_urlsafe(18)
        self.lock = threading.Lock()

    def page(self, name: str, message: str = "") -> str:
        import csv

        folder = self.videos[name]
        doc = json.loads((folder / "clusters.json").read_text(encoding="utf-8"))
        with open(folder / "tracks.csv", newline="", encoding="utf-8") as f:
            tracks = list(csv.DictReader(f))
        people = []
        for p in doc["people"]:
            own = sorted((t for t in tracks if int(t["person"]) == p["id"]), key=lambda t: int(t["track_id"]))
            if not own:
                continue
            anchor = max(own, key=lambda t: (int(t["n_faces"]), -int(t["track_id"])))["track_id"]
            people.append({"id": p["id"], "name": p.get("name") or f"person {p['id']}", "given": p.get("name"),
                           "anchor": int(anchor), "chips": p.get("chips", [])[:6],
                           "tracks": [{"track_id": int(t["track_id"]), "n_faces": int(t["n_faces"]),
                                       "time": f"{float(t.get('first_time_s') or 0):.1f}–{float(t.get('last_time_s') or 0):.1f} s"}
                                      for t in own]})
        not_faces = [{"track_id": int(t["track_id"]), "n_faces": int(t["n_faces"])} for t in tracks if int(t["person"]) < 0]
        return _template().render(title=Path(doc["video"]["path"]).name, video=name, videos=list(self.videos), token=self.token,
                                  nonce=secrets.token_urlsafe(12), people=people, not_faces=not_faces,
                                  num_tracks=len(tracks), message=message)

    def act(self, name: str, action: dict) -> None:
        from facecluster.outputs.corrections import add_action, check_action

        folder = self.videos[name]
        check_action(action, f"{folder}: action")
        with self.lock:
            add_action(folder, action)
            recompute(folder)


@functools.lru_cache(maxsize=1)
def _template():
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("facecluster.review", "templates"), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    return env.get_template("review.html")


def make_handler(state: ReviewState):
    class Handler(BaseHTTPRequestHandler):
        server_version = "facecluster-review"

        def log_message(self, format, *args) -> None:  # quiet: the terminal shows the URL and errors only
            pass

        def _authorised(self, query: dict) -> bool:
            given = (query.get("token") or [""])[0]
            return secrets.compare_digest(given.encode(), state.token.encode())

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, doc: dict) -> None:
            self._send(status, json.dumps(doc).encode(), "application/json")

        def _route(self):
            url = urlparse(self.path)
            query = parse_qs(url.query)
            if not self._authorised(query):
                self._send(HTTPStatus.FORBIDDEN, b"forbidden: open the URL that facecluster review printed\n", "text/plain")
                return None
            return [unquote(p) for p in url.path.split("/") if p]

        def do_GET(self) -> None:
            parts = self._route()
            if parts is None:
                return
            if not parts:
                parts = ["video", next(iter(state.videos))]
            if parts[0] == "video" and len(parts) == 2 and parts[1] in state.videos:
                self._send(HTTPStatus.OK, state.page(parts[1]).encode(), "text/html; charset=utf-8")
            elif parts[0] == "file" and len(parts) >= 3 and parts[1] in state.videos:
                folder = state.videos[parts[1]]
                path = (folder / "/".join(parts[2:])).resolve()
                chips = (folder / "chips").resolve()
                if chips in path.parents and path.suffix.lower() in (".jpg", ".png") and path.is_file():
                    self._send(HTTPStatus.OK, path.read_bytes(), "image/jpeg" if path.suffix.lower() == ".jpg" else "image/png")
                else:
                    self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")
            else:
                self._send(HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")

        def do_POST(self) -> None:
            parts = self._route()
            if parts is None:
                return
            if len(parts) != 2 or parts[0] != "api" or parts[1] not in state.videos:
                self._json(HTTPStatus.NOT_FOUND, {"error": "not found"})
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
                action = json.loads(self.rfile.read(min(length, 1 << 20)) or b"null")
                state.act(parts[1], action)
            except (ValueError, FaceclusterError) as exc:
                self._json(HTTPStatus.BAD_REQUEST, {"error": str(exc)})
                return
            self._json(HTTPStatus.OK, {"ok": True})

    return Handler


def make_server(root: str | Path, port: int = 0) -> tuple[ThreadingHTTPServer, ReviewState]:
    """A review server for ``root`` on 127.0.0.1:``port`` (0: a free port), not yet serving."""
    state = ReviewState(Path(root))
    server = ThreadingHTTPServer((HOST, port), make_handler(state))
    server.daemon_threads = True
    return server, state


def url_of(server: ThreadingHTTPServer, state: ReviewState) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}/?token={state.token}"
