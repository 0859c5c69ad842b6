"""The session store: CRUD, set splitting, export round-trips, errors."""

from __future__ import annotations

import csv
import io
import json
import math
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from legpress.detect import DetectorConfig, Profile, learn_profile
from legpress.detect.events import Event, Rep
from legpress.errors import (
    AlreadyExistsError,
    ConfigError,
    FileError,
    LegPressError,
    NotFoundError,
    StoreError,
    UsageError,
)
from legpress.session import rep_from_dict
from legpress.storage.csvio import CSV_DECIMALS
from legpress.storage.store import CalibrationRecord, SessionStore, default_db_path
from tests.host.report.sessiondata import CALIBRATION, LIMIT_MM, analysed, populate, two_sets


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    s = SessionStore(tmp_path / "db" / "legpress.db")
    yield s
    s.close()


def rep(index: int, t0: float, depth: float = 300.0, **kw: object) -> Rep:
    base = Rep(
        index=index,
        t_start_s=t0,
        t_bottom_s=t0 + 2.0,
        t_end_s=t0 + 3.5,
        depth_mm=depth,
        rom_mm=depth,
        lowering_s=2.0,
        pushing_s=1.5,
        lowering_mean_mm_s=150.0,
        lowering_peak_mm_s=250.0,
        pushing_mean_mm_s=200.0,
        pushing_peak_mm_s=330.0,
        tut_s=3.5,
        lumbar_contact_min=0.93,
        cop_shift_mm=1.5,
        lift_off=False,
        lift_off_depth_mm=None,
        lift_off_s=0.0,
        rom_exceeded=False,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


# -- location ----------------------------------------------------------------------------------


def test_default_path_follows_env_then_xdg_then_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LEGPRESS_DB", str(tmp_path / "x.db"))
    assert default_db_path() == tmp_path / "x.db"
    monkeypatch.delenv("LEGPRESS_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_db_path() == tmp_path / "data" / "legpress" / "legpress.db"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_db_path() == tmp_path / "home" / ".local/share/legpress/legpress.db"


def test_creates_folder_wal_and_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "legpress.db"
    with SessionStore(path) as s:
        assert path.exists()
        assert s._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert s._db.execute("PRAGMA foreign_keys").fetchone()[0] == 1


# -- people and machines -----------------------------------------------------------------------


def test_people_crud(store: SessionStore) -> None:
    ana = store.add_person("Ana", rom_limit_mm=320, notes="knee")
    assert (ana.name, ana.rom_limit_mm, ana.notes) == ("Ana", 320, "knee")
    store.add_person("ben")
    assert [p.name for p in store.list_people()] == ["Ana", "ben"]
    assert store.get_person("ANA").id == ana.id  # names are case-insensitive
    with pytest.raises(AlreadyExistsError, match="already") as err:
        store.add_person("ana")
    assert err.value.exit_code == 9
    assert store.set_limit("ana", 300.5).rom_limit_mm == 300.5
    assert store.set_limit("Ana", None).rom_limit_mm is None
    with pytest.raises(ConfigError, match="more than 0 and less than 2000"):
        store.set_limit("Ana", -3)
    with pytest.raises(ConfigError, match="name"):
        store.add_person("  ")
    with pytest.raises(NotFoundError, match="legpress people add Cleo") as nf:
        store.set_limit("Cleo", 300)
    assert nf.value.exit_code == 8
    assert store.ensure_person("Cleo").name == "Cleo"
    assert store.ensure_person("cleo").name == "Cleo"


def test_profile_round_trip(store: SessionStore) -> None:
    _, a, _ = analysed(two_sets(deep=2), limit_mm=None)
    learned = learn_profile("Dee", a.reps, margin_mm=25.0, notes="learned")
    store.save_profile(learned)
    assert store.get_profile("dee") == learned
    # A therapist's limit wins over the learned one.
    store.set_limit("Dee", 280)
    prof = store.get_profile("Dee")
    assert prof.rom_limit_mm == 280 and prof.effective_limit_mm == 280
    assert prof.lift_off_depth_mm == learned.lift_off_depth_mm
    # Saving a profile replaces every field.
    store.save_profile(Profile("Dee", rom_limit_mm=None, margin_mm=10))
    assert store.get_profile("Dee") == Profile("Dee", margin_mm=10)
    assert store.get_person("Dee").to_dict()["effective_limit_mm"] is None


def test_machines(store: SessionStore) -> None:
    m = store.add_machine("Floor 2", "horizontal", counts_per_mm=19.5)
    assert store.get_machine("floor 2") == m
    store.add_machine("A")
    assert [x.name for x in store.list_machines()] == ["A", "Floor 2"]
    with pytest.raises(ConfigError, match="incline45, horizontal"):
        store.add_machine("B", "vertical")
    with pytest.raises(AlreadyExistsError):
        store.add_machine("a")
    with pytest.raises(NotFoundError):
        store.start_session(None, "no such machine")


# -- sessions ----------------------------------------------------------------------------------


def test_live_session_and_set_splitting(store: SessionStore) -> None:
    store.add_person("Ana")
    sid = store.start_session(
        "Ana",
        started_at=datetime(2025, 1, 2, 10, 0, tzinfo=UTC),
        device_url="sim:",
        config=DetectorConfig(rom_limit_mm=350),
        calibration=CALIBRATION,
    )
    # Set 0: reps 5 s apart; a 31 s rest starts set 1; a 7.9 s pause does not start set 2
    # (the session's detector rule: set_gap_s 8 s).
    starts = [0.0, 5.0, 10.0, 44.5, 49.0, 60.4]
    sets = [store.add_rep(sid, rep(i, t)) for i, t in enumerate(starts)]
    assert sets == [0, 0, 0, 1, 1, 1]
    assert store.add_rep(sid, rep(6, 200.0), set_index=5) == 5  # explicit
    ev = Event("lift_off", 3.0, 0, "lower back off the pad", {"ratio": 0.1, "cells": [0, 1]})
    store.add_event(sid, ev)
    store.add_event(sid, Event("rom_warning", 201.0, 7, "approaching"))  # rep not stored yet
    store.end_session(sid, {"link": {"lost_packets": 2}})

    s = store.get_session(sid)
    assert s.person is not None and s.person.name == "Ana" and s.device_url == "sim:"
    assert s.started_at == "2025-01-02T10:00:00+00:00" and s.ended_at
    assert s.config is not None and s.config["rom_limit_mm"] == 350
    assert s.calibration == CALIBRATION.to_dict()
    assert s.summary == {"link": {"lost_packets": 2}}
    assert [(x.index, x.reps) for x in s.sets] == [(0, 3), (1, 3), (5, 1)]
    assert s.sets[1].t_start_s == 44.5 and s.sets[1].t_end_s == 63.9
    assert [r.rep for r in s.reps] == [rep(i, t) for i, t in enumerate(starts)] + [rep(6, 200.0)]
    assert s.events[0] == ev
    assert s.stats.reps == 7 and s.stats.sets == 3

    with pytest.raises(AlreadyExistsError, match="rep 2 of session"):
        store.add_rep(sid, rep(2, 300.0))
    with pytest.raises(NotFoundError, match="sessions list"):
        store.add_rep(999, rep(0, 0.0))
    with pytest.raises(NotFoundError):
        store.get_session(999)


def test_set_rest_is_configurable(tmp_path: Path) -> None:
    with SessionStore(tmp_path / "x.db", set_rest_s=4.0) as s:
        sid = s.start_session()
        assert [s.add_rep(sid, rep(i, 5.0 * i)) for i in range(3)] == [0, 0, 0]
        assert s.add_rep(sid, rep(3, 20.0)) == 1
    with pytest.raises(ConfigError):
        SessionStore(tmp_path / "y.db", set_rest_s=0)


def test_import_analysis_matches_the_analyzer(store: SessionStore) -> None:
    _, a, cfg = analysed()
    store.add_person("Ana")
    sid = store.import_analysis("Ana", a.reps, a.events, config=cfg, summary={"k": 1})
    s = store.get_session(sid)
    assert [r.rep for r in s.reps] == a.reps
    assert list(s.events) == a.events
    assert [x.reps for x in s.sets] == [5, 5]
    st = s.stats
    assert (st.reps, st.sets, st.lift_offs, st.rom_exceeded) == (10, 2, 2, 2)
    assert st.form_events == 1 and st.max_depth_mm == 395.0
    assert s.config == json.loads(json.dumps(s.config))  # JSON-ready


def test_import_analysis_is_one_transaction(store: SessionStore) -> None:
    store.add_person("Ana")
    with pytest.raises(AlreadyExistsError):
        store.import_analysis("Ana", [rep(0, 0.0), rep(0, 10.0)], [])
    assert store.list_sessions() == []


def test_list_sessions(store: SessionStore) -> None:
    ids = populate(store)
    rows = store.list_sessions()
    assert [r.id for r in rows] == ids  # oldest first; Ben's session is today
    ana = store.list_sessions("ana")
    assert [r.id for r in ana] == ids[:3]
    assert [(r.lift_offs, r.rom_exceeded) for r in ana] == [(2, 2), (1, 1), (0, 0)]
    assert all(r.rom_limit_mm == LIMIT_MM and r.reps == 10 and r.sets == 2 for r in ana)
    assert ana[0].machine == "Clinic 45" and ana[0].form_events == 1
    with pytest.raises(NotFoundError):
        store.list_sessions("Zed")


def test_delete_session_cascades(store: SessionStore) -> None:
    ids = populate(store, n_sessions=1)
    store.delete_session(ids[0])
    db = store._db
    for table in ("sets", "reps", "events"):
        n = db.execute(f"SELECT count(*) FROM {table} WHERE session_id = ?", (ids[0],))
        assert n.fetchone()[0] == 0
    with pytest.raises(NotFoundError):
        store.delete_session(ids[0])


def test_a_deleted_id_is_never_given_again(store: SessionStore) -> None:
    """An old report or export names session 3: after 3 is deleted, no other session (or
    patient) may become 3."""
    first, second = store.start_session(), store.start_session()
    store.delete_session(second)
    third = store.start_session()
    assert third == second + 1
    store.delete_session(third)
    store.delete_session(first)
    assert store.start_session() == third + 1
    assert store.save_session(store.get_session(third + 1)) == third + 2
    ana = store.add_person("Ana")
    store.add_person("Ben")
    assert store.delete_person("Ben") >= 0
    assert store.ensure_person("Bea").id == ana.id + 2
    store.merge_people("Bea", "Ana")
    store.save_profile(Profile("Cy"))
    assert store.get_person("Cy").id == ana.id + 3


def test_non_finite_metrics_survive_as_nan(store: SessionStore) -> None:
    sid = store.start_session()
    store.add_rep(sid, rep(0, 0.0, pushing_peak_mm_s=math.nan, cop_shift_mm=None))
    back = store.get_session(sid).reps[0]
    assert math.isnan(back.pushing_peak_mm_s) and back.cop_shift_mm is None
    json.loads(store.export_session(sid, "json"))  # still valid JSON (no NaN)


def test_persists_across_reopen(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    with SessionStore(path) as s:
        ids = populate(s, n_sessions=2)
        before = s.get_session(ids[1])
    with SessionStore(path) as s:
        assert s.get_session(ids[1]) == before


# -- export ------------------------------------------------------------------------------------


def test_export_json_round_trip(store: SessionStore, tmp_path: Path) -> None:
    ids = populate(store, n_sessions=1)
    out = tmp_path / "s.json"
    text = store.export_session(ids[0], "json", out)
    assert out.read_text() == text
    data = json.loads(text)
    assert data["format"] == "legpress-session" and data["format_version"] == 1
    original = store.get_session(ids[0])
    with SessionStore(tmp_path / "other.db") as other:
        new_id = other.import_session(data)
        copy = other.get_session(new_id)
        assert other.get_machine("Clinic 45").kind == "incline45"
    as_dicts = copy.to_dict(), original.to_dict()
    for key in ("id", "person_profile", "events"):
        as_dicts[0].pop(key), as_dicts[1].pop(key)
    assert as_dicts[0] == as_dicts[1]
    assert [rep_from_dict(r) for r in data["reps"]] == list(store.get_session(ids[0]).reps)
    with pytest.raises(ConfigError, match="not a legpress session"):
        store.import_session({"reps": []})


def test_the_same_export_is_imported_once(store: SessionStore, tmp_path: Path) -> None:
    ids = populate(store, n_sessions=2)
    data = json.loads(store.export_session(ids[1], "json"))
    with SessionStore(tmp_path / "other.db") as other:
        first = other.import_session(data)
        with pytest.raises(AlreadyExistsError, match=f"already stored as session {first} "):
            other.import_session(data)
        # The session exported again from the copy is the same session too.
        with pytest.raises(AlreadyExistsError, match=f"as session {first} "):
            other.import_session(json.loads(other.export_session(first, "json")))
        assert [r.id for r in other.list_sessions()] == [first]
        # Another session of the same person, started at another time, is imported.
        other.import_session(json.loads(store.export_session(ids[0], "json")))
        assert len(other.list_sessions()) == 2
    # Deleted, it can be imported again.
    with pytest.raises(AlreadyExistsError):
        store.import_session(data)
    store.delete_session(ids[1])
    assert store.import_session(data) > ids[1]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format_version": "1"}, "format_version must be a whole number"),
        ({"started_at": None}, "'started_at' is malformed"),
        ({"started_at": "yesterday"}, "'started_at' is not an ISO 8601 date"),
        ({"reps": "abc"}, "'reps' is malformed: got str"),
        ({"events": [7]}, "events[0] is malformed: expected an object"),
        ({"reps": [{"set": 1}]}, "a rep has no 'index'"),
        ({"reps": [{"index": 1e300}]}, "index 1e+300 is malformed: index must be a whole number"),
        ({"reps": [{"index": 2, "t_start_s": None}]}, "index 2 is malformed: t_start_s must be"),
        ({"events": [{"type": "lift_off", "t_s": 1}]}, "an event has no 'rep'"),
        ({"events": [{"type": "nope", "t_s": 1, "rep": 0}]}, "type 'nope' is malformed"),
    ],
)
def test_a_malformed_export_is_refused_naming_what_is_wrong(
    store: SessionStore, change: dict[str, object], message: str
) -> None:
    ids = populate(store, n_sessions=1)
    data = {**json.loads(store.export_session(ids[0], "json")), **change}
    store.delete_session(ids[0])
    before = store.list_sessions()
    with pytest.raises(ConfigError) as err:
        store.import_session(data)
    assert message in str(err.value)
    assert store.list_sessions() == before


def test_two_reps_with_one_index_are_refused(store: SessionStore) -> None:
    ids = populate(store, n_sessions=1)
    data = json.loads(store.export_session(ids[0], "json"))
    data["reps"][1]["index"] = data["reps"][0]["index"]
    with pytest.raises(ConfigError, match="two reps have the index"):
        store.import_session(data)


def test_export_csv_round_trip(store: SessionStore) -> None:
    ids = populate(store, n_sessions=1)
    buf = io.StringIO()
    text = store.export_session(ids[0], "csv", buf)
    assert buf.getvalue() == text
    rows = list(csv.DictReader(io.StringIO(text)))
    session = store.get_session(ids[0]).to_dict()
    assert tuple(rows[0]) == SessionStore.CSV_COLUMNS
    assert len(rows) == len(session["reps"]) == 10
    for row, r in zip(rows, session["reps"], strict=True):
        assert int(row["rep"]) == r["index"] and int(row["set"]) == r["set"]
        assert row["person"] == "Ana"
        for name in ("depth_mm", "lowering_s", "pushing_peak_mm_s", "t_start_s"):
            # Rounded to 6 decimals (1 µs, 1 nm: below what the device resolves), then the
            # shortest text that reads back as exactly that number.
            assert float(row[name]) == round(r[name], CSV_DECIMALS)
            assert row[name] == repr(round(r[name], CSV_DECIMALS))
            assert len(row[name].split(".")[-1]) <= CSV_DECIMALS
        assert bool(int(row["lift_off"])) == r["lift_off"]
        assert row["events"].split(";") == (r["events"] or [""])
        if r["lift_off"]:
            assert "lower back off the pad" in row["event_messages"]
        if r["lift_off_depth_mm"] is None:
            assert row["lift_off_depth_mm"] == ""


def test_export_errors(store: SessionStore, tmp_path: Path) -> None:
    ids = populate(store, n_sessions=1)
    with pytest.raises(UsageError):
        store.export_session(ids[0], "xml")  # type: ignore[arg-type]
    with pytest.raises(FileError, match="cannot write"):
        store.export_session(ids[0], "json", tmp_path / "missing" / "dir" / "x.json")


# -- failures ----------------------------------------------------------------------------------


def test_locked_database_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    SessionStore(path).close()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with SessionStore(path, timeout_s=0.05) as s:
            with pytest.raises(StoreError, match="busy") as err:
                s.add_person("Ana")
            assert "\n" not in str(err.value) and err.value.exit_code == 7
            assert s.list_people() == []  # readers are not blocked (WAL)
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "c.db"
    path.write_bytes(b"this is not sqlite at all\n" * 100)
    with pytest.raises(StoreError, match="damaged or not a legpress database"):
        SessionStore(path)


def test_folder_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="is a folder"):
        SessionStore(tmp_path)


