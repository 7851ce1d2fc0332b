"""Output-folder policy: what facecluster may write into, what it refuses, and what it may remove.

A run writes only into its own output folder, and removes only what an earlier
run wrote there itself: every folder facecluster writes keeps a manifest
(``.facecluster-manifest.json``) of the files it wrote, updated before each
batch of files is written, so that even an interrupted run leaves a manifest
that covers its files. Anything not listed there is the user's and is never
removed (files of our own names are overwritten only where the folder check
allowed it: an empty or our own folder, or ``--force``).
"""
from __future__ import annotations

import json
from pathlib import Path

from facecluster.cache import atomic_write_text
from facecluster.errors import InputError

MANIFEST = ".facecluster-manifest.json"
# What facecluster writes into an output folder; anything else there is the user's.
# corrections.json (the user's corrections from the review page) is ours but never in the manifest: no rerun removes it.
OUR_ENTRIES = {"faces.csv", "tracks.csv", "clusters.json", "report.html", "timings.json", "faces.parquet", "names.json",
               "chips", "cache", "people", "error.log", "corrections.json", MANIFEST}
# What a run over several inputs writes into the collection folder OUT itself.
COLLECTION_FILES = ("index.html", "people.json", "people.html", "people.db")


def _inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def check_output_folder(folder: Path, force: bool, *, inputs: list[Path] = ()) -> None:
    """Refuse a folder that is, or lies inside, one of the ``inputs`` folders; that is a
    symbolic link or holds links among our entries; or that holds files we did not
    write (the latter allowed with ``force``)."""
    for source in inputs:
        if source.is_dir() and _inside(folder, source):
            raise InputError(folder, f"output folder is inside the input folder {source}; choose an -o outside it")
    if folder.is_symlink():
        raise InputError(folder, "output folder is a symbolic link; refusing to write through it")
    if not folder.exists():
        return
    if not folder.is_dir():
        raise InputError(folder, "exists and is not a folder")
    entries = sorted(p.name for p in folder.iterdir())
    linked = [n for n in entries if n in OUR_ENTRIES and (folder / n).is_symlink()]
    if linked:
        raise InputError(folder / linked[0], "is a symbolic link; refusing to write through it")
    ours = {rel.split("/")[0] for rel in OutputFiles.read_manifest(folder)}
    foreign = [n for n in entries if n not in OUR_ENTRIES and n not in ours and not n.startswith(".")]
    if foreign and not force:
        shown = ", ".join(foreign[:3]) + (", …" if len(foreign) > 3 else "")
        raise InputError(folder, f"holds files facecluster did not write ({shown}); choose another -o or pass --force")


def check_collection_folder(out_root: Path, force: bool) -> None:
    """Refuse to overwrite ``index.html``/``people.*`` in OUT that an earlier run did not write (unless ``force``)."""
    ours = OutputFiles.read_manifest(out_root)
    for name in COLLECTION_FILES:
        path = out_root / name
        if path.is_symlink():
            raise InputError(path, "is a symbolic link; refusing to write through it")
        if path.exists() and name not in ours and not force:
            raise InputError(path, "was not written by facecluster; choose another -o or pass --force")


class OutputFiles:
    """The files one run writes into ``folder``, recorded in the folder's manifest.

    ``claim(rel, ...)`` records files before they are written; ``remove_previous()``
    removes what the previous run recorded (and nothing else); ``remove(rel)`` one
    recorded file. Paths are relative, with ``/``.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.previous = self.read_manifest(self.folder)
        self.current: set[str] = set()

    @staticmethod
    def read_manifest(folder: Path) -> set[str]:
        path = Path(folder) / MANIFEST
        try:
            files = json.loads(path.read_text(encoding="utf-8"))["files"]
        except (OSError, ValueError, KeyError, TypeError):
            return set()
        return {f for f in files if isinstance(f, str) and ".." not in Path(f).parts and not Path(f).is_absolute()}

    def _save(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.folder / MANIFEST, json.dumps({"files": sorted(self.previous | self.current)}, indent=1) + "\n")

    def claim(self, *rels: str) -> None:
        """Record files about to be written (one manifest update for all of them)."""
        new = set(rels) - self.current - self.previous
        self.current |= set(rels)
        if new:
            self._save()

    def remove(self, rel: str) -> None:
        """Remove one file that this or an earlier run recorded."""
        if rel in self.previous or rel in self.current:
            self._unlink(rel)
            self.previous.discard(rel)
            self.current.discard(rel)
            self._save()

    def remove_previous(self) -> None:
        """Remove the files the previous run recorded, then the folders they leave empty;
        anything else in the folder stays."""
        gone = self.previous - self.current
        for rel in sorted(gone):
            self._unlink(rel)
        self.previous -= gone
        self._save()

    def _unlink(self, rel: str) -> None:
        path = self.folder / rel
        if path.is_symlink() or path.is_file():
            path.unlink()
        parent = path.parent
        while parent != self.folder and self.folder in parent.parents:
            try:
                parent.rmdir()  # only if empty
            except OSError:
                break
            parent = parent.parent

