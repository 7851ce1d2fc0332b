"""Label a dev-suite clip by eye: detect on every frame, track, draw contact sheets, turn labels into ground truth.

    python tools/label_devset.py prepare CLIP.mp4 --work WORK      # detect + track every frame, shots, sheets, labels.csv
    python tools/label_devset.py sheets --work WORK                # redraw the sheets (after editing WORK/shots.csv)
    python tools/label_devset.py zoom --work WORK --track N        # one track, every few frames, wide context
    python tools/label_devset.py build --work WORK --out GT_DIR    # labels.csv -> GT_DIR/{shots,tracks,faces}.csv + identity sheets

``prepare`` runs ``facecluster run CLIP --detect-every 1 --full-frame-every 1 --learn none`` into ``WORK/run`` (CenterFace
on every frame, the tool's tracker, tracks of < 5 faces dropped, faces < 16 px never detected) and writes:

- ``WORK/shots.csv`` (shot,first_frame,last_frame): the detected shots; edit it where a cut is missed or wrong;
- ``WORK/sheets/cuts_*.png``: the two frames either side of every cut; ``WORK/sheets/shots_*.png``: the first, middle
  and last frame of every shot (a missed cut shows as a shot whose frames differ);
- ``WORK/sheets/tracks_*.png``: a row per track: six faces spread over it and its middle frame with the box;
- ``WORK/labels.csv``: ``track_id,label,first_frame,last_frame`` with the labels blank (the frame columns are optional:
  several rows for one track, each with a frame range, split a track that holds two people).

``build`` keeps only the detected faces (no interpolated box), splits every track at the cuts of ``WORK/shots.csv``,
applies the labels (``false``: not a face; ``unsure``: not scored), and writes the ground truth in the format of
``../shared/data/video/gt/`` plus ``WORK/sheets/identity_*.png`` (three faces of each track of each label) for the
second look. Tracks left unlabelled are an error: every track gets a label.
"""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import cv2
import numpy as np

TILE = 96           # face tile side, px
CONTEXT_W = 200     # width of the in-context frame thumbnail, px
ROWS_PER_SHEET = 12
FACES_PER_ROW = 6


def _run_dir(work: Path) -> Path:
    runs = [p for p in (work / "run").iterdir() if (p / "faces.csv").is_file()]
    if len(runs) != 1:
        sys.exit(f"{work}/run: expected one finished run folder, found {len(runs)}")
    return runs[0]


def _read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _write_csv(path: Path, header: list[str], rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    tmp.replace(path)


def detected_faces(work: Path) -> dict[int, list[dict]]:
    """Track id -> its detected faces (rows of the run's faces.csv with a score > 0), by frame."""
    tracks: dict[int, list[dict]] = defaultdict(list)
    for r in _read_csv(_run_dir(work) / "faces.csv"):
        if float(r["score"]) > 0:
            tracks[int(r["track_id"])].append(
                {"frame": int(r["frame"]), "box": tuple(float(r[k]) for k in ("x1", "y1", "x2", "y2")), "score": float(r["score"])})
    for faces in tracks.values():
        faces.sort(key=lambda f: f["frame"])
    return dict(sorted(tracks.items()))


def read_shots(work: Path) -> list[tuple[int, int]]:
    shots = [(int(r["first_frame"]), int(r["last_frame"])) for r in _read_csv(work / "shots.csv")]
    for (a0, a1), (b0, _) in zip(shots, shots[1:]):
        if b0 != a1 + 1 or a1 < a0:
            sys.exit(f"{work / 'shots.csv'}: shots must be contiguous and in order (… {a0}-{a1} then {b0} …)")
    return shots


def shot_of(frame: int, shots: list[tuple[int, int]]) -> int:
    starts = np.asarray([a for a, _ in shots])
    return int(np.searchsorted(starts, frame, side="right") - 1)


class FrameGrabber:
    """Collects crops and thumbnails of chosen frames in one sequential decode (cv2, decode order = frame index)."""

    def __init__(self) -> None:
        self.wanted: dict[int, list[tuple[str, tuple, float, int]]] = defaultdict(list)
        self.images: dict[str, np.ndarray] = {}

    def crop(self, key: str, frame: int, box: tuple, context: float = 1.6, size: int = TILE) -> None:
        self.wanted[frame].append((key, box, context, size))

    def thumb(self, key: str, frame: int, box: tuple | None = None, width: int = CONTEXT_W) -> None:
        self.wanted[frame].append((key, box, -1.0, width))

    def run(self, video: Path) -> None:
        cap = cv2.VideoCapture(str(video))
        last = max(self.wanted) if self.wanted else -1
        i = 0
        while i <= last:
            ok, img = cap.read()
            if not ok:
                break
            for key, box, context, size in self.wanted.get(i, []):
                self.images[key] = _thumb(img, box, size, i) if context < 0 else _crop(img, box, context, size)
            i += 1
        cap.release()


def _crop(img: np.ndarray, box: tuple, context: float, size: int) -> np.ndarray:
    x1, y1, x2, y2 = box
    cx, cy, s = (x1 + x2) / 2, (y1 + y2) / 2, max(x2 - x1, y2 - y1) * context / 2
    h, w = img.shape[:2]
    a0, a1, b0, b1 = int(round(cx - s)), int(round(cx + s)), int(round(cy - s)), int(round(cy + s))
    pad = max(0, -a0, -b0, a1 - w, b1 - h)
    padded = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(40, 40, 40)) if pad else img
    patch = padded[b0 + pad:b1 + pad, a0 + pad:a1 + pad].copy()
    k = patch.shape[0] / max(2 * s, 1)
    cv2.rectangle(patch, (int((x1 - cx + s) * k), int((y1 - cy + s) * k)), (int((x2 - cx + s) * k), int((y2 - cy + s) * k)),
                  (0, 255, 0), 1)
    return _lift(cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA if patch.shape[0] > size else cv2.INTER_CUBIC))


