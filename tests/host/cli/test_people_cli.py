"""People and session notes through `legpress`: rename, delete (confirmed, with their
sessions), merge, a typo in --person never making a new patient, notes shown and escaped."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from legpress.cli.main import main
from legpress.errors import AlreadyExistsError, NotFoundError, UsageError
from legpress.storage.store import SessionStore
from tests.host.report.sessiondata import analysed, two_sets

SIM = "sim:scenario=liftoff,seed=2,realtime=0,duration=8"


def _db(tmp_path: Path) -> Path:
    db = tmp_path / "s.db"
    with SessionStore(db) as store:
        store.add_person("Ana", rom_limit_mm=320, notes="post-op")
        store.add_person("Aan")  # a typo that got in
        _, a, cfg = analysed(two_sets())
        store.import_analysis("Ana", a.reps, a.events, config=cfg)
        store.import_analysis("Aan", a.reps, a.events, config=cfg)
        store.import_analysis("Aan", a.reps, a.events, config=cfg)
    return db


def test_store_rename_delete_merge(tmp_path: Path) -> None:
    with SessionStore(_db(tmp_path)) as store:
        with pytest.raises(AlreadyExistsError, match="people merge"):
            store.rename_person("Aan", "ana")
        assert store.rename_person("ana", "ANA").name == "ANA"  # a new spelling of the same
        merged = store.merge_people("Aan", "Ana")
        assert merged.rom_limit_mm == 320 and merged.notes == "post-op"
        assert [r.person for r in store.list_sessions()] == ["ANA"] * 3
        with pytest.raises(NotFoundError):
            store.get_person("Aan")
        with pytest.raises(UsageError, match="same person"):
            store.merge_people("ana", "ANA")
        assert store.delete_person("Ana") == 3
        assert store.list_sessions() == [] and store.list_people() == []
        with pytest.raises(NotFoundError):
            store.delete_person("Ana")


def test_people_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(_db(tmp_path))
    assert main(["people", "rename", "Ana", "Ana Lopez", "--db", db]) == 0
    assert main(["people", "rename", "Aan", "ana lopez", "--db", db]) == 9
    assert "legpress people merge" in capsys.readouterr().err
    # Irreversible changes need confirmation; without a terminal, --yes.
    assert main(["people", "delete", "Aan", "--db", db]) == 2
    assert "deletes their 2 sessions too" in capsys.readouterr().err
    assert main(["people", "merge", "Aan", "Ana Lopez", "--db", db]) == 2
    assert main(["people", "merge", "Aan", "Ana Lopez", "--db", db, "--yes"]) == 0
    assert "2 session(s) moved" in capsys.readouterr().out
    assert main(["people", "--db", db]) == 0  # bare `people` lists them
    assert "Ana Lopez" in capsys.readouterr().out
    assert main(["people", "delete", "Ana Lopez", "--db", db, "--yes"]) == 0
    assert "Deleted Ana Lopez and 3 sessions." in capsys.readouterr().out
    assert main(["sessions", "--db", db]) == 0  # bare `sessions` lists them
    assert "No sessions yet." in capsys.readouterr().out


def test_confirmation_on_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(_db(tmp_path))

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Tty())
    monkeypatch.setattr("sys.stderr", Tty())
    answers = iter(["n", "y"])
    questions: list[str] = []
    monkeypatch.setattr("builtins.input", lambda q="": questions.append(q) or next(answers))
    assert main(["people", "delete", "Aan", "--db", db]) == 2
    assert main(["people", "delete", "Aan", "--db", db]) == 0
    assert "Delete Aan and their 2 sessions" in questions[0]
    with SessionStore(db) as store:
        assert [p.name for p in store.list_people()] == ["Ana"]


def test_a_typo_in_person_never_makes_a_new_patient(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(_db(tmp_path))
    assert main(["monitor", SIM, "--person", "Anaa", "--db", db, "--json"]) == 8
    err = capsys.readouterr().err
    assert "no person named 'Anaa' (did you mean 'Ana'?)" in err and "--new-person" in err
    assert main(["calibrate", SIM, "--person", "Anaa", "--db", db, "--yes"]) == 8
    capsys.readouterr()
    with SessionStore(db) as store:
        assert [p.name for p in store.list_people()] == ["Aan", "Ana"]
    assert main(["monitor", SIM, "--person", "Bo", "--new-person", "--db", db, "--json"]) == 0
    capsys.readouterr()
    assert main(["monitor", SIM, "--person", "ana", "--db", db, "--json"]) == 0  # known
    with SessionStore(db) as store:
        assert [p.name for p in store.list_people()] == ["Aan", "Ana", "Bo"]


def test_session_notes_are_kept_shown_and_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(_db(tmp_path))
    assert main(["sessions", "note", "1", "knee pain on the left <b>set 2</b>", "--db", db]) == 0
    assert main(["sessions", "note", "1", "stopped early", "--append", "--db", db]) == 0
    capsys.readouterr()
    assert main(["sessions", "show", "1", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "Notes:     knee pain on the left <b>set 2</b>\n           stopped early" in out
    assert main(["sessions", "show", "1", "--db", db, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["notes"].endswith("\nstopped early")
    pytest.importorskip("matplotlib")
    html = tmp_path / "r.html"
    assert main(["report", "1", "--db", db, "-o", str(html)]) == 0
    text = html.read_text("utf-8")
    assert "knee pain on the left &lt;b&gt;set 2&lt;/b&gt;" in text and "<b>set 2" not in text
    assert main(["sessions", "note", "1", "", "--db", db]) == 0
    assert "notes cleared" in capsys.readouterr().out
    with SessionStore(db) as store:
        assert store.get_session(1).notes == ""
        exported = store.get_session(2)
    assert exported.notes == ""
    assert main(["sessions", "note", "99", "x", "--db", db]) == 8


def test_a_merge_keeps_both_calibration_histories_and_one_whole_calibration(
    tmp_path: Path,
) -> None:
    from legpress.storage.store import CalibrationRecord

    with SessionStore(tmp_path / "s.db") as store:
        store.add_person("Ana")
        store.add_person("Aan")
        store.add_calibration(
            CalibrationRecord("Aan", 3, 2, 300.0, 0.3, 320.0, 15.0, clean_share_by_depth=(0.9,))
        )
        merged = store.merge_people("Aan", "Ana")  # Ana had no calibration: she takes Aan's
        assert (merged.lift_off_depth_mm, merged.lift_off_floor, merged.margin_mm) == (
            300.0,
            0.3,
            15.0,
        )
        assert merged.clean_share_by_depth == (0.9,)
        (kept,) = store.calibrations("Ana")  # the history moved with the calibration
        assert kept.lift_off_depth_mm == 300.0
        # Into somebody calibrated: their own calibration stays whole; the history is joined.
        store.add_person("Ann")
        store.add_calibration(CalibrationRecord("Ann", 3, 0, None, None, 280.0, 20.0))
        merged = store.merge_people("Ann", "Ana")
        assert merged.lift_off_depth_mm == 300.0 and merged.clean_share_by_depth == (0.9,)
        assert len(store.calibrations("Ana")) == 2
