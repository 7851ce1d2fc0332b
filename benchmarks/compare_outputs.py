"""Same inputs, same outputs? Runs facecluster on the dev clips and photo sets and
compares ``faces.csv``, ``tracks.csv`` and ``clusters.json`` byte for byte.

    python benchmarks/compare_outputs.py snapshot OUT      # run everything into OUT
    python benchmarks/compare_outputs.py diff OLD NEW      # compare two snapshots (exit 1 on any difference)

Take a snapshot on the commit before a change and one after it; a refactoring
must give ``identical`` for every file. Data from ``$FACECLUSTER_DATA`` or
``../shared/data``.
"""
from __future__ import annotations

import filecmp
import subprocess
import sys
from pathlib import Path

from datasets import data_root  # noqa: E402  (benchmarks/ is the script's folder)

COMPARED = ("faces.csv", "tracks.csv", "clusters.json")


def snapshot(out: Path) -> None:
    data = data_root()
    exe = [sys.executable, "-m", "facecluster"]
    videos = [data / "video" / "short_hamilton_clip.mp4", data / "video" / "sweden.mp4"]
    subprocess.run(exe + ["run", *map(str, videos), "-o", str(out / "videos"), "--force"], check=True)
    for name in ("five_celebrities", "celebs11"):
        subprocess.run(exe + ["images", str(data / "faces" / name), "-o", str(out / "photos")], check=True)


def diff(old: Path, new: Path) -> int:
    different = 0
    for path in sorted(old.rglob("*")):
        if path.name not in COMPARED or "cache" in path.parts:
            continue
        other = new / path.relative_to(old)
        same = other.exists() and filecmp.cmp(path, other, shallow=False)
        different += not same
        print(f"{'identical' if same else 'DIFFERENT'}  {path.relative_to(old)}")
    if not any(p.name in COMPARED for p in old.rglob("*")):
        print(f"{old}: no outputs to compare")
        return 1
    return 1 if different else 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "snapshot":
        snapshot(Path(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "diff":
        sys.exit(diff(Path(sys.argv[2]), Path(sys.argv[3])))
    else:
        sys.exit(__doc__)
