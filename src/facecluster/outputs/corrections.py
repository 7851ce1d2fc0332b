"""A user's corrections of one video's clustering (``OUT/<stem>/corrections.json``), applied on top of it.

Written by the review page (:mod:`facecluster.review`), one action at a time, and
applied whenever the folder's outputs are written, so a rerun (also with
``--force``) keeps them. Every action names *tracks*, never person ids (which a
rerun may renumber), and an action whose tracks no longer exist is skipped:

- ``{"op": "rename", "track": t, "name": "Ann"}``: the person holding track t is called Ann;
- ``{"op": "merge", "tracks": [...], "into_track": b}``: those tracks (one person's)
  join the person holding track b;
- ``{"op": "move", "track": t, "to_track": b}``: track t joins the person holding b
  (``"to_track": null``: it becomes a person of its own);
- ``{"op": "not_a_face", "track": t}``: track t is no one (person -1).

The file is never listed in the folder's manifest: a rerun does not remove it.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from facecluster.cache import atomic_write_text
from facecluster.errors import InputError

FILE = "corrections.json"
OPS = ("rename", "merge", "move", "not_a_face")


def load_corrections(folder: str | Path) -> list[dict]:
    """The folder's actions, in order ([] where there is no file); one-line error for a malformed file."""
    path = Path(folder) / FILE
    if not path.is_file():
        return []
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(path, f"not JSON ({exc})") from None
    actions = doc.get("actions") if isinstance(doc, dict) else None
    if not isinstance(actions, list):
        raise InputError(path, 'expected {"version": 1, "actions": [...]}')
    for k, action in enumerate(actions):
        check_action(action, f"{path}: action {k + 1}")
    return actions


def check_action(action, where: str) -> None:
    """Raise InputError (naming ``where``) unless ``action`` is a well-formed action."""
    def bad(problem: str):
        return InputError(where, problem)

    if not isinstance(action, dict) or action.get("op") not in OPS:
        raise bad(f"op must be one of {', '.join(OPS)}")
    track_fields = {"rename": ["track"], "merge": ["into_track"], "move": ["track"], "not_a_face": ["track"]}[action["op"]]
    for field in track_fields:
        if not isinstance(action.get(field), int) or action[field] < 0:
            raise bad(f"{field} must be a track id (here: {action.get(field)!r})")
    if action["op"] == "rename" and not isinstance(action.get("name"), str):
        raise bad("name must be a string")
    if action["op"] == "merge" and not (isinstance(action.get("tracks"), list) and all(isinstance(t, int) for t in action["tracks"])):
        raise bad("tracks must be a list of track ids")
    if action["op"] == "move" and not (action.get("to_track") is None or (isinstance(action["to_track"], int) and action["to_track"] >= 0)):
        raise bad("to_track must be a track id or null")


def add_action(folder: str | Path, action: dict) -> list[dict]:
    """Append one action to the folder's corrections.json (written atomically); returns all actions."""
    check_action(action, f"{Path(folder) / FILE}: new action")
    actions = load_corrections(folder) + [action]
    atomic_write_text(Path(folder) / FILE, json.dumps({"version": 1, "actions": actions}, indent=1) + "\n")
    return actions


def apply_corrections(track_person: np.ndarray, actions: list[dict], first: np.ndarray, last: np.ndarray
                      ) -> tuple[np.ndarray, dict[int, str]]:
    """(T,) person of each track after the actions, renumbered by screen time as the clustering is, and
    person → name from the renames. first, last: (T,) first and last frame of each track."""
    from facecluster.cluster.tracks import order_by_screen_time

    labels = np.asarray(track_person, np.int64).copy()
    T = len(labels)
    named: list[tuple[int, str]] = []  # (anchor track, name), in order: a later rename wins

    def exists(t) -> bool:
        return isinstance(t, int) and 0 <= t < T

    for a in actions:
        op = a["op"]
        if op == "rename" and exists(a["track"]):
            named.append((a["track"], a["name"].strip()))
        elif op == "merge" and exists(a["into_track"]) and labels[a["into_track"]] >= 0:
            moved = [t for t in a["tracks"] if exists(t)]
            labels[moved] = labels[a["into_track"]]
        elif op == "move" and exists(a["track"]):
            to = a.get("to_track")
            if to is None:
                labels[a["track"]] = labels.max(initial=-1) + 1
            elif exists(to) and labels[to] >= 0:
                labels[a["track"]] = labels[to]
        elif op == "not_a_face" and exists(a["track"]):
            labels[a["track"]] = -1
    labels = order_by_screen_time(labels, first, last)
    names: dict[int, str] = {}
    for t, name in named:
        if labels[t] >= 0:
            names[int(labels[t])] = name  # an empty name removes an earlier one
    return labels, {p: n for p, n in names.items() if n}


def corrected(result, folder: str | Path):
    """A finished ``VideoResult`` with the folder's corrections applied, and person → name from them."""
    from dataclasses import replace

    from facecluster.video.tracking import track_spans

    actions = load_corrections(folder)
    if not actions:
        return result, {}
    first, last = track_spans(result.tracks, result.detections)
    person, names = apply_corrections(result.track_person, actions, first, last)
    return replace(result, track_person=person), names
