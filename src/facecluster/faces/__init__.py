"""Faces: detection (:mod:`.detect`), alignment (:mod:`.align`) and embedding (:mod:`.embed`)."""
