"""Faces: detection (:mod:`.detect`), alignment (:mod:`.align`) and embedding (:mod:`.embed`)."""
from __future__ import annotations


def shipped_model(package: str, name: str, what: str) -> str:
    """Path of the model file ``name`` shipped in ``package``'s ``models/`` folder (``what``: for the error, e.g.
    "SFace model"); raises MissingDependencyError, naming the path, where it is missing."""
    from importlib import resources

    from facecluster.errors import MissingDependencyError

    path = resources.files(package) / "models" / name
    if not path.is_file():
        raise MissingDependencyError(f"{path}: {what} file missing; reinstall facecluster")
    return str(path)
