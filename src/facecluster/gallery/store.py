"""The people gallery: an SQLite file that remembers people across runs.

Tables (schema version in ``PRAGMA user_version``, the file marked as ours by
``PRAGMA application_id``):

- ``meta(key, value)``: ``network`` — the face network whose vectors the gallery
  holds (vectors of different networks are never compared), ``created``;
- ``people(id, name, created)``: a person; ``name`` is NULL until someone names them;
- ``refs(id, person_id, source, vector, dim, confirmed)``: a few reference
  descriptors per person (float32 blobs): the mean base descriptor of the person in
  one source (a video), ``confirmed`` when a user said so;
- ``ref_faces(ref_id, image)`` (schema 2): a few face crops (JPEG, the report's: a square of
  ``FACE_CONTEXT`` × the face box's longer side, the face in the middle) behind each reference, so
  that :meth:`Gallery.reembed` can describe them again with another network, names kept;
- ``appearances(id, person_id, source, source_person, faces, screen_time_s, updated)``:
  where each person was seen (``source_person``: the person id in that source's outputs).

Every change runs in one ``BEGIN IMMEDIATE`` transaction, so concurrent runs on one
gallery wait for each other (up to ``BUSY_TIMEOUT_S``) and never interleave. A file
that is not a gallery, is corrupt, or was written by a newer facecluster is refused
with a one-line error and left untouched: it is inspected read-only first.
"""
from __future__ import annotations

import contextlib
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facecluster.distances import l2_normalize
from facecluster.errors import InputError

SCHEMA_VERSION = 2
APPLICATION_ID = 0x46434C47  # "FCLG"
BUSY_TIMEOUT_S = 60.0
MAX_REFERENCES = 8  # per person; confirmed ones are kept first, then the newest
FACES_PER_REFERENCE = 4  # face crops kept behind each reference
FACE_CONTEXT = 1.6  # a stored crop's side ÷ the face box's longer side (facecluster.pipeline.crops.crop_face)

