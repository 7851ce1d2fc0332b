"""Domain exceptions. Each carries a one-line, user-facing message."""
from __future__ import annotations

from pathlib import Path


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
