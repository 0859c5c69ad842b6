"""The :class:`SessionStore`: people, machines, sessions, sets, reps and events in one SQLite
file (see :mod:`legpress.storage.store`)."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os
import shlex
import sqlite3
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Final, Literal

from legpress.closing import Closing
from legpress.detect.config import DetectorConfig, Profile
from legpress.detect.events import FORM_EVENT_TYPES, Event, Rep
from legpress.dsp.calibration import Calibration
from legpress.errors import (
    AlreadyExistsError,
    ConfigError,
    LegPressError,
    NotFoundError,
    StoreBusyError,
    StoreError,
    UsageError,
)
from legpress.session import (
    MACHINE_KINDS,
    REP_BOOL_METRICS,
    REP_METRICS,
    LinkQuality,
    Machine,
    Person,
    Session,
    SessionSet,
    assign_sets,
    finite,
    now_utc,
)
from legpress.storage.migrations import LATEST_VERSION, migrate, schema_version
from legpress.storage.store.exchange import (
    CSV_COLUMNS,
    session_csv,
    session_from_export,
    session_json,
    write_export,
)
from legpress.storage.store.records import (
    CalibrationRecord,
    SessionRow,
    calibration_dict,
    calibration_from_row,
    check_limit,
    config_dict,
    dumps,
    event_from_row,
    interrupted,
    loads,
    machine_from_row,
    owner,
    person_from_row,
    rep_from_row,
    session_row_from_row,
    shares_to_text,
    timestamp,
)

_ENV_DB: Final = "LEGPRESS_DB"


def _next_id(table: str) -> str:
    """SQL for the id of a new row of ``table``: after every id it holds and every id it has
    deleted (SQLite alone would give the highest deleted one again)."""
    return (
        f"(SELECT max(coalesce((SELECT max(id) FROM {table}), 0), coalesce((SELECT max_id "
        f"FROM retired_ids WHERE tbl = '{table}'), 0)) + 1)"
    )


def _missing(path: Path) -> str:
    return (
        f"no session database at {path}: nothing has been stored there yet (check --db or "
        f"{_ENV_DB})"
    )


def default_db_path() -> Path:
    """Where the session database lives unless told otherwise.

    ``$LEGPRESS_DB`` if set; else ``$XDG_DATA_HOME/legpress/legpress.db`` (an absolute
    ``XDG_DATA_HOME`` only, as the XDG spec says), else ``~/.local/share/legpress/legpress.db``;
    on Windows ``%LOCALAPPDATA%\\legpress\\legpress.db``.
    """
    env = os.environ.get(_ENV_DB, "").strip()
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        return Path(os.environ["LOCALAPPDATA"]) / "legpress" / "legpress.db"
    xdg = os.environ.get("XDG_DATA_HOME", "").strip()
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".local" / "share"
    return base / "legpress" / "legpress.db"


@functools.cache
def _expected_schema() -> dict[str, frozenset[str]]:
    """The tables and columns of a database this legpress makes."""
    with contextlib.closing(sqlite3.connect(":memory:", isolation_level=None)) as conn:
        migrate(conn)
        tables = [
            str(row[0])
            for row in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {
            t: frozenset(str(row[1]) for row in conn.execute(f"PRAGMA table_info({t})"))
            for t in tables
        }


# -- the store -----------------------------------------------------------------------------


class SessionStore(Closing):
    """The session database.

    Args:
        path: the SQLite file (created with its folder if missing); ``None`` means
            :func:`default_db_path`; ``":memory:"`` for a throw-away database.
        set_rest_s: a rest longer than this between reps starts a new set; None (the
            default): each session's own detector setting (``set_gap_s`` of its config), the
            rule the detector and the live view used (:meth:`DetectorConfig.starts_new_set`).
        timeout_s: how long to wait for another process that is writing.
        readonly: open for reading only (the read commands): a missing file is an error, not a
            new database, and a read-only file in a read-only folder can be read.
        create: make the database if it is missing (else a missing file is an error: the
            commands that change what is stored, so a mistyped ``--db`` is not a new one).

    Raises:
        StoreError: the file cannot be opened, is not a legpress database, is damaged, or was
            made by a newer legpress.

    Use as a context manager or call :meth:`close`.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        set_rest_s: float | None = None,
        timeout_s: float = 5.0,
        readonly: bool = False,
        create: bool = True,
    ) -> None:
        if set_rest_s is not None and not set_rest_s > 0:
            raise ConfigError(f"set_rest_s must be positive, got {set_rest_s}")
        self.set_rest_s = None if set_rest_s is None else float(set_rest_s)
        memory = path is not None and str(path) == ":memory:"
        self.path = Path(":memory:") if memory else Path(path or default_db_path()).expanduser()
        self.readonly = readonly and not memory
        self._conn: sqlite3.Connection | None = None
        if self.readonly:
            self._open_readonly(timeout_s)
            return
        if not memory:
            if self.path.is_dir():
                raise StoreError(
                    f"{self.path} is a folder: give the database file, e.g. "
                    f"{self.path / 'legpress.db'}"
                )
            if not create and not self.path.exists():
                raise StoreError(_missing(self.path))
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"cannot create the folder for {self.path} ({exc.strerror}): choose another "
                    f"file with --db or {_ENV_DB}"
                ) from None
            if self.path.exists() and not (
                os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK)
            ):
                raise StoreError(
                    f"{self.path} is read-only (or in a read-only folder): commands that only "
                    "read it work; to change it, fix its permissions or copy it elsewhere"
                )
        with self._errors():
            conn = sqlite3.connect(
                ":memory:" if memory else str(self.path),
                timeout=timeout_s,
                isolation_level=None,
            )
            self._conn = conn
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA foreign_keys = ON")
            version = schema_version(conn)  # the first read: fails here on a non-database
            if version > LATEST_VERSION:
                conn.close()
                self._conn = None
                raise StoreError(
                    f"{self.path} was written by a newer legpress (schema {version}, this one "
                    f"knows {LATEST_VERSION}): upgrade legpress"
                )
            if not memory:
                conn.execute("PRAGMA journal_mode = WAL")
            migrate(conn)
            self._check_schema(conn)
            self._mark_interrupted(conn)

    @staticmethod
    def _mark_interrupted(conn: sqlite3.Connection) -> None:
        """Keep ``interrupted`` in the summary of sessions whose recording process is gone
        (so a later process that happens to get the same id does not revive them)."""
        rows = conn.execute(
            "SELECT id, summary_json FROM sessions WHERE ended_at IS NULL"
        ).fetchall()
        gone = []
        for row in rows:
            summary = loads(row["summary_json"])
            summary = summary if isinstance(summary, dict) else {}
            if not summary.get("interrupted") and interrupted(None, summary):
                gone.append((dumps({**summary, "interrupted": True}), int(row["id"])))
        if gone:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    "UPDATE sessions SET summary_json = ? WHERE id = ? AND ended_at IS NULL", gone
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _open_readonly(self, timeout_s: float) -> None:
        """Open for reading only: never creates, upgrades or writes the file, and works on a
        read-only file in a read-only folder."""
        if self.path.is_dir():
            raise StoreError(
                f"{self.path} is a folder: give the database file, e.g. "
                f"{self.path / 'legpress.db'}"
            )
        if not self.path.exists():
            raise StoreError(_missing(self.path))
        uri = self.path.resolve().as_uri()
        writable = os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK)
        # In a read-only folder SQLite cannot make the WAL index: read the file as it is.
        mode = "?mode=ro" if writable else "?mode=ro&immutable=1"
        try:
            with self._errors():
                conn = sqlite3.connect(
                    uri + mode, uri=True, timeout=timeout_s, isolation_level=None
                )
                self._conn = conn
                conn.row_factory = sqlite3.Row
                version = schema_version(conn)
                if version > LATEST_VERSION:
                    raise StoreError(
                        f"{self.path} was written by a newer legpress (schema {version}, this "
                        f"one knows {LATEST_VERSION}): upgrade legpress"
                    )
                if version == 0 and not conn.execute("SELECT 1 FROM sqlite_master").fetchone():
                    raise StoreError(f"{self.path} is empty: no sessions are stored in it")
                if version < LATEST_VERSION:
                    if not writable:
                        raise StoreError(
                            f"{self.path} has an older layout (schema {version}) and is "
                            "read-only, so it cannot be upgraded: copy it somewhere writable"
                        )
                    conn.close()
                    SessionStore(self.path, timeout_s=timeout_s).close()  # upgrade it once
                    conn = sqlite3.connect(
                        uri + mode, uri=True, timeout=timeout_s, isolation_level=None
                    )
                    self._conn = conn
                    conn.row_factory = sqlite3.Row
                self._check_schema(conn)
        except BaseException:
            self.close()
            raise

    def _check_schema(self, conn: sqlite3.Connection) -> None:
        """Every table has the columns this legpress expects (damaged schema text otherwise
        shows up as missing columns deep inside a query)."""
        for table, columns in _expected_schema().items():
            found = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            if not columns <= found:
                raise StoreError(
                    f"{self.path} is damaged or not a legpress database (table {table} lacks "
                    f"{', '.join(sorted(columns - found))}): move it aside (a new one will be "
                    "created) or restore a backup"
                )

    # -- plumbing ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the database (idempotent)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @property
    def schema_version(self) -> int:
        """The database's schema version (``PRAGMA user_version``)."""
        with self._errors():
            return schema_version(self._db)

    @property
    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            raise UsageError("the session store is closed")
        return self._conn

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn SQLite errors into one-line legpress errors."""
        try:
            yield
        except sqlite3.Error as exc:
            raise self._translate(exc) from None
        except UnicodeDecodeError:  # SQLite quoting damaged schema text in a message
            raise StoreError(
                f"{self.path} is damaged (its schema is not text): move it aside (a new one "
                "will be created) or restore a backup"
            ) from None

    def _translate(self, exc: sqlite3.Error) -> LegPressError:
        text = str(exc)
        low = text.lower()
        where = str(self.path)
        if "locked" in low or "busy" in low:
            return StoreBusyError(
                f"{where} is busy: another legpress is writing to it; try again in a moment"
            )
        if "not a database" in low or "malformed" in low or "corrupt" in low:
            return StoreError(
                f"{where} is damaged or not a legpress database: move it aside (a new one will "
                "be created) or restore a backup"
            )
        if "readonly" in low or "read-only" in low:
            return StoreError(
                f"{where} is read-only: fix its permissions or choose another file with --db"
            )
        if "unable to open" in low:
            return StoreError(
                f"cannot open {where}: check that its folder exists and is writable, or choose "
                f"another file with --db or {_ENV_DB}"
            )
        if "disk" in low and ("full" in low or "i/o" in low):
            return StoreError(f"cannot write {where}: {text}; free some disk space")
        return StoreError(f"session database {where}: {text}")

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; rolled back on any error."""
        db = self._db
        with self._errors():
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """A consistent snapshot for multi-query reads."""
        db = self._db
        with self._errors():
            db.execute("BEGIN")
            try:
                yield db
            finally:
                db.execute("COMMIT")

    # -- people ------------------------------------------------------------------------------

    def _person_row(self, db: sqlite3.Connection, name: str) -> sqlite3.Row:
        spelled = _spelled(db, "people", name)
        row = db.execute("SELECT * FROM people WHERE name = ?", (spelled,)).fetchone()
        if row is None:
            names = [r[0] for r in db.execute("SELECT name FROM people")]
            hint = _did_you_mean(name.strip(), names)
            raise NotFoundError(
                f"no person named {name!r}{hint}: "
                + ("if they are new, " if hint else "")
                + f"add them with `legpress people add {shlex.quote(name.strip())}`"
            )
        return row  # type: ignore[no-any-return]

    def add_person(
        self,
        name: str,
        *,
        rom_limit_mm: float | None = None,
        notes: str = "",
        margin_mm: float = 20.0,
    ) -> Person:
        """Add a person.

        Args:
            name: unique name (case-insensitive), e.g. a patient's name or code.
            rom_limit_mm: the therapist's ROM limit, if known.
            notes: free text.
            margin_mm: how far before the calibrated lift-off depth a learned limit stops.

        Raises:
            ConfigError: empty name, limit or margin out of range.
            AlreadyExistsError: that name is taken.
        """
        if not name.strip():
            raise ConfigError("a person needs a name (or a code)")
        profile = Profile(
            person=name.strip(),
            rom_limit_mm=check_limit(rom_limit_mm),
            margin_mm=margin_mm,
            notes=notes,
        )
        with self._write() as db:
            taken = _spelled(db, "people", profile.person)
            if db.execute("SELECT 1 FROM people WHERE name = ?", (taken,)).fetchone():
                raise AlreadyExistsError(
                    f"{profile.person!r} is already in the database: see `legpress people list`"
                )
            db.execute(
                "INSERT INTO people (id, name, rom_limit_mm, margin_mm, notes, created) "
                f"VALUES ({_next_id('people')}, ?, ?, ?, ?, ?)",
                (profile.person, profile.rom_limit_mm, profile.margin_mm, notes, now_utc()),
            )
            return person_from_row(self._person_row(db, profile.person))

    def get_person(self, name: str) -> Person:
        """The person with that name (case-insensitive).

        Raises:
            NotFoundError: nobody by that name.
        """
        with self._errors():
            return person_from_row(self._person_row(self._db, name))

    def ensure_person(self, name: str) -> Person:
        """The person with that name, added (with no limit) if missing."""
        try:
            return self.get_person(name)
        except NotFoundError:
            pass
        try:
            return self.add_person(name)
        except AlreadyExistsError:  # added by another process meanwhile
            return self.get_person(name)

    def rename_person(self, name: str, new_name: str) -> Person:
        """Give a person another name (their sessions and limits stay theirs).

        Raises:
            ConfigError: the new name is empty.
            NotFoundError: nobody by that name.
            AlreadyExistsError: somebody else has the new name (see :meth:`merge_people`).
        """
        new_name = new_name.strip()
        if not new_name:
            raise ConfigError("a person needs a name (or a code)")
        with self._write() as db:
            row = self._person_row(db, name)
            same = _spelled(db, "people", new_name)
            other = db.execute("SELECT id FROM people WHERE name = ?", (same,)).fetchone()
            if other is not None and int(other["id"]) != int(row["id"]):
                raise AlreadyExistsError(
                    f"{new_name!r} is already in the database: to make the two one person, use "
                    f"`legpress people merge {shlex.quote(str(row['name']))} "
                    f"{shlex.quote(new_name)}`"
                )
            db.execute("UPDATE people SET name = ? WHERE id = ?", (new_name, row["id"]))
            return person_from_row(self._person_row(db, new_name))

    def count_sessions(self, name: str) -> int:
        """How many sessions a person has.

        Raises:
            NotFoundError: nobody by that name.
        """
        with self._read() as db:
            row = self._person_row(db, name)
            (n,) = db.execute(
                "SELECT count(*) FROM sessions WHERE person_id = ?", (row["id"],)
            ).fetchone()
        return int(n)

    def delete_person(self, name: str) -> int:
        """Delete a person and every session of theirs (with its sets, reps and events; not
        the recording files); returns how many sessions went with them.

        Raises:
            NotFoundError: nobody by that name.
        """
        with self._write() as db:
            row = self._person_row(db, name)
            cur = db.execute("DELETE FROM sessions WHERE person_id = ?", (row["id"],))
            db.execute("DELETE FROM people WHERE id = ?", (row["id"],))
            return int(cur.rowcount)

    def merge_people(self, source: str, into: str) -> Person:
        """Make two entries one person (a typo, a name and a code): ``source``'s sessions
        become ``into``'s and ``source`` is removed. ``into`` keeps its limits; a limit or
        calibration it lacks is taken from ``source``; both calibration histories are kept (as
        ``into``'s); different notes are joined.

        Raises:
            NotFoundError: either is not in the database.
            UsageError: both names are the same person.
        """
        with self._write() as db:
            src, dst = self._person_row(db, source), self._person_row(db, into)
            if int(src["id"]) == int(dst["id"]):
                raise UsageError(f"{source!r} and {into!r} are the same person")
            # What a calibration learned goes together: all of ``into``'s, or if it has none,
            # all of ``source``'s. Both calibration histories become ``into``'s.
            calibrated = dst["lift_off_depth_mm"] is not None or (
                dst["max_calibrated_depth_mm"] is not None
            )
            cal = dst if calibrated else src
            limit = dst["rom_limit_mm"] if dst["rom_limit_mm"] is not None else src["rom_limit_mm"]
            notes = [n for n in (str(dst["notes"]), str(src["notes"])) if n.strip()]
            for table in ("sessions", "machines", "calibrations"):  # a machine's default too
                db.execute(
                    f"UPDATE {table} SET person_id = ? WHERE person_id = ?", (dst["id"], src["id"])
                )
            db.execute("DELETE FROM people WHERE id = ?", (src["id"],))
            db.execute(
                "UPDATE people SET rom_limit_mm = ?, lift_off_depth_mm = ?, "
                "max_calibrated_depth_mm = ?, lift_off_floor = ?, clean_share_by_depth = ?, "
                "margin_mm = ?, notes = ? WHERE id = ?",
                (
                    limit,
                    cal["lift_off_depth_mm"],
                    cal["max_calibrated_depth_mm"],
                    cal["lift_off_floor"],
                    cal["clean_share_by_depth"],
                    cal["margin_mm"],
                    "\n".join(dict.fromkeys(notes)),
                    dst["id"],
                ),
            )
            return person_from_row(self._person_row(db, into))

    def similar_people(self, name: str, n: int = 3) -> list[str]:
        """Up to ``n`` stored names close to ``name`` (a typo's likely meaning)."""
        return _close_names(name, [p.name for p in self.list_people()], n)

    def set_session_notes(self, session_id: int, notes: str) -> None:
        """Replace a session's notes (free text a therapist keeps with it; "" clears them).

        Raises:
            NotFoundError: unknown session.
        """
        with self._write() as db:
            self._session_row(db, session_id)
            db.execute("UPDATE sessions SET notes = ? WHERE id = ?", (notes, int(session_id)))

    def list_people(self) -> list[Person]:
        """Everybody, by name."""
        with self._errors():
            rows = self._db.execute("SELECT * FROM people ORDER BY name").fetchall()
        return [person_from_row(r) for r in rows]

    def set_limit(self, person: str, rom_limit_mm: float | None) -> Person:
        """Set (or with ``None`` clear) the therapist's ROM limit of a person.

        Raises:
            ConfigError: the limit is out of range.
            NotFoundError: nobody by that name.
        """
        limit = check_limit(rom_limit_mm)
        with self._write() as db:
            row = self._person_row(db, person)
            db.execute("UPDATE people SET rom_limit_mm = ? WHERE id = ?", (limit, row["id"]))
            return person_from_row(self._person_row(db, person))

    def save_profile(self, profile: Profile) -> Person:
        """Store a :class:`~legpress.detect.config.Profile` (adds the person if missing).

        Every field of the profile replaces the stored one.
        """
        with self._write() as db:
            values = (
                profile.rom_limit_mm,
                profile.lift_off_depth_mm,
                profile.margin_mm,
                profile.max_calibrated_depth_mm,
                profile.notes,
                profile.lift_off_floor,
                shares_to_text(profile.clean_share_by_depth),
            )
            row = db.execute(
                "SELECT id FROM people WHERE name = ?", (_spelled(db, "people", profile.person),)
            ).fetchone()
            if row is None:
                db.execute(
                    "INSERT INTO people (id, rom_limit_mm, lift_off_depth_mm, margin_mm, "
                    "max_calibrated_depth_mm, notes, lift_off_floor, clean_share_by_depth, name, "
                    f"created) VALUES ({_next_id('people')}, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*values, profile.person.strip(), now_utc()),
                )
            else:
                db.execute(
                    "UPDATE people SET rom_limit_mm = ?, lift_off_depth_mm = ?, margin_mm = ?, "
                    "max_calibrated_depth_mm = ?, notes = ?, lift_off_floor = ?, "
                    "clean_share_by_depth = ? WHERE id = ?",
                    (*values, row["id"]),
                )
            return person_from_row(self._person_row(db, profile.person))

    def add_calibration(self, calibration: CalibrationRecord) -> Person:
        """Keep one calibration of a person in their history and make it their profile's
        (lift-off depth, floor, clean share per depth, deepest rep, margin): a recalibration
        adds to the history, it never erases it. The therapist's limit and the notes stay as
        they are.

        Raises:
            NotFoundError: nobody by that name.
        """
        c = calibration
        with self._write() as db:
            row = self._person_row(db, c.person)
            db.execute(
                "INSERT INTO calibrations (person_id, at, reps, lift_off_reps, "
                "lift_off_depth_mm, lift_off_floor, max_depth_mm, margin_mm, detail, "
                "clean_share_by_depth) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row["id"],
                    c.at or now_utc(),
                    c.reps,
                    c.lift_off_reps,
                    c.lift_off_depth_mm,
                    c.lift_off_floor,
                    c.max_depth_mm,
                    c.margin_mm,
                    dumps(dict(c.detail)),
                    shares_to_text(c.clean_share_by_depth),
                ),
            )
            db.execute(
                "UPDATE people SET lift_off_depth_mm = ?, lift_off_floor = ?, "
                "max_calibrated_depth_mm = ?, margin_mm = ?, clean_share_by_depth = ? "
                "WHERE id = ?",
                (
                    c.lift_off_depth_mm,
                    c.lift_off_floor,
                    c.max_depth_mm,
                    c.margin_mm,
                    shares_to_text(c.clean_share_by_depth),
                    row["id"],
                ),
            )
            return person_from_row(self._person_row(db, c.person))

    def calibrations(self, person: str) -> list[CalibrationRecord]:
        """A person's calibration history, oldest first.

        Raises:
            NotFoundError: nobody by that name.
        """
        with self._errors():
            row = self._person_row(self._db, person)
            rows = self._db.execute(
                "SELECT * FROM calibrations WHERE person_id = ? ORDER BY at, id", (row["id"],)
            ).fetchall()
        return [calibration_from_row(str(row["name"]), r) for r in rows]

    def calibrated_on(self, person: str, machine: str | None = None) -> str | None:
        """The machine whose calibration of ``person`` is in force on ``machine`` (see
        :meth:`get_profile`): ``machine`` itself when they were calibrated there, else the
        machine of their newest calibration. None: no calibration, nobody by that name, or a
        calibration made without ``--machine``."""
        try:
            history = self.calibrations(person)
        except NotFoundError:
            return None
        c = _calibration_for(history, machine)
        where = str(c.detail.get("machine") or "") if c is not None else ""
        return where or None

    def get_profile(self, person: str, machine: str | None = None) -> Profile:
        """The detector profile of a person. With ``machine``: what their newest calibration on
        that machine learned (sled depths are a machine's own, and so are the lift-off depth,
        floor and clean share a calibration learns), when there is one; else, and without
        ``machine``, what their newest calibration learned. Their limit and notes either way.

        Raises:
            NotFoundError: nobody by that name.
        """
        profile = self.get_person(person).profile
        if not machine:
            return profile
        history = self.calibrations(person)
        c = _calibration_for(history, machine)
        if c is None or c is history[-1]:
            return profile
        return replace(
            profile,
            lift_off_depth_mm=c.lift_off_depth_mm,
            lift_off_floor=c.lift_off_floor,
            max_calibrated_depth_mm=c.max_depth_mm,
            margin_mm=c.margin_mm,
            clean_share_by_depth=c.clean_share_by_depth,
        )

    # -- machines ----------------------------------------------------------------------------

    _MACHINE_SELECT: Final = (
        "SELECT m.*, p.name AS person FROM machines m LEFT JOIN people p ON p.id = m.person_id"
    )

    def _machine_row(self, db: sqlite3.Connection, name: str) -> sqlite3.Row:
        spelled = _spelled(db, "machines", name)
        row = db.execute(f"{self._MACHINE_SELECT} WHERE m.name = ?", (spelled,)).fetchone()
        if row is None:
            names = [r[0] for r in db.execute("SELECT name FROM machines")]
            raise NotFoundError(
                f"no machine named {name.strip()!r}{_did_you_mean(name.strip(), names)}: see "
                "`legpress machines list`, or add it with `legpress machines add NAME DEVICE`"
            )
        return row  # type: ignore[no-any-return]

    def _check_device(self, db: sqlite3.Connection, device_url: str, machine_id: int) -> None:
        """A device is bound to one machine at most (BLE names and addresses ignore case)."""
        if not device_url:
            return
        row = db.execute(
            "SELECT name FROM machines WHERE lower(device_url) = lower(?) AND id != ?",
            (device_url, machine_id),
        ).fetchone()
        if row is not None:
            raise AlreadyExistsError(
                f"{device_url} is already the device of machine {row['name']!r}: one device "
                "drives one machine (`legpress machines list` shows them)"
            )

    def add_machine(
        self,
        name: str,
        kind: str = "incline45",
        *,
        counts_per_mm: float | None = None,
        notes: str = "",
        device_url: str = "",
        person: str | None = None,
    ) -> Machine:
        """Add a leg press.

        Args:
            name: unique name (case-insensitive), e.g. "gym floor 2".
            kind: ``"incline45"`` or ``"horizontal"``.
            counts_per_mm: encoder counts per millimetre, if measured.
            notes: free text.
            device_url: the device it is bound to (a device URL; the store does not check
                it: see ``legpress machines add``), or empty.
            person: who is on it by default (must exist), or None.

        Raises:
            ConfigError: empty name, unknown kind, non-positive counts per mm.
            AlreadyExistsError: that name is taken, or the device is another machine's.
            NotFoundError: unknown person.
        """
        name = name.strip()
        device_url = device_url.strip()
        if not name:
            raise ConfigError("a machine needs a name")
        if kind not in MACHINE_KINDS:
            raise ConfigError(
                f"machine kind must be one of {', '.join(MACHINE_KINDS)}, got {kind!r}"
            )
        if counts_per_mm is not None and not (math.isfinite(counts_per_mm) and counts_per_mm > 0):
            raise ConfigError(f"counts_per_mm must be positive, got {counts_per_mm}")
        with self._write() as db:
            taken = _spelled(db, "machines", name)
            if db.execute("SELECT 1 FROM machines WHERE name = ?", (taken,)).fetchone():
                raise AlreadyExistsError(f"a machine named {name!r} is already in the database")
            self._check_device(db, device_url, -1)
            person_id = self._person_row(db, person)["id"] if person is not None else None
            db.execute(
                "INSERT INTO machines (name, kind, counts_per_mm, notes, device_url, person_id) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (name, kind, counts_per_mm, notes, device_url, person_id),
            )
            return machine_from_row(self._machine_row(db, name))

    def get_machine(self, name: str) -> Machine:
        """The machine with that name.

        Raises:
            NotFoundError: no machine by that name.
        """
        with self._errors():
            return machine_from_row(self._machine_row(self._db, name))

    def list_machines(self) -> list[Machine]:
        """Every machine, by name."""
        with self._errors():
            rows = self._db.execute(f"{self._MACHINE_SELECT} ORDER BY m.name").fetchall()
        return [machine_from_row(r) for r in rows]

    def set_machine_device(self, name: str, device_url: str) -> Machine:
        """Bind the machine to another device (``""``: to none).

        Raises:
            NotFoundError: no machine by that name.
            AlreadyExistsError: the device is another machine's.
        """
        device_url = device_url.strip()
        with self._write() as db:
            row = self._machine_row(db, name)
            self._check_device(db, device_url, int(row["id"]))
            db.execute("UPDATE machines SET device_url = ? WHERE id = ?", (device_url, row["id"]))
            return machine_from_row(self._machine_row(db, name))

    def set_machine_person(self, name: str, person: str | None) -> Machine:
        """Set who is on the machine by default (None: nobody).

        Raises:
            NotFoundError: no machine, or no person, by that name.
        """
        with self._write() as db:
            row = self._machine_row(db, name)
            person_id = self._person_row(db, person)["id"] if person is not None else None
            db.execute("UPDATE machines SET person_id = ? WHERE id = ?", (person_id, row["id"]))
            return machine_from_row(self._machine_row(db, name))

    def set_machine_counts(self, name: str, counts_per_mm: float | None) -> Machine:
        """Keep the machine's measured encoder counts per millimetre (None: unknown, the
        device's own figure is used).

        Raises:
            NotFoundError: no machine by that name.
            ConfigError: not a positive number.
        """
        if counts_per_mm is not None and not (math.isfinite(counts_per_mm) and counts_per_mm > 0):
            raise ConfigError(f"counts_per_mm must be positive, got {counts_per_mm}")
        with self._write() as db:
            row = self._machine_row(db, name)
            db.execute(
                "UPDATE machines SET counts_per_mm = ? WHERE id = ?", (counts_per_mm, row["id"])
            )
            return machine_from_row(self._machine_row(db, name))

    def set_machine_kind(self, name: str, kind: str) -> Machine:
        """Say which kind of leg press the machine is (``incline45`` or ``horizontal``).

        Raises:
            NotFoundError: no machine by that name.
            ConfigError: unknown kind.
        """
        if kind not in MACHINE_KINDS:
            raise ConfigError(
                f"machine kind must be one of {', '.join(MACHINE_KINDS)}, got {kind!r}"
            )
        with self._write() as db:
            row = self._machine_row(db, name)
            db.execute("UPDATE machines SET kind = ? WHERE id = ?", (kind, row["id"]))
            return machine_from_row(self._machine_row(db, name))

    def rename_machine(self, old: str, new: str) -> Machine:
        """Rename a machine. Its sessions keep the name they were trained under (as their
        recordings do); new sessions get the new name.

        Raises:
            NotFoundError: no machine named ``old``.
            ConfigError: empty new name.
            AlreadyExistsError: another machine is called ``new``.
        """
        new = new.strip()
        if not new:
            raise ConfigError("a machine needs a name")
        with self._write() as db:
            row = self._machine_row(db, old)
            same = _spelled(db, "machines", new)
            other = db.execute("SELECT id FROM machines WHERE name = ?", (same,)).fetchone()
            if other is not None and other["id"] != row["id"]:
                raise AlreadyExistsError(f"a machine named {new!r} is already in the database")
            db.execute("UPDATE machines SET name = ? WHERE id = ?", (new, row["id"]))
            return machine_from_row(self._machine_row(db, new))

    def count_machine_sessions(self, name: str) -> int:
        """How many stored sessions were trained on the machine.

        Raises:
            NotFoundError: no machine by that name.
        """
        with self._read() as db:
            row = self._machine_row(db, name)
            n = db.execute(
                "SELECT count(*) FROM sessions WHERE machine_id = ?", (row["id"],)
            ).fetchone()
        return int(n[0])

    def remove_machine(self, name: str) -> int:
        """Remove a machine (its device binding and default person); returns how many
        sessions it had. The sessions stay, with the machine's name as it was.

        Raises:
            NotFoundError: no machine by that name.
        """
        with self._write() as db:
            row = self._machine_row(db, name)
            cur = db.execute(
                "UPDATE sessions SET machine_id = NULL, "
                "machine_name = coalesce(machine_name, ?) WHERE machine_id = ?",
                (row["name"], row["id"]),
            )
            db.execute("DELETE FROM machines WHERE id = ?", (row["id"],))
            return int(cur.rowcount)

    # -- sessions ----------------------------------------------------------------------------

    def _session_row(self, db: sqlite3.Connection, session_id: int) -> sqlite3.Row:
        row = db.execute("SELECT * FROM sessions WHERE id = ?", (int(session_id),)).fetchone()
        if row is None:
            raise NotFoundError(
                f"no session {session_id} in {self.path}: see `legpress sessions list`"
            )
        return row  # type: ignore[no-any-return]

    def _insert_session(
        self,
        db: sqlite3.Connection,
        person: str | None,
        machine: str | None,
        started_at: datetime | str | None,
        device_name: str,
        device_url: str,
        recording_path: str | os.PathLike[str] | None,
        config: DetectorConfig | Mapping[str, Any] | None,
        calibration: Calibration | Mapping[str, Any] | None,
        summary: Mapping[str, Any],
    ) -> int:
        person_id = self._person_row(db, person)["id"] if person is not None else None
        machine_row = self._machine_row(db, machine) if machine is not None else None
        rec = str(Path(recording_path).expanduser().absolute()) if recording_path else None
        cfg = config_dict(config)
        cal = calibration_dict(calibration)
        cur = db.execute(
            "INSERT INTO sessions (id, person_id, machine_id, machine_name, started_at, "
            "device_name, device_url, recording_path, config_json, calibration_json, "
            f"summary_json) VALUES ({_next_id('sessions')}, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                person_id,
                machine_row["id"] if machine_row is not None else None,
                machine_row["name"] if machine_row is not None else None,
                timestamp(started_at),
                device_name,
                device_url,
                rec,
                dumps(cfg) if cfg is not None else None,
                dumps(cal) if cal is not None else None,
                dumps(summary),
            ),
        )
        return int(cur.lastrowid or 0)

    def start_session(
        self,
        person: str | None = None,
        machine: str | None = None,
        *,
        started_at: datetime | str | None = None,
        device_name: str = "",
        device_url: str = "",
        recording_path: str | os.PathLike[str] | None = None,
        config: DetectorConfig | Mapping[str, Any] | None = None,
        calibration: Calibration | Mapping[str, Any] | None = None,
    ) -> int:
        """Begin a session and return its id.

        Args:
            person: who trains (must exist; see :meth:`add_person`), or None (anonymous).
            machine: which leg press (must exist), or None.
            started_at: when; now if None (naive datetimes are local time).
            device_name: the device's advertised name.
            device_url: how it was opened (``ble:…``, ``serial:…``, ``sim:…``).
            recording_path: the raw recording of this session (stored as an absolute path).
            config: the detector settings in force (with the person's ROM limit).
            calibration: counts to millimetres and tare.

        Until :meth:`end_session`, the session's summary names this process as its
        ``owner``: a session whose owner is gone (killed, crashed) is shown as interrupted
        (:attr:`Session.status`).

        Raises:
            NotFoundError: unknown person or machine.
        """
        with self._write() as db:
            return self._insert_session(
                db,
                person,
                machine,
                started_at,
                device_name,
                device_url,
                recording_path,
                config,
                calibration,
                {"owner": owner()},
            )

    def _insert_rep(
        self, db: sqlite3.Connection, session_id: int, rep: Rep, set_index: int | None
    ) -> int:
        last = db.execute(
            "SELECT set_index, t_start_s, t_end_s FROM sets WHERE session_id = ? "
            "ORDER BY set_index DESC LIMIT 1",
            (session_id,),
        ).fetchone()
        if set_index is None:
            if last is None:
                set_index = 0
            elif self._set_rule(db, session_id).starts_new_set(
                float(last["t_end_s"]), rep.t_start_s
            ):
                set_index = int(last["set_index"]) + 1
            else:
                set_index = int(last["set_index"])
        if set_index < 0:
            raise UsageError(f"set index must be 0 or more, got {set_index}")
        exists = db.execute(
            "SELECT 1 FROM reps WHERE session_id = ? AND rep_index = ?", (session_id, rep.index)
        ).fetchone()
        if exists:
            raise AlreadyExistsError(f"rep {rep.index} of session {session_id} is already stored")
        db.execute(
            "INSERT INTO sets (session_id, set_index, t_start_s, t_end_s) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (session_id, set_index) DO UPDATE SET "
            "t_start_s = min(t_start_s, excluded.t_start_s), "
            "t_end_s = max(t_end_s, excluded.t_end_s)",
            (session_id, set_index, rep.t_start_s, rep.t_end_s),
        )
        values = [
            finite(getattr(rep, n)) if n not in REP_BOOL_METRICS else int(getattr(rep, n))
            for n in REP_METRICS
        ]
        cols = ", ".join(REP_METRICS)
        marks = ", ".join("?" * (len(REP_METRICS) + 4))
        db.execute(
            f"INSERT INTO reps (session_id, set_index, rep_index, {cols}, events) "
            f"VALUES ({marks})",
            (session_id, set_index, rep.index, *values, dumps(list(rep.events))),
        )
        return set_index

    def _set_rule(
        self, db: sqlite3.Connection, session_id: int | None = None, config: Any = None
    ) -> DetectorConfig:
        """The detector settings whose :meth:`~DetectorConfig.starts_new_set` splits this
        session's sets: its own (stored, or ``config``), with ``set_rest_s`` if given."""
        if session_id is not None:
            row = db.execute(
                "SELECT config_json FROM sessions WHERE id = ?", (session_id,)
            ).fetchone()
            config = loads(row["config_json"]) if row is not None else None
        rule = Session(config=config_dict(config)).detector_config
        return rule if self.set_rest_s is None else replace(rule, set_gap_s=self.set_rest_s)

    def add_rep(self, session_id: int, rep: Rep, set_index: int | None = None) -> int:
        """Store a completed rep and return the set it went into.

        Args:
            session_id: the session.
            rep: the rep from the analyzer.
            set_index: the set (0-based); None splits automatically, by the session's own
                detector rule (``set_gap_s``, or ``set_rest_s`` if the store was given one).

        Raises:
            NotFoundError: unknown session.
            AlreadyExistsError: a rep with that index is already stored in the session.
        """
        with self._write() as db:
            self._session_row(db, session_id)
            return self._insert_rep(db, int(session_id), rep, set_index)

    @staticmethod
    def _insert_event(db: sqlite3.Connection, session_id: int, event: Event) -> int:
        cur = db.execute(
            "INSERT INTO events (session_id, rep_index, type, t_s, message, evidence) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                session_id,
                event.rep,
                event.type.value,
                event.t_s,
                event.message,
                dumps(event.evidence),
            ),
        )
        return int(cur.lastrowid or 0)

    @staticmethod
    def _set_ended(
        db: sqlite3.Connection, session_id: int, ended_at: str, summary_json: str
    ) -> None:
        db.execute(
            "UPDATE sessions SET ended_at = ?, summary_json = ? WHERE id = ?",
            (ended_at, summary_json, session_id),
        )

    def add_event(self, session_id: int, event: Event) -> int:
        """Store an alert event and return its id.

        Events may arrive before their rep completes (they are raised live), so the rep is
        not required to be stored yet.

        Raises:
            NotFoundError: unknown session.
        """
        with self._write() as db:
            self._session_row(db, session_id)
            return self._insert_event(db, int(session_id), event)

    def end_session(
        self,
        session_id: int,
        summary: Mapping[str, Any] | None = None,
        *,
        ended_at: datetime | str | None = None,
    ) -> None:
        """Mark a session as ended and keep its summary.

        Args:
            session_id: the session.
            summary: anything worth keeping that reps and events do not say, e.g. link quality
                (``{"link": {"lost_packets": 3, "gaps": 1}}``); JSON-ready values. The counts
                of reps and events are always recomputed (``get_session(id).stats``).
            ended_at: when; now if None.

        Raises:
            NotFoundError: unknown session.
        """
        with self._write() as db:
            self._session_row(db, session_id)
            self._set_ended(db, int(session_id), timestamp(ended_at), dumps(dict(summary or {})))

    def resume_session(self, session_id: int) -> bool:
        """Take over a session that is still under way elsewhere but was recorded here by a
        process that stopped (a fleet collector that restarted while a hub's session went on):
        this process owns it again, and it shows as running, not interrupted.

        Returns:
            True if it was taken over; False if it has already ended.

        Raises:
            NotFoundError: unknown session.
        """
        with self._write() as db:
            row = self._session_row(db, session_id)
            if row["ended_at"] is not None:
                return False
            summary = loads(row["summary_json"])
            summary = dict(summary) if isinstance(summary, dict) else {}
            summary.pop("interrupted", None)
            summary["owner"] = owner()
            db.execute(
                "UPDATE sessions SET summary_json = ? WHERE id = ?",
                (dumps(summary), int(session_id)),
            )
            return True

    def save_session(self, session: Session, *, add_missing: bool = False) -> int:
        """Store a whole session at once (e.g. :attr:`legpress.analysis.Analysis.session`, or
        an export from another computer) in one transaction; returns the new session id.

        The reps keep the sets they carry (see :func:`legpress.session.assign_sets`); the
        session is ended if it has an end time.

        Args:
            session: the session; its ``id`` is ignored.
            add_missing: add its person and machine (by name, without limits) if they are not
                in the database yet; otherwise they must exist.

        Raises:
            NotFoundError: unknown person or machine (without ``add_missing``).
            AlreadyExistsError: two reps with the same index.
        """
        person = session.person.name if session.person else None
        machine = session.machine.name if session.machine else None
        if add_missing and person:
            self.ensure_person(person)
        if add_missing and session.machine is not None:
            try:
                self.get_machine(session.machine.name)
            except NotFoundError:
                self.add_machine(session.machine.name, session.machine.kind)
        with self._write() as db:
            sid = self._insert_session(
                db,
                person,
                machine,
                session.started_at,
                session.device_name,
                session.device_url,
                session.recording_path,
                session.config,
                session.calibration,
                {**session.summary, "interrupted": True}
                if session.interrupted
                else session.summary,
            )
            if session.notes:
                db.execute("UPDATE sessions SET notes = ? WHERE id = ?", (session.notes, sid))
            for rep in session.reps:
                self._insert_rep(db, sid, rep, rep.set)
            for event in session.events:
                self._insert_event(db, sid, event)
            if session.ended_at is not None:
                self._set_ended(db, sid, timestamp(session.ended_at), dumps(session.summary))
            return sid

    def import_analysis(
        self,
        person: str | None,
        reps: Iterable[Rep],
        events: Iterable[Event],
        *,
        machine: str | None = None,
        started_at: datetime | str | None = None,
        ended_at: datetime | str | None = None,
        device_name: str = "",
        device_url: str = "",
        recording_path: str | os.PathLike[str] | None = None,
        config: DetectorConfig | Mapping[str, Any] | None = None,
        calibration: Calibration | Mapping[str, Any] | None = None,
        summary: Mapping[str, Any] | None = None,
    ) -> int:
        """Store analysed reps and events as a whole session (e.g.
        ``analyze_block(...).reps/.events``): :meth:`save_session` with the sets split by the
        detector rule of ``config`` (or ``set_rest_s``).

        Same arguments as :meth:`start_session` and :meth:`end_session`; all in one
        transaction. Returns the new session id.

        Raises:
            NotFoundError: unknown person or machine.
            AlreadyExistsError: two reps with the same index.
        """
        session_reps, sets = assign_sets(reps, self._set_rule(self._db, config=config))
        return self.save_session(
            Session(
                person=Person(person) if person else None,
                machine=Machine(machine) if machine else None,
                started_at=timestamp(started_at),
                ended_at=timestamp(ended_at),
                device_name=device_name,
                device_url=device_url,
                recording_path=str(recording_path) if recording_path else None,
                config=config_dict(config),
                calibration=calibration_dict(calibration),
                summary=dict(summary or {}),
                sets=sets,
                reps=session_reps,
                events=tuple(events),
            )
        )

    def delete_session(self, session_id: int) -> None:
        """Delete a session with its sets, reps and events (not its recording file).

        Raises:
            NotFoundError: unknown session.
        """
        with self._write() as db:
            self._session_row(db, session_id)
            db.execute("DELETE FROM sessions WHERE id = ?", (int(session_id),))

    def list_sessions(self, person: str | None = None) -> list[SessionRow]:
        """Sessions with their totals, oldest first.

        Args:
            person: only this person's sessions.

        Raises:
            NotFoundError: ``person`` is not in the database.
        """
        with self._read() as db:
            where = ""
            args: tuple[Any, ...] = ()
            if person is not None:
                where = "WHERE s.person_id = ?"
                args = (self._person_row(db, person)["id"],)
            rows = db.execute(
                f"""SELECT s.id, p.name AS person, coalesce(s.machine_name, m.name) AS machine,
                       s.started_at, s.ended_at, s.device_name, s.config_json, s.summary_json,
                       coalesce(r.n, 0) AS reps, coalesce(r.n_sets, 0) AS sets,
                       coalesce(r.lift_offs, 0) AS lift_offs,
                       coalesce(r.rom_exceeded, 0) AS rom_exceeded,
                       coalesce(e.form, 0) AS form_events,
                       r.max_depth, r.mean_lowering, r.mean_pushing, r.lift_off_depth
                FROM sessions s
                LEFT JOIN people p ON p.id = s.person_id
                LEFT JOIN machines m ON m.id = s.machine_id
                LEFT JOIN (
                    SELECT session_id, count(*) AS n, count(DISTINCT set_index) AS n_sets,
                           sum(lift_off) AS lift_offs, sum(rom_exceeded) AS rom_exceeded,
                           max(depth_mm) AS max_depth, avg(lowering_s) AS mean_lowering,
                           avg(pushing_s) AS mean_pushing,
                           min(CASE WHEN lift_off THEN lift_off_depth_mm END) AS lift_off_depth
                    FROM reps GROUP BY session_id
                ) r ON r.session_id = s.id
                LEFT JOIN (
                    SELECT session_id, count(*) AS form FROM events
                    WHERE type IN ({", ".join("?" * len(FORM_EVENT_TYPES))})
                    GROUP BY session_id
                ) e ON e.session_id = s.id
                {where}
                ORDER BY s.started_at, s.id""",
                (*(t.value for t in FORM_EVENT_TYPES), *args),
            ).fetchall()
        return [session_row_from_row(row) for row in rows]

    def get_session(self, session_id: int) -> Session:
        """Everything about a session.

        The person comes with their limits as they are now; ``config`` holds the settings in
        force during the session. ``Session.to_dict()`` is the JSON-ready form.

        Raises:
            NotFoundError: unknown session.
            StoreError: the session holds data this legpress cannot read (an event type from
                a newer legpress).
        """
        with self._read() as db:
            s = self._session_row(db, session_id)
            person = (
                db.execute("SELECT * FROM people WHERE id = ?", (s["person_id"],)).fetchone()
                if s["person_id"] is not None
                else None
            )
            machine_row = (
                db.execute(f"{self._MACHINE_SELECT} WHERE m.id = ?", (s["machine_id"],)).fetchone()
                if s["machine_id"] is not None
                else None
            )
            set_rows = db.execute(
                "SELECT set_index, t_start_s, t_end_s, "
                "(SELECT count(*) FROM reps r WHERE r.session_id = sets.session_id "
                " AND r.set_index = sets.set_index) AS n "
                "FROM sets WHERE session_id = ? ORDER BY set_index",
                (s["id"],),
            ).fetchall()
            rep_rows = db.execute(
                "SELECT * FROM reps WHERE session_id = ? ORDER BY t_start_s, rep_index",
                (s["id"],),
            ).fetchall()
            event_rows = db.execute(
                "SELECT * FROM events WHERE session_id = ? ORDER BY t_s, id", (s["id"],)
            ).fetchall()
        try:
            reps = tuple(rep_from_row(r) for r in rep_rows)
            events = tuple(event_from_row(e) for e in event_rows)
        except ConfigError as exc:
            raise StoreError(
                f"session {session_id} in {self.path} cannot be read ({exc}); it may have been "
                "written by a newer legpress: upgrade legpress"
            ) from None
        summary = loads(s["summary_json"]) or {}
        return Session(
            id=int(s["id"]),
            person=person_from_row(person) if person is not None else None,
            machine=self._session_machine(s, machine_row),
            started_at=str(s["started_at"]),
            ended_at=s["ended_at"],
            device_name=str(s["device_name"]),
            device_url=str(s["device_url"]),
            recording_path=s["recording_path"],
            config=loads(s["config_json"]),
            calibration=loads(s["calibration_json"]),
            summary=summary,
            sets=tuple(
                SessionSet(
                    int(r["set_index"]), float(r["t_start_s"]), float(r["t_end_s"]), int(r["n"])
                )
                for r in set_rows
            ),
            reps=reps,
            events=events,
            link=LinkQuality.from_summary(summary) if isinstance(summary, Mapping) else None,
            interrupted=interrupted(s["ended_at"], summary),
            notes=str(s["notes"]),
        )

    @staticmethod
    def _session_machine(s: sqlite3.Row, row: sqlite3.Row | None) -> Machine | None:
        """A session's machine: the record while it exists, with the name the session was
        trained under; only that name once the machine was removed."""
        name = s["machine_name"]
        if row is None:
            return Machine(str(name)) if name else None
        machine = machine_from_row(row)
        return dataclasses.replace(machine, name=str(name)) if name else machine

    #: Columns of the CSV export, one row per rep.
    CSV_COLUMNS: Final = CSV_COLUMNS

    def export_session(
        self,
        session_id: int,
        fmt: Literal["csv", "json"] = "csv",
        out: str | os.PathLike[str] | IO[str] | None = None,
    ) -> str:
        """Export a session and return the text (also written to ``out`` if given).

        Args:
            session_id: the session.
            fmt: ``"json"``: everything :meth:`get_session` returns, with ``format`` and
                ``format_version``, readable by :meth:`import_session`; ``"csv"``: one row per
                rep (:attr:`CSV_COLUMNS`; the rep's events as ``;``-separated types and
                `` | ``-separated messages), for spreadsheets.
            out: a file path or an open text file.

        Raises:
            NotFoundError: unknown session.
            UsageError: unknown format.
            FileError: ``out`` cannot be written.
        """
        if fmt not in ("csv", "json"):
            raise UsageError(f"export format must be csv or json, got {fmt!r}")
        session = self.get_session(session_id)
        text = session_json(session) if fmt == "json" else session_csv(session)
        if out is not None:
            write_export(text, out)
        return text

    def import_session(self, data: Mapping[str, Any]) -> int:
        """Store a session exported as JSON (e.g. from another computer); returns its new id.

        The person and machine are matched by name and added if missing (without limits).

        The same export imported twice is refused: a session with the same start time,
        device, person and reps is already there.

        Raises:
            ConfigError: not a legpress session export, or malformed.
            AlreadyExistsError: this session is already stored (the error names its id).
        """
        session = session_from_export(data)
        same = self._stored_copy(session)
        if same is not None:
            raise AlreadyExistsError(
                f"this session is already stored as session {same} (same start, device, "
                f"person and reps; `legpress sessions show {same}`); to import it again, "
                f"delete that one first (`legpress sessions delete {same}`)"
            )
        return self.save_session(session, add_missing=True)

    def _stored_copy(self, session: Session) -> int | None:
        """The id of a stored session ``session`` is a copy of (an import of the same export),
        or None. Without a start time nothing can tell two sessions apart: None."""
        if session.started_at is None:
            return None
        person = session.person.name.casefold() if session.person else None
        with self._read() as db:
            rows = db.execute(
                "SELECT s.id, p.name, (SELECT COUNT(*) FROM reps r WHERE r.session_id = s.id) "
                "FROM sessions s LEFT JOIN people p ON p.id = s.person_id "
                "WHERE s.started_at = ? AND s.device_url = ? ORDER BY s.id",
                (timestamp(session.started_at), session.device_url),
            ).fetchall()
        for sid, name, n_reps in rows:
            if (str(name).casefold() if name else None) == person and n_reps == len(session.reps):
                return int(sid)
        return None


