"""``legpress machines`` and ``--machine`` on monitor, record, calibrate and analyze: a name
bound to a device, a default person, and sessions that keep their machine from start to
report, through renames and removals, recordings and replays."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from legpress.cli.machines import device_url
from legpress.cli.main import main
from legpress.errors import UsageError
from legpress.storage.recording import read_recording

SIM = "sim:scenario=liftoff,seed=2,realtime=0,duration=20"


class Machines:
    """The command line on one database."""

    def __init__(self, db: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.db = db
        self.capsys = capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        code = main([*args, "--db", str(self.db)])
        out = self.capsys.readouterr()
        return code, out.out, out.err

    def machines(self) -> list[dict[str, Any]]:
        code, out, err = self("machines", "list", "--json")
        assert code == 0, err
        return json.loads(out)  # type: ignore[no-any-return]

    def sessions(self) -> list[dict[str, Any]]:
        code, out, err = self("sessions", "list", "--json")
        assert code == 0, err
        return json.loads(out)  # type: ignore[no-any-return]


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Machines:
    return Machines(tmp_path / "data" / "legpress.db", capsys)


def one_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("legpress: error: "), err
    return lines[0]


def test_add_list_rename_remove(cli: Machines) -> None:
    assert cli("people", "add", "Ana")[0] == 0
    code, out, err = cli("machines", "add", "Leg press 2", "LegPress-3A7F", "--person", "ana")
    assert code == 0, err
    assert out.strip() == "Added Leg press 2: ble:LegPress-3A7F, Ana by default."
    assert cli("machines", "add", "Leg press 1", "c4-de-e2-11-3a-7f")[0] == 0
    code, out, _ = cli("machines", "list")
    assert out.splitlines()[0].split() == [
        "Name", "Device", "Person", "Kind", "Counts/mm", "Sessions", "Notes"
    ]  # fmt: skip
    assert out.splitlines()[2].split()[3:6] == ["ble:LegPress-3A7F", "Ana", "incline45"]
    assert "ble:C4:DE:E2:11:3A:7F" in out
    assert [(m["name"], m["person"], m["sessions"]) for m in cli.machines()] == [
        ("Leg press 1", None, 0),
        ("Leg press 2", "Ana", 0),
    ]
    code, out, _ = cli("machines", "rename", "leg press 2", "Window press")
    assert code == 0 and "Renamed Leg press 2 to Window press" in out
    code, out, _ = cli("machines", "set", "Window press", "--no-person", "--kind", "horizontal")
    assert code == 0 and "person -, horizontal" in out
    code, _, err = cli("machines", "remove", "Window press")  # stdin is no terminal here
    assert code == 2 and "--yes" in one_error(err)
    assert cli("machines", "remove", "Window press", "--yes")[0] == 0
    assert [m["name"] for m in cli.machines()] == ["Leg press 1"]


def test_remove_asks_first(cli: Machines, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli("machines", "add", "LP", "sim:clean")[0] == 0
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    answers = iter(["n", "yes"])
    asked: list[str] = []
    monkeypatch.setattr("builtins.input", lambda q="": asked.append(q) or next(answers))
    code, _, err = cli("machines", "remove", "LP")
    assert code == 0 and "Nothing removed" in err and len(cli.machines()) == 1
    assert cli("machines", "remove", "lp")[0] == 0
    assert asked[0] == "Remove machine 'LP' (sim:clean)? [y/N] " and cli.machines() == []


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("add", "LP", "ble:"), 2, "whichever leg press answers first"),
        (("add", "LP", "http://gym/lp"), 2, "is not a device"),
        (("add", "LP", "/dev/ttyUSB0"), 2, "use serial:/dev/ttyUSB0"),
        (("add", "LP", "set1.lprec"), 2, "use replay:set1.lprec"),
        (("add", "LP", "replay:nowhere.lprec"), 2, "no such recording"),
        (("add", "LP", "sim:scenario=bogus"), 2, "sim:scenario=bogus"),
        (("add", "LP", "ble:LP?colour=red"), 2, "does not take option 'colour'"),
        (("add", "LP", "A" * 30), 2, "29 bytes at most"),
        (("add", "LP", "sim:", "--person", "Zed"), 8, "no person named 'Zed'"),
        (("add", "Dup", "sim:"), 9, "already in the database"),
        (("add", "New", "sim:clean"), 9, "already the device of machine 'Dup'"),
        (("add", " ", "sim:"), 2, "needs a name"),
        (("rename", "Nope", "X"), 8, "no machine named 'Nope'"),
        (("rename", "Dup", "dup2"), 9, "already in the database"),
        (("remove", "Nope", "--yes"), 8, "no machine named 'Nope'"),
        (("set", "Dup"), 2, "say what to change"),
        (("set", "Dup", "--person", "Zed"), 8, "no person named"),
        (("set", "Nope", "--device", "sim:"), 8, "legpress machines add"),
    ],
)
def test_errors_say_what_was_wrong(
    cli: Machines, args: tuple[str, ...], code: int, message: str
) -> None:
    assert cli("machines", "add", "Dup", "sim:clean")[0] == 0
    assert cli("machines", "add", "dup2", "sim:scenario=demo")[0] == 0
    got, _, err = cli("machines", *args)
    assert got == code, err
    assert message in one_error(err)


def test_device_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "set.lprec").write_bytes(b"")
    assert device_url("replay:set.lprec?realtime=1") == f"replay:{tmp_path}/set.lprec?realtime=1"
    assert device_url("Presse à cuisses") == "ble:Presse à cuisses"
    assert device_url("SERIAL:/dev/ttyACM0") == "serial:/dev/ttyACM0"
    assert device_url("12345678-1234-1234-1234-1234567890ab").startswith("ble:12345678-")
    with pytest.raises(UsageError, match="control characters"):
        device_url("Leg\npress")


def test_monitor_on_a_machine_stores_its_name_and_default_person(cli: Machines) -> None:
    cli("people", "add", "Ana", "--rom-limit-mm", "330")
    cli("people", "add", "Ben")
    assert cli("machines", "add", "Leg press 2", SIM, "--person", "Ana")[0] == 0
    code, out, err = cli("monitor", "--machine", "leg press 2")
    assert code == 0, err
    assert "rep 1: depth" in out and "stored as session 1" in err
    code, _, err = cli("monitor", "--machine", "Leg press 2", "--person", "Ben", "--json")
    assert code == 0, err
    cli("machines", "set", "Leg press 2", "--no-person")
    assert cli("monitor", "--machine", "Leg press 2", "--json")[0] == 0  # nobody: anonymous
    rows = cli.sessions()
    assert [(r["machine"], r["person"]) for r in rows] == [
        ("Leg press 2", "Ana"),
        ("Leg press 2", "Ben"),
        ("Leg press 2", None),
    ]
    assert rows[0]["rom_limit_mm"] == 330 and rows[0]["reps"] > 0
    shown = json.loads(cli("sessions", "show", "3", "--json")[1])
    recording = read_recording(shown["recording_path"])
    assert recording.header["machine"] == "Leg press 2" and recording.header.get("person") is None

    # Renamed, then removed: every stored session keeps the name it was trained under.
    cli("machines", "rename", "Leg press 2", "Leg press 5")
    assert cli("monitor", "--machine", "Leg press 5", "--person", "Ben", "--json")[0] == 0
    assert cli("machines", "remove", "Leg press 5", "--yes")[0] == 0
    assert [r["machine"] for r in cli.sessions()] == ["Leg press 2"] * 3 + ["Leg press 5"]
    code, out, _ = cli("sessions", "show", "1")
    assert code == 0 and "Leg press 2" in out
    report = cli.db.parent / "r1.html"
    code, _, err = cli("report", "1", "-o", str(report))
    assert code == 0, err
    assert "Leg press 2" in report.read_text()


def test_machine_errors_on_the_live_commands(cli: Machines) -> None:
    code, _, err = cli("monitor", "--machine", "Nope", "--json")
    assert code == 8 and "no machines yet" in one_error(err)
    cli("machines", "add", "LP", "sim:clean")
    code, _, err = cli("record", "--machine", "Nope")
    assert code == 8 and "legpress machines list" in one_error(err)
    code, _, err = cli("monitor", "--json")
    assert code == 2 and "--machine NAME" in one_error(err)
    main(["machines", "set", "LP", "--device", "sim:clean", "--db", str(cli.db)])
    cli.capsys.readouterr()
    from legpress.storage.store import SessionStore

    with SessionStore(cli.db) as store:
        store.set_machine_device("LP", "")
    code, _, err = cli("calibrate", "--machine", "LP", "--yes")
    assert code == 2 and "has no device" in one_error(err)


def test_record_then_analyze_and_replay_keep_the_machine(cli: Machines, tmp_path: Path) -> None:
    cli("people", "add", "Ana")
    cli("machines", "add", "Leg press 3", SIM, "--person", "Ana")
    rec = tmp_path / "set.lprec"
    code, _, err = cli("record", "--machine", "LEG PRESS 3", "-o", str(rec), "-q")
    assert code == 0, err
    header = read_recording(rec).header
    assert header["machine"] == "Leg press 3" and header["person"] == "Ana"
    assert header["url"] == SIM

    code, out, _ = main(["replay", str(rec), "--json"]), *cli.capsys.readouterr()
    assert code == 0 and json.loads(out)["machine"] == "Leg press 3"

    code, _, err = cli("analyze", str(rec), "--store")  # the recording names Ana
    assert code == 0 and "stored as session 1 on Leg press 3" in err
    assert "storing it for Ana, who the recording names" in err
    # monitor replay: of the recording: the machine it names is the session's.
    code, _, err = cli("monitor", f"replay:{rec}", "--person", "Ana", "--json")
    assert code == 0, err
    # ... and --machine says otherwise when the recording was made elsewhere.
    cli("machines", "add", "Leg press 4", "sim:clean")
    code, _, err = cli("monitor", f"replay:{rec}", "--machine", "Leg press 4", "--json")
    assert code == 0, err
    rows = cli.sessions()
    assert [(r["machine"], r["person"]) for r in rows] == [
        ("Leg press 3", "Ana"),
        ("Leg press 3", "Ana"),
        ("Leg press 4", None),
    ]
    assert rows[0]["reps"] == rows[1]["reps"] > 0
    again = json.loads(cli("sessions", "show", "2", "--json")[1])["recording_path"]
    assert read_recording(again).header["machine"] == "Leg press 3"

    # A recording of a machine this database does not know yet: added, without a device.
    other = cli.db.parent / "other.db"
    assert main(["people", "add", "Ana", "--db", str(other)]) == 0
    code = main(["analyze", str(rec), "--person", "Ana", "--store", "--db", str(other)])
    assert code == 0
    cli.capsys.readouterr()
    assert main(["machines", "list", "--json", "--db", str(other)]) == 0
    (known,) = json.loads(cli.capsys.readouterr().out)
    assert known["name"] == "Leg press 3" and known["device_url"] == ""
    code, _, err = cli("analyze", str(rec), "--machine", "Leg press 4")
    assert code == 2 and "--store" in one_error(err)


def test_calibrate_on_a_machine(cli: Machines, monkeypatch: pytest.MonkeyPatch) -> None:
    cli("people", "add", "Ben")
    cli("machines", "add", "LP", "sim:scenario=liftoff,seed=4,realtime=0", "--person", "Ben")
    # Before any calibration, monitoring Ben says so, and how to calibrate.
    code, _, err = cli("monitor", "--machine", "LP", "--json", "--duration", "1")
    assert code == 0, err
    assert "note: Ben has no calibration yet" in err
    assert "legpress calibrate --machine LP --person Ben" in err
    code, _, err = cli("calibrate", "--machine", "LP", "--yes")
    assert code == 0, err
    assert "Ben: lower back leaves the pad" in err
    (ben,) = json.loads(cli("people", "list", "--json")[1])
    assert ben["lift_off_depth_mm"] > 250
    # The history says which machine; on another, monitor says the calibration may not hold.
    code, table, _ = cli("people", "calibrations", "Ben")
    assert code == 0 and "Machine" in table and "LP" in table
    (shown,) = json.loads(cli("people", "calibrations", "Ben", "--json")[1])
    assert shown["machine"] == "LP" and shown["in_force"] == "on LP, and on every other machine"
    cli("machines", "add", "LP2", "sim:scenario=clean,seed=1,realtime=0,duration=3")
    code, _, err = cli("monitor", "--machine", "LP2", "--person", "Ben", "--json")
    assert code == 0, err
    assert "Ben was calibrated on machine 'LP', not 'LP2'" in err
    assert "no calibration yet" not in err
    assert "legpress calibrate --machine LP2 --person Ben" in err
    code, _, err = cli("monitor", "--machine", "LP", "--json", "--duration", "1")
    assert code == 0 and "was calibrated on machine" not in err

    from legpress.cli import calibrate

    positions = iter([0, 7400, 10, 7405, 5, 7396])
    monkeypatch.setattr(calibrate, "_position_now", lambda dev: next(positions))
    answers = iter(["", "", "300"] * 3)
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    code, _, err = cli("calibrate", "--machine", "LP", "--measure-counts")
    assert code == 0 and "saved on machine 'LP'" in err
    (lp,) = [m for m in cli.machines() if m["name"] == "LP"]
    assert lp["counts_per_mm"] == pytest.approx((7400 + 7395 + 7391) / 3 / 300)


def test_analyze_store_of_a_csv_needs_a_person(cli: Machines, tmp_path: Path) -> None:
    csv = tmp_path / "lab.csv"
    csv.write_text("t_s,depth_mm,cell0\n0,0,1\n0.01,0,1\n", encoding="utf-8")
    code, _, err = cli("analyze", str(csv), "--store")
    assert code == 2 and "the file does not say" in one_error(err)
