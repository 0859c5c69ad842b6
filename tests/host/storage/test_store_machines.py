"""Machines in the store: device bindings, default people, rename and remove, and what the
sessions keep (the machine's name as it was when they were trained)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from legpress.errors import AlreadyExistsError, ConfigError, NotFoundError
from legpress.storage.store import SessionStore


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    s = SessionStore(tmp_path / "legpress.db")
    yield s
    s.close()


def test_a_machine_holds_a_device_and_a_default_person(store: SessionStore) -> None:
    store.add_person("Ana")
    m = store.add_machine("Leg press 2", device_url="ble:LegPress-3A7F", person="ana")
    assert (m.name, m.device_url, m.person) == ("Leg press 2", "ble:LegPress-3A7F", "Ana")
    bare = store.add_machine("Spare")
    assert (bare.device_url, bare.person) == ("", None)
    assert store.set_machine_person("spare", "Ana").person == "Ana"
    assert store.set_machine_person("spare", None).person is None
    assert store.set_machine_device("spare", "serial:/dev/ttyUSB0").device_url == (
        "serial:/dev/ttyUSB0"
    )
    assert store.set_machine_counts("spare", 19.5).counts_per_mm == 19.5
    assert [(x.name, x.device_url) for x in store.list_machines()] == [
        ("Leg press 2", "ble:LegPress-3A7F"),
        ("Spare", "serial:/dev/ttyUSB0"),
    ]
    assert store.get_machine("LEG PRESS 2").to_dict()["person"] == "Ana"


def test_bad_bindings_are_refused(store: SessionStore) -> None:
    store.add_machine("A", device_url="ble:LegPress-3A7F")
    with pytest.raises(AlreadyExistsError, match="already the device of machine 'A'"):
        store.add_machine("B", device_url="ble:legpress-3a7f")  # BLE names ignore case
    with pytest.raises(NotFoundError, match="no person named 'Zed'"):
        store.add_machine("B", person="Zed")
    assert [m.name for m in store.list_machines()] == ["A"]  # nothing half-added
    store.add_machine("B")
    with pytest.raises(AlreadyExistsError):
        store.set_machine_device("B", "ble:LegPress-3A7F")
    store.set_machine_device("A", "ble:LEGPRESS-3A7F")  # its own device, in other letters
    with pytest.raises(NotFoundError, match="legpress machines list"):
        store.set_machine_person("C", None)
    with pytest.raises(ConfigError):
        store.set_machine_counts("A", -1.0)


def test_a_person_removed_leaves_the_machine_without_a_default(tmp_path: Path) -> None:
    with SessionStore(tmp_path / "x.db") as store:
        store.add_person("Ana")
        store.add_machine("LP", person="Ana")
        store._db.execute("DELETE FROM people WHERE name = 'Ana'")  # what a people delete does
        assert store.get_machine("LP").person is None


def test_people_renamed_merged_and_deleted_follow_on_their_machines(store: SessionStore) -> None:
    store.add_person("Ana")
    store.add_person("Anna")
    store.add_machine("LP", person="Anna")
    store.merge_people("Anna", "Ana")  # a typo: Anna was Ana
    assert store.get_machine("LP").person == "Ana"
    store.rename_person("Ana", "Ana B")
    assert store.get_machine("LP").person == "Ana B"
    store.delete_person("Ana B")
    assert store.get_machine("LP").person is None


def test_rename_keeps_the_sessions_names_and_their_link(store: SessionStore) -> None:
    store.add_machine("LP2", "horizontal", device_url="sim:clean")
    before = store.start_session(None, "lp2")
    renamed = store.rename_machine("LP2", "Leg press 2")
    assert renamed.name == "Leg press 2" and renamed.device_url == "sim:clean"
    after = store.start_session(None, "Leg press 2")
    rows = {r.id: r.machine for r in store.list_sessions()}
    assert rows == {before: "LP2", after: "Leg press 2"}
    old = store.get_session(before).machine
    assert old is not None and old.name == "LP2" and old.kind == "horizontal"
    assert old.id == renamed.id  # still the same machine
    assert store.count_machine_sessions("Leg press 2") == 2
    assert store.rename_machine("leg press 2", "LEG PRESS 2").name == "LEG PRESS 2"  # case only
    store.add_machine("Other")
    with pytest.raises(AlreadyExistsError):
        store.rename_machine("Other", "leg press 2")
    with pytest.raises(ConfigError):
        store.rename_machine("Other", "  ")
    with pytest.raises(NotFoundError):
        store.rename_machine("Nope", "X")


def test_remove_keeps_the_sessions_with_the_machines_name(store: SessionStore) -> None:
    store.add_machine("Leg press 1", device_url="ble:LegPress-1111")
    sid = store.start_session(None, "Leg press 1")
    store.end_session(sid)
    assert store.remove_machine("leg press 1") == 1
    assert store.list_machines() == []
    assert [r.machine for r in store.list_sessions()] == ["Leg press 1"]
    kept = store.get_session(sid).machine
    assert kept is not None and kept.name == "Leg press 1" and kept.id is None
    assert store.get_session(sid).to_dict()["machine"] == "Leg press 1"
    # The name and the device are free again; the old session does not join the new machine.
    store.add_machine("Leg press 1", device_url="ble:LegPress-1111")
    assert store.count_machine_sessions("Leg press 1") == 0
    with pytest.raises(NotFoundError):
        store.remove_machine("Leg press 9")


def test_v2_sessions_get_their_machine_name_on_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "v2.db"
    conn = sqlite3.connect(path, isolation_level=None)
    from legpress.storage.migrations import migrate

    migrate(conn, target=2)
    conn.execute("INSERT INTO machines (name, kind) VALUES ('Old 45', 'incline45')")
    conn.execute("INSERT INTO sessions (machine_id, started_at) VALUES (1, '2026-01-01T10:00Z')")
    conn.execute("INSERT INTO sessions (started_at) VALUES ('2026-01-02T10:00Z')")
    conn.close()
    with SessionStore(path) as store:
        assert [r.machine for r in store.list_sessions()] == ["Old 45", None]
        m = store.get_machine("Old 45")
        assert (m.device_url, m.person) == ("", None)
        store.rename_machine("Old 45", "New 45")
        assert [r.machine for r in store.list_sessions()] == ["Old 45", None]
