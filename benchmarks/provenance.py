"""Which code made a result: every file a benchmark writes under benchmarks/results/ names its commit."""
from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def commit(where: Path = HERE) -> str:
    """HEAD's hash of the repository holding ``where``, marked when tracked files have uncommitted changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=where, capture_output=True,
                               text=True).stdout.strip()
        return head + (" (with uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_markdown(path: Path, text: str, script: str) -> None:
    """``text`` with a closing line that names the script, the commit and the date."""
    stamp = f"Made by `benchmarks/{script}` at commit {commit()} on {time.strftime('%Y-%m-%d %H:%M')}."
    Path(path).write_text(text.rstrip("\n") + "\n\n" + stamp + "\n")


def write_json(path: Path, payload, script: str) -> None:
    """``{"script", "commit", "date", "results": payload}``."""
    doc = {"script": f"benchmarks/{script}", "commit": commit(), "date": time.strftime("%Y-%m-%d %H:%M"), "results": payload}
    Path(path).write_text(json.dumps(doc, indent=2) + "\n")