def _calibration_for(
    history: list[CalibrationRecord], machine: str | None
) -> CalibrationRecord | None:
    """The calibration in force on ``machine``: the newest made there, else the newest."""
    if machine:
        here = [
            c
            for c in history
            if str(c.detail.get("machine") or "").casefold() == machine.casefold()
        ]
        if here:
            return here[-1]
    return history[-1] if history else None


def _close_names(name: str, names: list[str], n: int = 3) -> list[str]:
    """Up to ``n`` of ``names`` close to ``name``, ignoring case (a typo's likely meaning)."""
    import difflib

    lower = {x.lower(): x for x in names}
    return [lower[m] for m in difflib.get_close_matches(name.lower(), list(lower), n, 0.6)]


def _spelled(db: sqlite3.Connection, table: Literal["people", "machines"], name: str) -> str:
    """How ``name`` is spelled in ``table`` (people or machines) if it is there in any case.
    The columns' NOCASE folds ASCII letters only; ``ZOË`` is ``Zoë`` too."""
    name = name.strip()
    if db.execute(f"SELECT 1 FROM {table} WHERE name = ?", (name,)).fetchone():
        return name
    folded = name.casefold()
    for (stored,) in db.execute(f"SELECT name FROM {table}"):
        if str(stored).casefold() == folded:
            return str(stored)
    return name


def _did_you_mean(name: str, names: list[str]) -> str:
    """`` (did you mean 'ana'?)`` for the names close to ``name``, or ""."""
    close = _close_names(name, names)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""
