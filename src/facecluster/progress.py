"""Progress hooks. The library calls ``hook(stage, completed, total)``; the CLI shows bars."""
from __future__ import annotations

import sys


class TqdmProgress:
    """One tqdm bar per stage, on stderr; silent when stderr is not a terminal."""

    LABELS = {"shots": "shots", "detect": "detect faces", "embed": "embed faces", "learn": "learn", "cluster": "cluster"}

    def __init__(self, prefix: str = "", enabled: bool | None = None) -> None:
        self.prefix = prefix
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._stage: str | None = None
        self._bar = None

    def __call__(self, stage: str, completed: int, total: int | None) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        if stage != self._stage:
            self.close()
            label = self.LABELS.get(stage, stage)
            self._bar = tqdm(total=total, desc=f"{self.prefix}{label}", unit="", leave=False, file=sys.stderr)
            self._stage = stage
        if self._bar is not None:
            if total is not None and self._bar.total != total:
                self._bar.total = total
            self._bar.n = completed
            self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            self._stage = None