# Each entry brings a gallery of version i to version i + 1.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, created TEXT NOT NULL);
    CREATE TABLE refs (id INTEGER PRIMARY KEY, person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
                       source TEXT NOT NULL, vector BLOB NOT NULL, dim INTEGER NOT NULL, confirmed INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE appearances (id INTEGER PRIMARY KEY, person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
                              source TEXT NOT NULL, source_person INTEGER NOT NULL, faces INTEGER NOT NULL,
                              screen_time_s REAL NOT NULL, updated TEXT NOT NULL, UNIQUE (source, source_person));
    CREATE INDEX refs_person ON refs(person_id);
    CREATE INDEX appearances_person ON appearances(person_id);
    """,
    """
    CREATE TABLE ref_faces (id INTEGER PRIMARY KEY, ref_id INTEGER NOT NULL REFERENCES refs(id) ON DELETE CASCADE,
                            image BLOB NOT NULL);
    CREATE INDEX ref_faces_ref ON ref_faces(ref_id);
    """,
]


@dataclass
class GalleryPerson:
    id: int
    name: str | None
    created: str
    references: int
    sources: int
    faces: int
    screen_time_s: float


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())


def check_gallery_file(path: Path) -> None:
    """Refuse, read-only and with one line, a file that is no gallery of ours, is corrupt or is newer."""
    if not path.exists():
        if not path.parent.is_dir():
            raise InputError(path, f"cannot create a gallery here: no folder {path.parent}")
        return
    if not path.is_file():
        raise InputError(path, "is not a file (expected a facecluster gallery, an SQLite file)")
    try:
        with contextlib.closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
            app_id = db.execute("PRAGMA application_id").fetchone()[0]
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if app_id != APPLICATION_ID:
                raise InputError(path, "is not a facecluster gallery (not made by facecluster); left untouched")
            if version > SCHEMA_VERSION:
                raise InputError(path, f"was written by a newer facecluster (gallery schema {version}; this version reads "
                                       f"up to {SCHEMA_VERSION}); left untouched")
            problem = db.execute("PRAGMA quick_check").fetchone()[0]
            if problem != "ok":
                raise InputError(path, f"the gallery is corrupt ({problem}); left untouched")
    except sqlite3.DatabaseError as exc:
        raise InputError(path, f"is not a facecluster gallery or is corrupt (SQLite: {exc}); left untouched") from None


class Gallery:
    """One gallery file. ``Gallery(path, network)`` checks the file (creating it if absent) and that it holds
    ``network``'s vectors; ``network=None`` opens it whatever its network (to list, name or re-embed)."""

    def __init__(self, path: str | Path, network: str | None) -> None:
        self.path = Path(path)
        self.network = network
        check_gallery_file(self.path)
        with self._write() as db:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            for step in range(version, SCHEMA_VERSION):  # inside this one transaction: all steps or none
                for statement in filter(str.strip, MIGRATIONS[step].split(";")):
                    db.execute(statement)
                db.execute(f"PRAGMA user_version = {step + 1}")
            if version == 0:
                db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                if network is None:
                    raise InputError(self.path, "no such gallery")
                db.executemany("INSERT INTO meta VALUES (?, ?)", [("network", network), ("created", _now())])
            stored = db.execute("SELECT value FROM meta WHERE key = 'network'").fetchone()[0]
        self.stored_network = stored
        if network is not None and stored != network:
            from facecluster.faces.embed import network_of_id

            raise InputError(self.path, f"holds {stored} face vectors, and this run makes {network} ones, which cannot be "
                                        f"compared: move it with 'facecluster gallery {self.path} --reembed' (names kept), "
                                        f"or run with --network {network_of_id(stored) or stored}")

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        db.execute("PRAGMA foreign_keys = ON")
        return db

    @contextlib.contextmanager
    def _write(self):
        """A connection inside one immediate transaction: committed on success, rolled back on error."""
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            yield db
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    @contextlib.contextmanager
    def _read(self):
        db = self._connect()
        try:
            yield db
        finally:
            db.close()

    def people(self) -> list[GalleryPerson]:
        """Every person, by id."""
        with self._read() as db:
            rows = db.execute(
                """SELECT p.id, p.name, p.created,
                          (SELECT COUNT(*) FROM refs r WHERE r.person_id = p.id),
                          (SELECT COUNT(DISTINCT source) FROM appearances a WHERE a.person_id = p.id),
                          (SELECT COALESCE(SUM(faces), 0) FROM appearances a WHERE a.person_id = p.id),
                          (SELECT COALESCE(SUM(screen_time_s), 0) FROM appearances a WHERE a.person_id = p.id)
                   FROM people p ORDER BY p.id""").fetchall()
        return [GalleryPerson(*r) for r in rows]

    def names(self) -> dict[int, str]:
        with self._read() as db:
            return {int(i): str(n) for i, n in db.execute("SELECT id, name FROM people WHERE name IS NOT NULL")}

    def person_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(G,) person ids and (G, D) float32 L2-normalised mean of each person's references
        (people without references are left out)."""
        with self._read() as db:
            rows = db.execute("SELECT person_id, vector, dim FROM refs ORDER BY person_id, id").fetchall()
        if not rows:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        ids = np.array([r[0] for r in rows], np.int64)
        vectors = np.stack([np.frombuffer(r[1], np.float32, count=r[2]) for r in rows]).astype(np.float64)
        people, inverse = np.unique(ids, return_inverse=True)
        sums = np.zeros((len(people), vectors.shape[1]))
        np.add.at(sums, inverse, l2_normalize(vectors))
        return people, l2_normalize(sums).astype(np.float32)

    def rename(self, person_id: int, name: str | None) -> None:
        """Name a person (None or '' removes the name)."""
        with self._write() as db:
            if db.execute("SELECT 1 FROM people WHERE id = ?", (int(person_id),)).fetchone() is None:
                raise InputError(self.path, f"no person {person_id} in this gallery")
            db.execute("UPDATE people SET name = ? WHERE id = ?", ((name or "").strip() or None, int(person_id)))

    def record_source(self, source: str, people: list[dict]) -> dict[int, int]:
        """Record one source's people, replacing what an earlier run of that source recorded.

        people: one dict per person of the source: ``person`` (its id in the source),
        ``gallery_id`` (the gallery person it was matched to, or None for a new one),
        ``vector`` (D,) mean base descriptor, ``faces``, ``screen_time_s``, and optionally ``images``: JPEG bytes
        of a few of its face crops (see ``ref_faces``).
        Returns source person → gallery person id (new people get new ids)."""
        out: dict[int, int] = {}
        now = _now()
        with self._write() as db:
            db.execute("DELETE FROM appearances WHERE source = ?", (source,))
            db.execute("DELETE FROM refs WHERE source = ? AND confirmed = 0", (source,))
            for p in people:
                gid = p.get("gallery_id")
                if gid is None or db.execute("SELECT 1 FROM people WHERE id = ?", (int(gid),)).fetchone() is None:
                    gid = db.execute("INSERT INTO people (name, created) VALUES (NULL, ?)", (now,)).lastrowid
                vector = np.ascontiguousarray(p["vector"], np.float32)
                ref = db.execute("INSERT INTO refs (person_id, source, vector, dim, confirmed) VALUES (?, ?, ?, ?, 0)",
                                 (gid, source, vector.tobytes(), len(vector))).lastrowid
                db.executemany("INSERT INTO ref_faces (ref_id, image) VALUES (?, ?)",
                               [(ref, bytes(image)) for image in list(p.get("images") or [])[:FACES_PER_REFERENCE]])
                db.execute("INSERT INTO appearances (person_id, source, source_person, faces, screen_time_s, updated) "
                           "VALUES (?, ?, ?, ?, ?, ?)", (gid, source, int(p["person"]), int(p["faces"]), float(p["screen_time_s"]), now))
                self._trim_references(db, gid)
                out[int(p["person"])] = int(gid)
            # People left with neither references nor appearances nor a name (their only source was rerun) go.
            db.execute("""DELETE FROM people WHERE name IS NULL
                          AND id NOT IN (SELECT person_id FROM refs) AND id NOT IN (SELECT person_id FROM appearances)""")
        return out

    def reembed(self, network: str, describe) -> dict:
        """Move the gallery to ``network``'s vectors: each reference becomes ``describe(images)`` of its stored face
        crops (``images``: JPEG bytes; returns the (D,) descriptor), in one transaction. References without crops
        (recorded before schema 2) cannot be moved and are dropped; people, names and appearances all stay.
        Returns counts: ``moved``, ``dropped`` references, and the ``from`` and ``to`` networks."""
        with self._write() as db:
            stored = db.execute("SELECT value FROM meta WHERE key = 'network'").fetchone()[0]
            refs = [r[0] for r in db.execute("SELECT id FROM refs ORDER BY id")]
            moved = dropped = 0
            for ref in refs:
                images = [r[0] for r in db.execute("SELECT image FROM ref_faces WHERE ref_id = ? ORDER BY id", (ref,))]
                if not images:
                    db.execute("DELETE FROM refs WHERE id = ?", (ref,))
                    dropped += 1
                    continue
                vector = np.ascontiguousarray(describe(images), np.float32)
                db.execute("UPDATE refs SET vector = ?, dim = ? WHERE id = ?", (vector.tobytes(), len(vector), ref))
                moved += 1
            db.execute("UPDATE meta SET value = ? WHERE key = 'network'", (network,))
        self.network = self.stored_network = network
        return {"moved": moved, "dropped": dropped, "from": stored, "to": network}

    @staticmethod
    def _trim_references(db: sqlite3.Connection, person_id: int) -> None:
        keep = [r[0] for r in db.execute("SELECT id FROM refs WHERE person_id = ? ORDER BY confirmed DESC, id DESC LIMIT ?",
                                         (person_id, MAX_REFERENCES))]
        db.execute(f"DELETE FROM refs WHERE person_id = ? AND id NOT IN ({','.join('?' * len(keep))})", (person_id, *keep))