def test_closed_store(tmp_path: Path) -> None:
    s = SessionStore(tmp_path / "z.db")
    s.close()
    s.close()
    with pytest.raises(LegPressError, match="closed"):
        s.list_people()


@pytest.mark.parametrize(
    "name",
    ['=HYPERLINK("http://evil.example","click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)"],
)
def test_export_csv_neutralises_formulas(store: SessionStore, name: str) -> None:
    store.add_person(name)
    _, a, cfg = analysed(two_sets(deep=1))
    sid = store.import_analysis(name, a.reps, a.events, config=cfg)
    rows = list(csv.DictReader(io.StringIO(store.export_session(sid, "csv"))))
    assert rows and all(row["person"] == "'" + name for row in rows)
    assert all(not row["event_messages"].startswith(("=", "+", "-", "@")) for row in rows)


def test_a_calibrations_clean_share_is_kept_in_the_profile_and_the_history(
    store: SessionStore,
) -> None:
    store.add_person("Ana")
    first = (None, 0.98, 0.9)
    second = (None, 0.97, 0.85, 0.8)
    for shares in (first, second):
        store.add_calibration(
            CalibrationRecord("Ana", 3, 2, 300.0, 0.3, 320.0, 20.0, clean_share_by_depth=shares)
        )
    assert store.get_profile("Ana").clean_share_by_depth == second
    assert [c.clean_share_by_depth for c in store.calibrations("Ana")] == [first, second]
    # A profile saved whole keeps it too, and so does one without.
    store.save_profile(Profile("Ben", clean_share_by_depth=first))
    assert store.get_profile("Ben").clean_share_by_depth == first
    store.save_profile(Profile("Ben"))
    assert store.get_profile("Ben").clean_share_by_depth is None
    # A damaged value reads as not learned, never as an error.
    with sqlite3.connect(store.path) as raw:
        raw.execute("UPDATE people SET clean_share_by_depth = '[1, -3]' WHERE name = 'Ana'")
    assert store.get_profile("Ana").clean_share_by_depth is None


def test_a_person_is_judged_on_each_machine_by_their_calibration_there(
    store: SessionStore,
) -> None:

    store.add_person("Ana", rom_limit_mm=310)

    def calibrate(depth: float, machine: str, shares: tuple[float | None, ...]) -> None:
        store.add_calibration(
            CalibrationRecord(
                "Ana",
                3,
                2,
                depth,
                0.3,
                depth + 20,
                20.0,
                detail={"machine": machine},
                clean_share_by_depth=shares,
            )
        )

    calibrate(300.0, "LP 1", (None, 0.9))
    calibrate(250.0, "LP 2", (None, 0.8))  # the newest
    on_1 = store.get_profile("Ana", "lp 1")  # names are case-insensitive
    assert (on_1.lift_off_depth_mm, on_1.clean_share_by_depth) == (300.0, (None, 0.9))
    assert on_1.rom_limit_mm == 310 and on_1.max_calibrated_depth_mm == 320.0
    assert store.calibrated_on("Ana", "LP 1") == "LP 1"
    # On the newest's machine, on one she was never calibrated on, or with no machine: the
    # newest calibration.
    for machine in ("LP 2", "LP 3", None):
        assert store.get_profile("Ana", machine).lift_off_depth_mm == 250.0
    assert store.calibrated_on("Ana", "LP 3") == "LP 2"
    assert store.calibrated_on("nobody", "LP 1") is None


def test_where_each_calibration_is_in_force() -> None:
    from legpress.storage.store import CalibrationRecord, where_in_force

    def on(*machines: str | None) -> list[str]:
        return where_in_force(
            [
                CalibrationRecord("Ana", 3, 1, 300.0, 0.2, 320.0, 20.0, detail={"machine": m})
                for m in machines
            ]
        )

    assert on() == []
    assert on(None) == ["on every machine"]
    assert on("LP") == ["on LP, and on every other machine"]
    assert on("LP", "lp") == ["", "on lp, and on every other machine"]  # one machine, any case
    assert on("LP", "LP 2") == ["on LP", "on LP 2, and on machines without one of their own"]
    assert on("LP", None) == ["on LP", "on machines without one of their own"]
    assert on(None, "LP") == ["", "on LP, and on every other machine"]


def test_an_unknown_name_suggests_the_close_ones(tmp_path: Path) -> None:
    with SessionStore(tmp_path / "s.db") as store:
        store.add_person("Ana")
        store.add_machine("Leg press 2", device_url="sim:")
        with pytest.raises(
            NotFoundError, match=r"'anna' \(did you mean 'Ana'\?\): if they are new"
        ):
            store.get_person("anna")
        with pytest.raises(NotFoundError, match=r"'zed': add them with `legpress people add zed`"):
            store.get_person("zed")
        with pytest.raises(NotFoundError, match=r"'Legpress 2' \(did you mean 'Leg press 2'\?\)"):
            store.get_machine("Legpress 2")


def test_names_are_one_whatever_their_case_in_any_script(store: SessionStore) -> None:
    # SQLite's NOCASE folds only A-Z: "ZOË MÜLLER" made a second patient, without her limit.
    store.add_person("Zoë Müller", rom_limit_mm=280)
    with pytest.raises(AlreadyExistsError):
        store.add_person("ZOË MÜLLER")
    assert store.get_person("zoë müller").name == "Zoë Müller"
    assert store.ensure_person("ZOË MÜLLER").name == "Zoë Müller"
    assert store.get_profile("ZOË MÜLLER").rom_limit_mm == 280
    store.add_person("Мария")
    with pytest.raises(AlreadyExistsError):
        store.rename_person("Мария", "ZOË MÜLLER")
    assert sorted(p.name for p in store.list_people()) == ["Zoë Müller", "Мария"]
    store.add_machine("Presse Über")
    with pytest.raises(AlreadyExistsError):
        store.add_machine("PRESSE ÜBER")
    assert store.get_machine("presse über").name == "Presse Über"


def test_a_calibration_record_travels_as_json_and_bad_ones_are_refused(tmp_path: Path) -> None:
    """As a hub publishes one over MQTT and a collector stores it."""
    made = CalibrationRecord(
        "Ana",
        3,
        2,
        300.0,
        0.3,
        320.0,
        20.0,
        detail={"machine": "LP", "by": "hub"},
        clean_share_by_depth=(1.0, None, 0.8),
    )
    data = json.loads(json.dumps(made.to_dict()))
    assert data["at"]  # now, when it had none
    back = CalibrationRecord.from_dict(data)
    assert replace(back, at="") == made
    with SessionStore(tmp_path / "c.db") as store:
        store.add_person("Ana")
        store.add_calibration(back)
        (kept,) = store.calibrations("Ana")
        assert kept.clean_share_by_depth == (1.0, None, 0.8) and kept.at == data["at"]
    for key, value, why in (
        ("person", "", "needs its 'person'"),
        ("reps", "3", "must be counts"),
        ("lift_off_reps", 4, "must be counts"),
        ("lift_off_depth_mm", "deep", "'lift_off_depth_mm' must be a number or null"),
        ("max_depth_mm", float("nan"), "'max_depth_mm' must be a number or null"),
        ("clean_share_by_depth", [1.0, -2], "clean_share_by_depth must hold shares"),
        ("detail", [1], "'detail' must be an object"),
    ):
        with pytest.raises(ValueError, match=why):
            CalibrationRecord.from_dict({**data, key: value})
