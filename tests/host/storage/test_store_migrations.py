"""Schema migrations: a v1 database upgrades to the latest, once, without losing data."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import legpress.storage.migrations as mig
from legpress.detect import Profile
from legpress.errors import StoreError
from legpress.storage.migrations import LATEST_VERSION, MIGRATIONS, Migration, migrate
from legpress.storage.store import SessionStore

# The first released schema, frozen here: if someone edits MIGRATIONS[0] instead of adding a
# step, databases in the field would no longer match, and this copy makes the tests notice.
V1_SCHEMA = """
CREATE TABLE people (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    rom_limit_mm REAL,
    lift_off_depth_mm REAL,
    margin_mm REAL NOT NULL DEFAULT 20.0,
    notes TEXT NOT NULL DEFAULT '',
    created TEXT NOT NULL
);
CREATE TABLE machines (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE COLLATE NOCASE,
    kind TEXT NOT NULL CHECK (kind IN ('incline45', 'horizontal')),
    counts_per_mm REAL,
    notes TEXT NOT NULL DEFAULT ''
);
CREATE TABLE sessions (
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
);
CREATE TABLE sets (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    set_index INTEGER NOT NULL,
    t_start_s REAL NOT NULL,
    t_end_s REAL NOT NULL,
    UNIQUE (session_id, set_index)
);
CREATE TABLE reps (
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
);
CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    rep_index INTEGER NOT NULL,
    type TEXT NOT NULL,
    t_s REAL NOT NULL,
    message TEXT NOT NULL,
    evidence TEXT NOT NULL DEFAULT '{}'
);
PRAGMA user_version = 1;
"""

V1_DATA = """
INSERT INTO people (name, rom_limit_mm, lift_off_depth_mm, margin_mm, notes, created)
    VALUES ('Ana', 320.0, 350.0, 20.0, 'v1 person', '2024-06-01T08:00:00+00:00');
INSERT INTO machines (name, kind, counts_per_mm) VALUES ('Old 45', 'incline45', 20.0);
INSERT INTO sessions (person_id, machine_id, started_at, ended_at, device_url, config_json,
                      summary_json)
    VALUES (1, 1, '2024-06-01T08:10:00+00:00', '2024-06-01T08:20:00+00:00', 'sim:',
            '{"rom_limit_mm": 320.0}', '{"link": {"lost_packets": 0}}');
INSERT INTO sets (session_id, set_index, t_start_s, t_end_s) VALUES (1, 0, 1.0, 4.5);
INSERT INTO reps VALUES (1, 0, 0, 1.0, 3.0, 4.5, 330.0, 330.0, 2.0, 1.5, 165.0, 260.0, 220.0,
                         340.0, 3.5, 0.1, 38.0, 1, 322.0, 0.8, 1, '["lift_off","rom_exceeded"]');
INSERT INTO events (session_id, rep_index, type, t_s, message, evidence)
    VALUES (1, 0, 'lift_off', 2.6, 'lower back off the pad', '{"ratio": 0.1}');
"""


def make_v1(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA + V1_DATA)
    conn.commit()
    conn.close()


def schema(path: Path) -> dict[str, object]:
    """Columns, indexes and foreign keys of every table (independent of the SQL text)."""
    conn = sqlite3.connect(path)
    out: dict[str, object] = {}
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    for t in sorted(tables):
        out[t] = (
            conn.execute(f"PRAGMA table_info({t})").fetchall(),
            sorted(conn.execute(f"PRAGMA index_list({t})").fetchall()),
            conn.execute(f"PRAGMA foreign_key_list({t})").fetchall(),
        )
    out["version"] = conn.execute("PRAGMA user_version").fetchone()[0]
    conn.close()
    return out


def test_steps_are_ordered_and_contiguous() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, LATEST_VERSION + 1))
    assert LATEST_VERSION >= 2


def test_frozen_v1_matches_the_first_step(tmp_path: Path) -> None:
    make_v1(tmp_path / "frozen.db")
    conn = sqlite3.connect(tmp_path / "code.db", isolation_level=None)
    migrate(conn, target=1)
    conn.close()
    assert schema(tmp_path / "frozen.db") == schema(tmp_path / "code.db")


def test_v1_database_migrates_to_latest_keeping_data(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    make_v1(path)
    with SessionStore(path) as store:
        assert store.schema_version == LATEST_VERSION
        prof = store.get_profile("ana")
        assert prof == Profile("Ana", 320.0, 350.0, 20.0, None, "v1 person")
        s = store.get_session(1).to_dict()
        assert s["machine"] == "Old 45" and s["summary"] == {"link": {"lost_packets": 0}}
        assert s["reps"][0]["lift_off"] is True and s["reps"][0]["events"] == [
            "lift_off",
            "rom_exceeded",
        ]
        assert s["events"][0]["evidence"] == {"ratio": 0.1}
        # New columns work.
        store.save_profile(Profile("Ana", 300.0, 350.0, 25.0, 380.0, "v2"))
        assert store.get_profile("Ana").max_calibrated_depth_mm == 380.0
        # The calibration stored before the history was kept is its first entry.
        (old,) = store.calibrations("ana")
        assert old.lift_off_depth_mm == 350.0 and old.lift_off_floor is None
        assert "before the history" in str(old.detail["note"])
    # Migrated and fresh databases have the same schema.
    SessionStore(tmp_path / "fresh.db").close()
    assert schema(path) == schema(tmp_path / "fresh.db")


def test_migration_is_idempotent(tmp_path: Path) -> None:
    path = tmp_path / "v1.db"
    make_v1(path)
    SessionStore(path).close()
    first = schema(path)
    for _ in range(3):
        SessionStore(path).close()
    assert schema(path) == first
    conn = sqlite3.connect(path, isolation_level=None)
    assert migrate(conn) == LATEST_VERSION  # nothing to do: reports the version it found
    assert migrate(conn) == LATEST_VERSION
    conn.close()
    assert schema(path) == first


def test_failed_step_rolls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "x.db"
    SessionStore(path).close()
    bad = Migration(LATEST_VERSION + 1, "broken", ("CREATE TABLE extra (a)", "NOT SQL AT ALL"))
    monkeypatch.setattr(mig, "MIGRATIONS", (*MIGRATIONS, bad))
    conn = sqlite3.connect(path, isolation_level=None)
    with pytest.raises(sqlite3.Error):
        migrate(conn, target=LATEST_VERSION + 1)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST_VERSION
    assert not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'extra'").fetchone()
    conn.close()


def test_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 5}")
    conn.close()
    with pytest.raises(StoreError, match="newer legpress"):
        SessionStore(path)
