"""Output-folder policy: what facecluster may write into, and what it refuses."""
from __future__ import annotations

from pathlib import Path

from facecluster.errors import InputError

# What facecluster writes into an output folder; anything else there is the user's.
OUR_ENTRIES = {"faces.csv", "tracks.csv", "clusters.json", "report.html", "timings.json", "faces.parquet", "names.json",
               "chips", "cache", "people", "report-screenshot.png"}


def check_output_folder(folder: Path, force: bool) -> None:
    """Refuse a folder that is a symbolic link, holds links among our entries, or holds
    files we did not write (the latter allowed with ``force``)."""
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
    foreign = [n for n in entries if n not in OUR_ENTRIES and not n.startswith(".")]
    if foreign and not force:
        shown = ", ".join(foreign[:3]) + (", …" if len(foreign) > 3 else "")
        raise InputError(folder, f"holds files facecluster did not write ({shown}); choose another -o or pass --force")
