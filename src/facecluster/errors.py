"""Domain exceptions. Each carries a one-line, user-facing message."""
from __future__ import annotations

import threading
from pathlib import Path

# Set by the command line's SIGINT handler. A Ctrl-C that lands inside an import can reach us as an ImportError
# (an extension module's initialisation replaces the KeyboardInterrupt), so an error seen after it is an interrupt.
_INTERRUPTED = threading.Event()


def note_interrupt() -> None:
    """Record that the user interrupted the run (SIGINT)."""
    _INTERRUPTED.set()


def interrupted() -> bool:
    """Whether the user has interrupted the run: an error raised since may only be its echo."""
    return _INTERRUPTED.is_set()


class FaceclusterError(Exception):
    """Base class of every error that the CLI reports as one line."""


class InputError(FaceclusterError):
    """An input file cannot be used; the message names the file and the problem."""

    def __init__(self, path: str | Path, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class ParameterError(FaceclusterError, ValueError):
    """A parameter is out of range; the message names the value."""


class MissingDependencyError(FaceclusterError, ImportError):
    """An optional dependency is missing; the message gives the pip command."""
