"""Write benchmarks/devset/SOURCES.md from the dev suite's own READMEs: source, commit, licence, processing, size
and SHA-256 of every clip and photo set (each clip's ground-truth README starts with ``kind:``, ``source:``,
``licence:``, ``content:`` and ``processing:`` lines; each photo set's README has ``- source:`` and ``- licence:``).

    python tools/devset_sources.py
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

DEVSET = Path(__file__).resolve().parents[1] / "benchmarks" / "devset"


def header(readme: Path) -> dict[str, str]:
    """The ``key: value`` lines of a README (bulleted or not; a value may continue on indented lines)."""
    out: dict[str, str] = {}
    key = None
    for line in readme.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^(?:- )?(kind|source|licence|content|processing):\s*(.*)$", line)
        if m:
            key = m.group(1)
            out.setdefault(key, m.group(2).strip())
        elif key and line.startswith("  ") and not line.strip().startswith("-"):
            out[key] += " " + line.strip()
        else:
            key = None
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cell(text: str) -> str:
    return text.replace("|", "\\|")


def main() -> None:
    lines = ["# Sources of the dev suite", "",
             "Benchmark data, not package data (the wheel does not ship it). Every file, where it came from (public "
             "repository, path, commit), its licence as the repository states it, and what was done to it. Written by "
             "`tools/devset_sources.py` from each set's README; the READMEs under `gt/<clip>/` and `photos/<set>/` "
             "say how each was labelled. Where no licence is stated, the footage's rights lie with its producers: "
             "it is used here as internal dev data for measurement only.", "",
             "## Clips (`video/<clip>.mp4`, ground truth in `gt/<clip>/`)", "",
             "| clip | kind | source @ commit | licence | content | processing | bytes | sha256 |", "|---|---|---|---|---|---|---|---|"]
    for readme in sorted((DEVSET / "gt").glob("*/README.md")):
        name = readme.parent.name
        video = DEVSET / "video" / f"{name}.mp4"
        h = header(readme)
        lines.append(f"| {name} | {cell(h.get('kind', '?'))} | {cell(h.get('source', '?'))} | {cell(h.get('licence', '?'))} | "
                     f"{cell(h.get('content', ''))} | {cell(h.get('processing', ''))} | {video.stat().st_size:,} | "
                     f"`{sha256(video)[:16]}…` |")
    lines += ["", "## Photo sets (`photos/<set>/<Person>/`; each photo's largest face is the folder's person)", "",
              "| set | people | photos | source @ commit | licence | bytes |", "|---|---|---|---|---|---|"]
    for readme in sorted((DEVSET / "photos").glob("*/README.md")):
        folder = readme.parent
        h = header(readme)
        people = [d for d in folder.iterdir() if d.is_dir()]
        photos = [f for d in people for f in d.iterdir() if f.is_file()]
        listing = folder / "provenance.csv"
        note = f" (every file's source path in `{folder.name}/provenance.csv`)" if listing.is_file() else ""
        lines.append(f"| {folder.name} | {len(people)} | {len(photos)} | {cell(h.get('source', '?'))}{note} | "
                     f"{cell(h.get('licence', '?'))} | {sum(f.stat().st_size for f in photos):,} |")
    (DEVSET / "SOURCES.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    media = sorted(p for p in DEVSET.rglob("*") if p.is_file() and p.suffix.lower() in {".mp4", ".jpg", ".jpeg", ".png", ".webp"})
    (DEVSET / "SHA256SUMS").write_text("".join(f"{sha256(p)}  {p.relative_to(DEVSET).as_posix()}\n" for p in media), encoding="utf-8")
    print(DEVSET / "SOURCES.md")


if __name__ == "__main__":
    main()