def _lift(tile: np.ndarray) -> np.ndarray:
    """Dark tiles brightened (gamma from their mean grey level), so faces in low light can be told apart."""
    mean = float(tile.mean())
    if mean >= 90:
        return tile
    gamma = np.log(110 / 255) / np.log(max(mean, 5) / 255)
    return (255 * (tile / 255.0) ** gamma).clip(0, 255).astype(np.uint8)


def _thumb(img: np.ndarray, box: tuple | None, width: int, frame: int) -> np.ndarray:
    out = img.copy()
    if box is not None:
        cv2.rectangle(out, (int(box[0]), int(box[1])), (int(box[2]), int(box[3])), (0, 255, 0), max(2, img.shape[1] // 300))
    h = int(round(img.shape[0] * width / img.shape[1]))
    out = cv2.resize(out, (width, h), interpolation=cv2.INTER_AREA)
    cv2.putText(out, f"f{frame}", (3, h - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 255, 255), 1, cv2.LINE_AA)
    return out


def _spread(n: int, k: int) -> list[int]:
    return sorted(set(np.linspace(0, n - 1, min(n, k)).round().astype(int).tolist()))


def _caption(text: str, width: int) -> np.ndarray:
    bar = np.full((18, width, 3), 255, np.uint8)
    cv2.putText(bar, text, (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 1, cv2.LINE_AA)
    return bar


def _row(images: list[np.ndarray], height: int) -> np.ndarray:
    parts = [cv2.resize(im, (int(round(im.shape[1] * height / im.shape[0])), height)) if im.shape[0] != height else im for im in images]
    gap = np.full((height, 3, 3), 255, np.uint8)
    return np.hstack([x for p in parts for x in (p, gap)])


def _write_sheets(folder: Path, prefix: str, rows: list[np.ndarray]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob(f"{prefix}_*.png"):
        old.unlink()
    paths = []
    for s in range(0, len(rows), ROWS_PER_SHEET):
        chunk = rows[s:s + ROWS_PER_SHEET]
        width = max(r.shape[1] for r in chunk)
        chunk = [np.hstack([r, np.full((r.shape[0], width - r.shape[1], 3), 255, np.uint8)]) for r in chunk]
        path = folder / f"{prefix}_{s // ROWS_PER_SHEET:03d}.png"
        cv2.imwrite(str(path), np.vstack(chunk))
        paths.append(path)
    return paths


def _labelled_row(caption: str, tiles: list[np.ndarray]) -> np.ndarray:
    body = _row(tiles, TILE)
    return np.vstack([_caption(caption, body.shape[1]), body])


def draw_sheets(video: Path, work: Path) -> None:
    tracks = detected_faces(work)
    shots = read_shots(work)
    grab = FrameGrabber()
    for t, faces in tracks.items():
        for j in _spread(len(faces), FACES_PER_ROW):
            grab.crop(f"t{t}_{j}", faces[j]["frame"], faces[j]["box"])
        mid = faces[len(faces) // 2]
        grab.thumb(f"t{t}_ctx", mid["frame"], mid["box"])
    for s, (a, b) in enumerate(shots):
        for f in sorted({a, (a + b) // 2, b}):
            grab.thumb(f"s{s}_{f}", f, None, 160)
        if s > 0:
            for f in (a - 2, a - 1, a, a + 1):
                if 0 <= f:
                    grab.thumb(f"c{s}_{f}", f, None, 160)
    grab.run(video)
    sheets = work / "sheets"
    rows = []
    for t, faces in tracks.items():
        widths = [f["box"][2] - f["box"][0] for f in faces]
        shot = shot_of(faces[0]["frame"], shots)
        cross = " CROSSES A CUT" if shot_of(faces[-1]["frame"], shots) != shot else ""
        tiles = [grab.images[f"t{t}_{j}"] for j in _spread(len(faces), FACES_PER_ROW)]
        ctx = grab.images[f"t{t}_ctx"]
        tiles.append(cv2.resize(ctx, (int(ctx.shape[1] * TILE / ctx.shape[0]), TILE)))
        rows.append(_labelled_row(f"T{t}  shot {shot}  f{faces[0]['frame']}-{faces[-1]['frame']}  {len(faces)} faces  "
                                  f"median w {np.median(widths):.0f}px{cross}", tiles))
    made = _write_sheets(sheets, "tracks", rows)
    shot_rows = [_labelled_row(f"shot {s}: f{a}-{b}", [grab.images[f"s{s}_{f}"] for f in sorted({a, (a + b) // 2, b})])
                 for s, (a, b) in enumerate(shots)]
    made += _write_sheets(sheets, "shots", shot_rows)
    cut_rows = [_labelled_row(f"cut before shot {s} at f{a}: f{a - 2} f{a - 1} | f{a} f{a + 1}",
                              [grab.images[k] for f in (a - 2, a - 1, a, a + 1) if (k := f"c{s}_{f}") in grab.images])
                for s, (a, _) in enumerate(shots) if s > 0]
    made += _write_sheets(sheets, "cuts", cut_rows)
    print(f"{len(tracks)} tracks, {len(shots)} shots: {len(made)} sheets in {sheets}")


def prepare(video: Path, work: Path, facecluster: str) -> None:
    work.mkdir(parents=True, exist_ok=True)
    subprocess.run([facecluster, "run", str(video), "-o", str(work / "run"), "--detect-every", "1", "--full-frame-every", "1",
                    "--learn", "none", "--cues", "face"], check=True)
    doc = json.loads((_run_dir(work) / "clusters.json").read_text())
    (work / "video.txt").write_text(str(video.resolve()) + "\n")
    if not (work / "shots.csv").exists():
        _write_csv(work / "shots.csv", ["shot", "first_frame", "last_frame"], ([s, a, b] for s, (a, b) in enumerate(doc["shots"])))
    if not (work / "labels.csv").exists():
        _write_csv(work / "labels.csv", ["track_id", "label", "first_frame", "last_frame"],
                   ([t, "", "", ""] for t in detected_faces(work)))
    draw_sheets(video, work)


def zoom(video: Path, work: Path, track: int, count: int = 24) -> None:
    faces = detected_faces(work).get(track)
    if not faces:
        sys.exit(f"no track {track} in {work}")
    grab = FrameGrabber()
    picks = _spread(len(faces), count)
    for j in picks:
        grab.crop(f"z{j}", faces[j]["frame"], faces[j]["box"], context=2.8, size=160)
    grab.run(video)
    rows = [_labelled_row("  ".join(f"f{faces[j]['frame']}" for j in picks[s:s + 6]), [grab.images[f"z{j}"] for j in picks[s:s + 6]])
            for s in range(0, len(picks), 6)]
    for p in _write_sheets(work / "sheets", f"zoom_T{track}", rows):
        print(p)


def _label_rows(work: Path) -> dict[int, list[tuple[str, int, int]]]:
    out: dict[int, list[tuple[str, int, int]]] = defaultdict(list)
    for r in _read_csv(work / "labels.csv"):
        label = (r.get("label") or "").strip()
        lo = int(r["first_frame"]) if (r.get("first_frame") or "").strip() else -1
        hi = int(r["last_frame"]) if (r.get("last_frame") or "").strip() else 10 ** 9
        out[int(r["track_id"])].append((label, lo, hi))
    return out


def build(video: Path, work: Path, out: Path) -> None:
    tracks = detected_faces(work)
    shots = read_shots(work)
    labels = _label_rows(work)
    problems = [f"track {t}: no label" for t in tracks if not labels.get(t) or any(not lab for lab, _, _ in labels[t])]
    faces_out, pieces = [], defaultdict(list)  # (old track, label, shot) -> faces
    for t, faces in tracks.items():
        for f in faces:
            hits = [lab for lab, lo, hi in labels.get(t, []) if lo <= f["frame"] <= hi]
            if len(hits) != 1:
                problems.append(f"track {t} frame {f['frame']}: {len(hits)} labels apply")
                continue
            pieces[(t, hits[0], shot_of(f["frame"], shots))].append(f)
    if problems:
        sys.exit("labels.csv is incomplete:\n  " + "\n  ".join(problems[:30]))
    split = sorted({t for (t, _, _) in pieces if sum(1 for k in pieces if k[0] == t) > 1})
    order = sorted(pieces, key=lambda k: (pieces[k][0]["frame"], k[0]))
    track_rows = []
    for new_id, key in enumerate(order):
        _, label, shot = key
        fs = pieces[key]
        track_rows.append([new_id, shot, fs[0]["frame"], fs[-1]["frame"], len(fs), label])
        faces_out += [[f["frame"], new_id, *(f"{v:.1f}" for v in f["box"]), f"{f['score']:.3f}", label] for f in fs]
    faces_out.sort(key=lambda r: (r[0], r[1]))
    _write_csv(out / "shots.csv", ["shot", "first_frame", "last_frame"], ([s, a, b] for s, (a, b) in enumerate(shots)))
    _write_csv(out / "tracks.csv", ["track_id", "shot", "first_frame", "last_frame", "n_frames", "label"], track_rows)
    _write_csv(out / "faces.csv", ["frame", "track_id", "x1", "y1", "x2", "y2", "score", "label"], faces_out)
    # Identity sheets: three faces of every track of a label, for the second look.
    grab = FrameGrabber()
    for new_id, key in enumerate(order):
        fs = pieces[key]
        for j in _spread(len(fs), 3):
            grab.crop(f"i{new_id}_{j}", fs[j]["frame"], fs[j]["box"])
    grab.run(video)
    by_label: dict[str, list[int]] = defaultdict(list)
    for new_id, key in enumerate(order):
        by_label[key[1]].append(new_id)
    sheets = work / "sheets"
    for old in sheets.glob("identity_*.png"):
        old.unlink()
    for label, ids in sorted(by_label.items()):
        tiles_per_row = 4  # tracks per row, three faces each
        rows = []
        for s in range(0, len(ids), tiles_per_row):
            part = ids[s:s + tiles_per_row]
            tiles = [grab.images[f"i{i}_{j}"] for i in part for j in _spread(len(pieces[order[i]]), 3)]
            rows.append(_labelled_row(f"{label}: tracks " + " ".join(f"T{order[i][0]}>{i}" for i in part), tiles))
        _write_sheets(sheets, f"identity_{label}", rows)
    counts = defaultdict(lambda: [0, 0])
    for r in track_rows:
        counts[r[5]][0] += 1
        counts[r[5]][1] += r[4]
    print(f"{out}: {len(shots)} shots, {len(track_rows)} tracks, {len(faces_out)} faces; tracks split: {split or 'none'}")
    for label, (nt, nf) in sorted(counts.items()):
        print(f"  {label:32s} {nt:4d} tracks {nf:6d} faces")
    print(f"identity sheets: {sheets}/identity_*.png")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("prepare", help="detect + track every frame, shots, sheets, labels.csv")
    a.add_argument("video", type=Path)
    a.add_argument("--work", type=Path, required=True)
    a.add_argument("--facecluster", default=str(Path(sys.executable).with_name("facecluster")))
    for name, helptext in (("sheets", "redraw the sheets"), ("build", "labels.csv -> ground truth"), ("zoom", "one track, big")):
        s = sub.add_parser(name, help=helptext)
        s.add_argument("--work", type=Path, required=True)
        if name == "build":
            s.add_argument("--out", type=Path, required=True)
        if name == "zoom":
            s.add_argument("--track", type=int, required=True)
    args = p.parse_args(argv)
    if args.cmd == "prepare":
        prepare(args.video, args.work, args.facecluster)
        return
    video = Path((args.work / "video.txt").read_text().strip())
    if args.cmd == "sheets":
        draw_sheets(video, args.work)
    elif args.cmd == "zoom":
        zoom(video, args.work, args.track)
    else:
        build(video, args.work, args.out)


if __name__ == "__main__":
    main()
