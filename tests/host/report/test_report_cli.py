"""``legpress people``, ``legpress sessions`` and ``legpress report``: output and exit codes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

import legpress.cli.report as report_cli
from legpress.session import Session
from legpress.storage.store import SessionStore

from .clirun import run
from .sessiondata import analysed, populate, two_sets

pytest.importorskip("matplotlib", reason="reports need matplotlib: pip install 'legpress[report]'")


@pytest.fixture
def db(tmp_path: Path) -> tuple[str, list[int]]:
    path = tmp_path / "legpress.db"
    with SessionStore(path) as store:
        ids = populate(store, 3)
    return str(path), ids


def one_line_error(err: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err


# -- people ------------------------------------------------------------------------------------


def test_people_add_list_set_limit(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = str(tmp_path / "p.db")
    code, out, _ = run(capsys, "people", "add", "Cleo", "--rom-limit-mm", "330", "--db", db)
    assert code == 0 and "Added Cleo (ROM limit 330 mm)" in out
    assert run(capsys, "people", "add", "Dan", "--notes", "left knee", "--db", db)[0] == 0
    code, out, _ = run(capsys, "people", "list", "--db", db)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["Name", "Limit"]
    assert lines[1].startswith("Cleo") and "330 (therapist)" in lines[1]
    assert lines[2].startswith("Dan") and "left knee" in lines[2]
    code, out, _ = run(capsys, "people", "set-limit", "dan", "310", "--db", db)
    assert code == 0 and "Dan's ROM limit is now 310 mm" in out
    code, out, _ = run(capsys, "people", "set-limit", "Dan", "none", "--db", db)
    assert code == 0 and "Cleared" in out
    code, out, _ = run(capsys, "people", "list", "--json", "--db", db)
    people = json.loads(out)
    assert [(p["name"], p["rom_limit_mm"]) for p in people] == [("Cleo", 330.0), ("Dan", None)]


def test_people_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    db = str(tmp_path / "p.db")
    run(capsys, "people", "add", "Cleo", "--db", db)
    code, _, err = run(capsys, "people", "add", "cleo", "--db", db)
    assert code == 9 and "already in the database" in err
    one_line_error(err)
    code, _, err = run(capsys, "people", "set-limit", "Zed", "300", "--db", db)
    assert code == 8 and "legpress people add Zed" in err
    one_line_error(err)
    code, _, err = run(capsys, "people", "set-limit", "Cleo", "-20", "--db", db)
    assert code == 2 and "more than 0 and less than 2000" in err
    one_line_error(err)
    code, _, err = run(capsys, "people", "set-limit", "Cleo", "deep", "--db", db)
    assert code == 2 and "number of millimetres" in err
    assert "Traceback" not in err


# -- sessions ----------------------------------------------------------------------------------


def test_sessions_list(capsys: pytest.CaptureFixture[str], db: tuple[str, list[int]]) -> None:
    path, ids = db
    code, out, _ = run(capsys, "sessions", "list", "--db", path)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["ID", "Started", "Person"]
    assert len(lines) == 1 + len(ids)
    code, out, _ = run(capsys, "sessions", "list", "--person", "ana", "--json", "--db", path)
    rows = json.loads(out)
    assert [r["id"] for r in rows] == ids[:3]
    assert [r["lift_offs"] for r in rows] == [2, 1, 0]
    code, _, err = run(capsys, "sessions", "list", "--person", "Zed", "--db", path)
    assert code == 8
    one_line_error(err)


def test_database_from_environment(
    capsys: pytest.CaptureFixture[str], db: tuple[str, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, ids = db
    monkeypatch.setenv("LEGPRESS_DB", path)
    code, out, _ = run(capsys, "sessions", "list", "--json")
    assert code == 0 and len(json.loads(out)) == len(ids)


def test_sessions_show(capsys: pytest.CaptureFixture[str], db: tuple[str, list[int]]) -> None:
    path, ids = db
    code, out, _ = run(capsys, "sessions", "show", str(ids[0]), "--db", path)
    assert code == 0
    assert out.startswith(f"Session {ids[0]}: Ana")
    assert "ROM limit: 360 mm" in out and "lower back lifted in 2" in out
    assert "lower back off the pad" in out  # an alert message
    code, out, _ = run(capsys, "sessions", "show", str(ids[0]), "--json", "--db", path)
    data = json.loads(out)
    assert data["id"] == ids[0] and len(data["reps"]) == 10 and data["stats"]["sets"] == 2
    code, _, err = run(capsys, "sessions", "show", "999", "--db", path)
    assert code == 8 and "no session 999" in err
    one_line_error(err)
    code, _, err = run(capsys, "sessions", "show", "abc", "--db", path)
    assert code == 2 and "Traceback" not in err


def test_sessions_export_and_import(
    capsys: pytest.CaptureFixture[str], db: tuple[str, list[int]], tmp_path: Path
) -> None:
    path, ids = db
    code, out, _ = run(capsys, "sessions", "export", str(ids[1]), "--db", path)
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 10 and rows[0]["person"] == "Ana"
    target = tmp_path / "s.json"
    code, out, _ = run(
        capsys,
        "sessions",
        "export",
        str(ids[1]),
        "--format",
        "json",
        "-o",
        str(target),
        "--db",
        path,
    )
    assert code == 0 and out.strip() == str(target)
    assert json.loads(target.read_text())["format"] == "legpress-session"
    other = str(tmp_path / "other.db")
    code, out, _ = run(capsys, "sessions", "import", str(target), "--db", other)
    assert code == 0 and out.strip() == "1"
    code, out, _ = run(capsys, "sessions", "show", "1", "--json", "--db", other)
    assert len(json.loads(out)["reps"]) == 10
    # The same file imported again: refused, naming the session it already is.
    code, out, err = run(capsys, "sessions", "import", str(target), "--db", other)
    assert code == 9 and out == "" and "already stored as session 1" in err
    one_line_error(err)
    # An export with a broken field is a file that cannot be imported (6, as above).
    broken = json.loads(target.read_text())
    broken["reps"][0]["t_end_s"] = "soon"
    target.write_text(json.dumps(broken))
    code, _, err = run(capsys, "sessions", "import", str(target), "--db", str(tmp_path / "3.db"))
    assert code == 6 and f"{target} cannot be imported: the rep with index 0 is" in err, err
    one_line_error(err)
    code, _, err = run(capsys, "sessions", "export", "1", "--format", "xml", "--db", path)
    assert code == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, _, err = run(capsys, "sessions", "import", str(bad), "--db", other)
    assert code == 6 and "is not JSON" in err  # a file that cannot be read (README)
    one_line_error(err)


def test_sessions_delete_needs_yes(
    capsys: pytest.CaptureFixture[str], db: tuple[str, list[int]]
) -> None:
    path, ids = db
    code, _, err = run(capsys, "sessions", "delete", str(ids[0]), "--db", path)
    assert code == 2 and "--yes" in err
    one_line_error(err)
    assert run(capsys, "sessions", "delete", str(ids[0]), "--yes", "--db", path)[0] == 0
    assert run(capsys, "sessions", "show", str(ids[0]), "--db", path)[0] == 8


def test_damaged_database(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"\x00garbage" * 512)
    code, _, err = run(capsys, "sessions", "list", "--db", str(bad))
    assert code == 7 and "damaged or not a legpress database" in err
    one_line_error(err)


@pytest.mark.parametrize(
    "argv",
    [
        ("sessions", "--help"),
        ("sessions", "list", "--help"),
        ("sessions", "show", "--help"),
        ("sessions", "export", "--help"),
        ("people", "--help"),
        ("people", "add", "--help"),
        ("people", "set-limit", "--help"),
        ("report", "--help"),
    ],
)
def test_help(capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]) -> None:
    code, out, _ = run(capsys, *argv)
    assert code == 0 and "usage:" in out and "Exit codes" in out


# -- report ------------------------------------------------------------------------------------


def test_report_session_and_progress(
    capsys: pytest.CaptureFixture[str],
    db: tuple[str, list[int]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path, ids = db
    out_file = tmp_path / "s.html"
    code, out, _ = run(capsys, "report", str(ids[0]), "-o", str(out_file), "--db", path)
    assert code == 0 and out.strip() == str(out_file)
    assert "no linked recording" in out_file.read_text()
    # With samples (the recording decoded): the time course is drawn.
    block, _, _ = analysed(two_sets(deep=2), seed=0)
    monkeypatch.setattr(report_cli, "load_series", lambda session, rec: (block, ""))
    code, out, _ = run(capsys, "report", str(ids[0]), "-o", str(out_file), "--db", path)
    assert code == 0 and 'id="fig-timeline-2"' in out_file.read_text()
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "report", "--person", "ana", "--progress", "--db", path)
    assert code == 0 and out.strip() == "progress-ana.html"
    assert "Leg press progress report" in (tmp_path / "progress-ana.html").read_text()
    # Names in other scripts keep their letters: two patients, two files (both were
    # "progress-person.html", the second over the first).
    for name in ("Мария", "Иван", "Zoë Müller"):
        assert run(capsys, "people", "add", name, "--db", path)[0] == 0
    written = []
    for name in ("Мария", "Иван", "Zoë Müller"):
        code, out, _ = run(capsys, "report", "--person", name, "--progress", "--db", path)
        written.append(out.strip())
    assert code == 0 and written == [
        "progress-мария.html",
        "progress-иван.html",
        "progress-zoë-müller.html",
    ]


@pytest.mark.parametrize(
    ("argv", "code", "text"),
    [
        ((), 2, "give a session ID"),
        (("--progress",), 2, "--progress needs --person"),
        (("--person", "Ana"), 2, "add --progress"),
        (("3", "--person", "Ana", "--progress"), 2, "not both"),
        (("999",), 8, "no session 999"),
        (("--person", "Zed", "--progress"), 8, "no person named 'Zed'"),
    ],
)
def test_report_errors(
    capsys: pytest.CaptureFixture[str],
    db: tuple[str, list[int]],
    argv: tuple[str, ...],
    code: int,
    text: str,
) -> None:
    got, _, err = run(capsys, "report", *argv, "--db", db[0])
    assert got == code and text in err
    one_line_error(err)


def test_report_without_matplotlib(
    capsys: pytest.CaptureFixture[str],
    db: tuple[str, list[int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, _, err = run(capsys, "report", str(db[1][0]), "--db", db[0])
    assert code == 10 and "pip install 'legpress[report]'" in err
    one_line_error(err)


def test_load_series_explains_why_not(tmp_path: Path) -> None:
    assert report_cli.load_series(Session(recording_path=None))[1] == (
        "This session has no linked recording"
    )
    missing = tmp_path / "gone.lpr"
    series, why = report_cli.load_series(Session(recording_path=str(missing)))
    assert series is None and "is missing" in why
    junk = tmp_path / "junk.lpr"
    junk.write_bytes(b"nope")
    series, why = report_cli.load_series(Session(recording_path=str(junk)))
    assert series is None and "could not be read" in why


def test_report_reads_the_recording(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """End to end: simulator packets → recording file → analysis → store → report decodes
    the recording and draws the time course."""
    sim = pytest.importorskip("legpress.sim")
    recording = pytest.importorskip("legpress.storage.recording")
    from legpress.detect import DetectorConfig, analyze_block
    from legpress.dsp.calibration import Calibration
    from legpress.protocol.messages import DeviceInfo

    result = sim.make_scenario("liftoff", seed=3).run(duration_s=20)
    info = DeviceInfo.from_bytes(result.info_packet)
    rec = tmp_path / "liftoff.lpr"
    header = recording.make_header(info, url="sim:liftoff", person="Sim")
    with recording.RecordingWriter(rec, header) as w:
        for t_ns, packet in result.packets:
            w.write_packet(t_ns, packet)
    cal = Calibration.from_info(info)
    block = cal.apply(recording.decode_recording(rec).samples)
    cfg = DetectorConfig(rom_limit_mm=380)
    a = analyze_block(block, cfg, cell_pitch_mm=float(info.cell_pitch_mm or 40))
    assert a.reps
    db = tmp_path / "e2e.db"
    with SessionStore(db) as store:
        store.add_person("Sim")
        sid = store.import_analysis(
            "Sim",
            a.reps,
            a.events,
            config=cfg,
            calibration=cal,
            recording_path=rec,
            device_name=info.name,
            device_url="sim:liftoff",
        )
    out = tmp_path / "r.html"
    code, _, err = run(capsys, "report", str(sid), "-o", str(out), "--db", str(db))
    assert code == 0, err
    text = out.read_text()
    assert 'id="fig-timeline-1"' in text and "is not shown" not in text
    # Renamed (or merged into another name): the session's own recording is still its own,
    # though its header keeps the old name.
    assert run(capsys, "people", "rename", "Sim", "Sim López", "--db", str(db))[0] == 0
    code, _, err = run(capsys, "report", str(sid), "-o", str(out), "--db", str(db))
    assert code == 0 and "not this session's" not in err, err
    assert 'id="fig-timeline-1"' in out.read_text()
    assert run(capsys, "people", "rename", "Sim López", "Sim", "--db", str(db))[0] == 0
    # A moved recording: say so, still write the report.
    rec.rename(tmp_path / "moved.lpr")
    code, _, err = run(capsys, "report", str(sid), "-o", str(out), "--db", str(db))
    assert code == 0 and "is missing" in err and "is missing" in out.read_text()
    code, _, err = run(
        capsys,
        "report",
        str(sid),
        "-o",
        str(out),
        "--recording",
        str(tmp_path / "moved.lpr"),
        "--db",
        str(db),
    )
    assert code == 0 and err == "" and 'id="fig-timeline-1"' in out.read_text()
    # A recording asked for by name that is not there: an error, no report.
    out.unlink()
    code, _, err = run(
        capsys, "report", str(sid), "-o", str(out), "--recording", str(rec), "--db", str(db)
    )
    assert code == 6 and f"--recording {rec}: the recording of this session" in err, err
    assert "is missing" in err and not out.exists()
    # Another person's recording given by mistake: refused, not drawn as this session's.
    bob = tmp_path / "bob.lpr"
    with recording.RecordingWriter(bob, recording.make_header(info, person="Bob")) as w:
        for t_ns, packet in result.packets:
            w.write_packet(t_ns, packet)
    code, _, err = run(
        capsys, "report", str(sid), "-o", str(out), "--recording", str(bob), "--db", str(db)
    )
    assert (
        code == 6 and "is not this session's: its person is 'Bob', this session's is 'Sim'" in err
    )
    assert not out.exists()
