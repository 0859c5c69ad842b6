"""Schema of the session database and the ordered steps that build and upgrade it.

The schema version lives in SQLite's ``PRAGMA user_version``. Version ``n`` is reached by
applying ``MIGRATIONS[0:n]`` in order; :func:`migrate` applies the missing steps in one
transaction, so a database is always at one known version and an interrupted upgrade leaves it
as it was. Never edit a released step: add a new one at the end.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema step.

    Attributes:
        version: the schema version after this step (1 for the first).
        description: what it changes, for people reading the history.
        statements: SQL statements run in order inside the upgrade transaction.
    """

    version: int
    description: str
    statements: tuple[str, ...]


#: The first schema, exactly as released. Tests keep a frozen copy to prove upgrades work.
_V1: Final = (
    """CREATE TABLE people (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        rom_limit_mm REAL,
        lift_off_depth_mm REAL,
        margin_mm REAL NOT NULL DEFAULT 20.0,
        notes TEXT NOT NULL DEFAULT '',
        created TEXT NOT NULL
    )""",
    """CREATE TABLE machines (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        kind TEXT NOT NULL CHECK (kind IN ('incline45', 'horizontal')),
        counts_per_mm REAL,
        notes TEXT NOT NULL DEFAULT ''
    )""",
    """CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        person_id INTEGER REFERENCES people(id) ON DELETE RESTRICT,
        machine_id INTEGER REFERENCES machines(id) ON DELETE RESTRICT,
        started_at TEXT NOT NULL,
        ended_at TEXT,
        device_name TEXT NOT NULL DEFAULT '',
        device_url TEXT NOT NULL DEFAULT '',
        recording_path TEXT,
        config_json TEXT,
        calibration_json TEXT,
        summary_json TEXT
    )""",
    """CREATE TABLE sets (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        set_index INTEGER NOT NULL,
        t_start_s REAL NOT NULL,
        t_end_s REAL NOT NULL,
        UNIQUE (session_id, set_index)
    )""",
    """CREATE TABLE reps (
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        set_index INTEGER NOT NULL,
        rep_index INTEGER NOT NULL,
        t_start_s REAL NOT NULL,
        t_bottom_s REAL NOT NULL,
        t_end_s REAL NOT NULL,
        depth_mm REAL,
        rom_mm REAL,
        lowering_s REAL,
        pushing_s REAL,
        lowering_mean_mm_s REAL,
        lowering_peak_mm_s REAL,
        pushing_mean_mm_s REAL,
        pushing_peak_mm_s REAL,
        tut_s REAL,
        lumbar_contact_min REAL,
        cop_shift_mm REAL,
        lift_off INTEGER NOT NULL,
        lift_off_depth_mm REAL,
        lift_off_s REAL,
        rom_exceeded INTEGER NOT NULL,
        events TEXT NOT NULL DEFAULT '[]',
        PRIMARY KEY (session_id, rep_index),
        FOREIGN KEY (session_id, set_index) REFERENCES sets(session_id, set_index)
            ON DELETE CASCADE
    )""",
    """CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
        rep_index INTEGER NOT NULL,
        type TEXT NOT NULL,
        t_s REAL NOT NULL,
        message TEXT NOT NULL,
        evidence TEXT NOT NULL DEFAULT '{}'
    )""",
)

#: Profiles also remember the deepest calibration rep (the learned limit without a lift-off
#: needs it), and the common look-ups get indexes.
_V2: Final = (
    "ALTER TABLE people ADD COLUMN max_calibrated_depth_mm REAL",
    "CREATE INDEX sessions_by_person ON sessions(person_id, started_at)",
    "CREATE INDEX sessions_by_start ON sessions(started_at)",
    "CREATE INDEX events_by_session ON events(session_id, t_s)",
)

#: Machines are bound to a device (its URL; '' for none) and may hold a default person; a
#: session keeps the machine's name as it was when it was trained, so renaming or removing a
#: machine changes no session (``machine_id`` still links it while the machine exists).
_V3: Final = (
    "ALTER TABLE machines ADD COLUMN device_url TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE machines ADD COLUMN person_id INTEGER REFERENCES people(id) ON DELETE SET NULL",
    "ALTER TABLE sessions ADD COLUMN machine_name TEXT",
    "UPDATE sessions SET machine_name = "
    "(SELECT name FROM machines WHERE machines.id = sessions.machine_id) "
    "WHERE machine_id IS NOT NULL",
)

#: What calibration learned of a person's lift-off is kept as a history (a recalibration adds
#: a row; the profile holds the newest), with the floor the detector needs; the calibrations
#: stored before this step become the first rows of their person's history.
_V4: Final = (
    "ALTER TABLE people ADD COLUMN lift_off_floor REAL",
    """CREATE TABLE calibrations (
        id INTEGER PRIMARY KEY,
        person_id INTEGER NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        at TEXT NOT NULL,
        reps INTEGER NOT NULL,
        lift_off_reps INTEGER NOT NULL,
        lift_off_depth_mm REAL,
        lift_off_floor REAL,
        max_depth_mm REAL,
        margin_mm REAL NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}'
    )""",
    "CREATE INDEX calibrations_by_person ON calibrations(person_id, at)",
    "INSERT INTO calibrations (person_id, at, reps, lift_off_reps, lift_off_depth_mm, "
    "max_depth_mm, margin_mm, detail) SELECT id, created, 0, "
    "CASE WHEN lift_off_depth_mm IS NULL THEN 0 ELSE 1 END, lift_off_depth_mm, "
    'max_calibrated_depth_mm, margin_mm, \'{"note": "stored before the history was kept"}\' '
    "FROM people WHERE lift_off_depth_mm IS NOT NULL OR max_calibrated_depth_mm IS NOT NULL",
)

#: Sessions keep a therapist's notes.
_V5: Final = ("ALTER TABLE sessions ADD COLUMN notes TEXT NOT NULL DEFAULT ''",)

#: What calibration learned of a person's clean lower-back share per depth (JSON, NULL: not
#: learned), in the profile and in each calibration of the history.
_V6: Final = (
    "ALTER TABLE people ADD COLUMN clean_share_by_depth TEXT",
    "ALTER TABLE calibrations ADD COLUMN clean_share_by_depth TEXT",
)

#: A deleted session's or person's id is never given again (an old report, export or bookmark
#: must not name someone else): the highest id deleted is kept, and new rows are numbered
#: after it (see ``SessionStore``). Deletions before this step are not known.
_V7: Final = (
    "CREATE TABLE retired_ids (tbl TEXT PRIMARY KEY, max_id INTEGER NOT NULL)",
    *(
        f"CREATE TRIGGER {table}_retire_id AFTER DELETE ON {table} BEGIN "
        f"INSERT OR REPLACE INTO retired_ids (tbl, max_id) VALUES ('{table}', max(OLD.id, "
        f"coalesce((SELECT max_id FROM retired_ids WHERE tbl = '{table}'), 0))); END"
        for table in ("sessions", "people")
    ),
)

MIGRATIONS: Final[tuple[Migration, ...]] = (
    Migration(1, "people, machines, sessions, sets, reps, events", _V1),
    Migration(2, "people.max_calibrated_depth_mm; indexes", _V2),
    Migration(3, "machines.device_url, machines.person_id; sessions.machine_name", _V3),
    Migration(4, "people.lift_off_floor; calibrations (a person's calibration history)", _V4),
    Migration(5, "sessions.notes", _V5),
    Migration(6, "people and calibrations: clean_share_by_depth", _V6),
    Migration(7, "retired_ids: deleted sessions' and people's ids are not reused", _V7),
)

#: The version a database has after :func:`migrate`.
LATEST_VERSION: Final = MIGRATIONS[-1].version


def schema_version(conn: sqlite3.Connection) -> int:
    """The database's ``PRAGMA user_version`` (0: empty or not made by legpress)."""
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])


def migrate(conn: sqlite3.Connection, target: int = LATEST_VERSION) -> int:
    """Bring the schema up to ``target`` and return the version it was at before.

    Applies the missing steps in one ``BEGIN IMMEDIATE`` transaction (the connection must be in
    autocommit mode, ``isolation_level=None``) and re-reads the version inside it, so two
    processes opening an old database at once upgrade it once. Already at ``target``: nothing
    is written. A database newer than ``target`` is left alone; the caller decides what to do.

    Raises:
        sqlite3.Error: the upgrade failed; it was rolled back.
    """
    before = schema_version(conn)
    if before >= target:
        return before
    conn.execute("BEGIN IMMEDIATE")
    try:
        before = schema_version(conn)
        for step in MIGRATIONS:
            if before < step.version <= target:
                for sql in step.statements:
                    conn.execute(sql)
                conn.execute(f"PRAGMA user_version = {int(step.version)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return before
