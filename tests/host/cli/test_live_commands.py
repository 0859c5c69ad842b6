"""monitor, demo, analyze and calibrate through the real `legpress` entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from legpress.cli.main import main
from legpress.cli.view import big_text, depth_bar, render
from legpress.live import ViewState

SIM = "sim:scenario=liftoff,seed=2,realtime=0"


def lines_of(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_demo_json_streams_reps_and_alerts(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(
        [
            "demo",
            "--scenario",
            "liftoff",
            "--seed",
            "2",
            "--fast",
            "--duration",
            "25",
            "--json",
            "--no-store",
        ]
    )
    out = lines_of(capsys.readouterr().out)
    assert rc == 0
    types = {d["type"] for d in out}
    assert {"rep", "lift_off", "connected"} <= types
    lift = next(d for d in out if d["type"] == "lift_off")
    assert lift["evidence"]["cells"] == [0, 1, 2] and "lower back" in lift["message"]


def test_monitor_plain_lines_and_stored_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    rec = tmp_path / "set.lprec"
    rc = main(
        [
            "monitor",
            SIM,
            "--person",
            "ana",
            "--new-person",
            "--db",
            str(db),
            "--record",
            str(rec),
            "--duration",
            "20",
            "--rom-limit-mm",
            "320",
        ]
    )
    captured = capsys.readouterr()
    assert rc == 0
    assert "rep 1: depth" in captured.out and "TOO DEEP" in captured.out
    assert "stored as session 1" in captured.err
    assert rec.stat().st_size > 0
    assert main(["sessions", "show", "1", "--db", str(db), "--json"]) == 0
    session = json.loads(capsys.readouterr().out)
    assert session["reps"] and session["events"]


def test_analyze_recording_matches_live(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rec = tmp_path / "a.lprec"
    assert (
        main(
            [
                "monitor",
                SIM,
                "--record",
                str(rec),
                "--json",
                "--duration",
                "30",
                "--rom-limit-mm",
                "320",
            ]
        )
        == 0
    )
    live = [
        d
        for d in lines_of(capsys.readouterr().out)
        if d["type"] not in ("connected", "disconnected", "gap", "fault", "device_info", "log")
    ]
    assert main(["analyze", str(rec), "--rom-limit-mm", "320"]) == 0
    offline = lines_of(capsys.readouterr().out)
    # The recording may hold a few samples more than the live run consumed before stopping.
    assert offline[: len(live)] == live
    reps = [d for d in offline if d["type"] == "rep"]
    assert reps and all({"index", "t_start_s", "t_end_s", "depth_mm"} <= set(r) for r in reps)


def test_analyze_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(tmp_path / "missing.lprec")]) == 6
    err = capsys.readouterr().err.strip()
    assert err.startswith("legpress: error:") and "\n" not in err
    bad = tmp_path / "bad.csv"
    bad.write_text("hello\n1,2\n")
    assert main(["analyze", str(bad)]) != 0
    assert capsys.readouterr().err.count("\n") == 1
    assert main(["analyze", str(bad), "--rom-limit-mm", "-4"]) == 2


def test_calibrate_learns_a_profile(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.db"
    rc = main(
        [
            "calibrate",
            "sim:scenario=liftoff,seed=4,realtime=0",
            "--person",
            "ben",
            "--new-person",
            "--db",
            str(db),
            "--yes",
        ]
    )
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "learned limit" in err
    assert main(["people", "list", "--db", str(db), "--json"]) == 0
    (ben,) = json.loads(capsys.readouterr().out)
    assert ben["lift_off_depth_mm"] > 250
    # A recalibration adds to the history; the profile holds what the detector needs from the
    # newest (lift-off depth and the floor its lift-offs showed).
    argv = ["calibrate", "sim:scenario=liftoff,seed=5,realtime=0", "--person", "ben"]
    assert main([*argv, "--db", str(db), "--yes"]) == 0
    assert "calibration 2 of ben; the earlier ones are kept" in capsys.readouterr().err
    from legpress.storage.store import SessionStore

    with SessionStore(db) as store:
        first, second = store.calibrations("ben")
        profile = store.get_profile("ben")
    assert first.lift_off_depth_mm == ben["lift_off_depth_mm"]
    assert second.lift_off_reps >= 1 and second.lift_off_floor is not None
    assert profile.lift_off_depth_mm == second.lift_off_depth_mm
    assert profile.lift_off_floor == second.lift_off_floor
    # ... and this person's clean share per depth, over the depths found safe.
    shares = second.clean_share_by_depth
    assert shares is not None and profile.clean_share_by_depth == shares
    assert second.lift_off_depth_mm is not None
    assert len(shares) * 10 <= second.lift_off_depth_mm - second.margin_mm
    config = profile.detector_config()
    assert config.clean_share_by_depth == shares
    assert config.lift_off_floor == profile.lift_off_floor
    assert config.rom_limit_mm == profile.effective_limit_mm
    # ... and a therapist sees the history.
    assert main(["people", "calibrations", "ben", "--db", str(db), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert [c["lift_off_depth_mm"] for c in shown] == [
        first.lift_off_depth_mm,
        second.lift_off_depth_mm,
    ]
    assert main(["people", "calibrations", "ben", "--db", str(db)]) == 0
    table = capsys.readouterr().out
    assert "Lift-off mm" in table and "Clean to mm" in table and "In force" in table
    assert "newest calibration made on it is in force" in table
    assert main(["people", "calibrations", "nobody", "--db", str(db)]) != 0


def test_calibrating_from_a_stream_that_runs_out_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    short = tmp_path / "short.lprec"  # 3 s of a simulation: not 3 slow reps
    record = ["record", "sim:scenario=clean,realtime=0", "-o", str(short), "--duration", "3"]
    assert main([*record, "-q"]) == 0
    capsys.readouterr()
    db = ["--db", str(tmp_path / "s.db")]
    rc = main(["calibrate", f"replay:{short}", "--person", "dan", "--new-person", "--yes", *db])
    err = capsys.readouterr().err
    assert rc == 11, err  # a measurement that cannot be made (README, exit codes)
    assert f"seen before the stream from replay:{short} ended after " in err
    assert " 0 s)" not in err  # the wall clock of a replay said nothing of the stream
    assert "go a little deeper" not in err  # not the person's fault


def test_calibrate_without_a_lift_off_keeps_the_margin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "s.db")
    argv = ["calibrate", "sim:scenario=clean,seed=1,realtime=0", "--person", "dee lópez"]
    assert main([*argv, "--new-person", "--db", db, "--yes"]) == 0
    err = capsys.readouterr().err
    assert "dee lópez: no lift-off seen down to" in err
    assert "legpress people set-limit 'dee lópez' MM" in err  # pasted as it is, it works
    from legpress.storage.store import SessionStore

    with SessionStore(Path(db)) as store:
        profile = store.get_profile("dee lópez")
    assert profile.lift_off_depth_mm is None and profile.max_calibrated_depth_mm is not None
    assert profile.effective_limit_mm == pytest.approx(profile.max_calibrated_depth_mm - 20)
    assert f"learned limit {profile.effective_limit_mm:.0f} mm" in err


def test_demo_rejects_unknown_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--scenario", "nope"]) == 2
    assert "choose one of" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["-3", "0", "nan"])
def test_monitor_refuses_a_duration_that_is_not_positive(
    value: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # It stored an empty session and said it went well.
    db = str(tmp_path / "s.db")
    argv = ["monitor", "sim:scenario=clean,realtime=0", "--person", "ana", "--new-person"]
    assert main([*argv, "--duration", value, "--db", db]) == 2
    err = capsys.readouterr().err
    assert "--duration must be a positive number of seconds" in err
    assert not (tmp_path / "s.db").exists() or "stored" not in err


def test_view_renders_alert_big_and_bars() -> None:
    s = ViewState(person="ana", depth_mm=250, limit_mm=300, warn_mm=285, contact=[0.0, 1.0])
    s.t_s = 1.0
    s.raise_alert("rom_exceeded", "too deep", 0.9)
    # A warning does not hide a more severe alert still on screen.
    assert not s.raise_alert("rom_warning", "approaching", 0.95)
    screen = render(s, 80, 40)
    assert big_text("TOO DEEP")[0] in screen
    assert "cell  0    0%" in screen and "LOW" in screen
    s.lower_back, s.front = 0.42, 0.8
    screen = render(s, 80, 40)
    assert "LOWER BACK   42%" in screen and "lift-off <10%" in screen and "contact front" in screen
    s.pad_note = "too few cells in contact"
    assert "not judged in this rep: too few cells" in render(s, 80, 40)
    bar = depth_bar(250, 300, 285, 400, 40)
    assert bar.count("┃") == 1 and "░" in bar and bar.startswith("█")
    assert "╳" not in bar and "back lifted" not in render(s, 80, 40)
    s.lift_depth_mm = 270.0
    bar = depth_bar(250, 300, 285, 400, 40, lift_mm=270.0)
    assert bar.count("╳") == 1 and bar.index("╳") < bar.index("┃")
    assert "back lifted at 270 mm ╳" in render(s, 80, 40)


def test_firmware_deploy_dry_run_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["firmware", "deploy", "--dry-run", "--port", "/dev/ttyFAKE0"]) == 0
    out = capsys.readouterr()
    text = out.out + out.err
    assert "connect /dev/ttyFAKE0" in text and "sampler.mpy" in text and "main.py" in text
    assert main(["firmware"]) == 2


def test_calibrate_measures_counts_per_mm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from legpress.cli import calibrate
    from legpress.dsp.calibration import CalibrationFile

    positions = iter([0, 7400, 10, 7405, 5, 7396])
    monkeypatch.setattr(calibrate, "_position_now", lambda dev: next(positions))
    answers = iter(["", "", "300", "", "", "abc", "300", "", "", "300"])
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    out = tmp_path / "cal.json"
    rc = main(["calibrate", SIM, "--measure-counts", "--save-calibration", str(out)])
    err = capsys.readouterr().err
    assert rc == 0, err
    assert "not a number" in err
    cal = CalibrationFile.load(out).calibration
    assert cal.counts_per_mm == pytest.approx((7400 + 7395 + 7391) / 3 / 300)
    assert cal.source == "measured"
    assert main(["calibrate", SIM]) == 2  # no --person


@pytest.mark.parametrize(
    ("person", "stem"),
    [
        ("../../../elsewhere/x", "elsewhere-x"),
        ("a/b", "a-b"),
        ("%s%n", "s-n"),
        ("50%", "50"),
        ("Zoë", "Zoë"),
    ],
)
def test_person_names_are_safe_in_recording_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], person: str, stem: str
) -> None:
    db = tmp_path / "data" / "legpress.db"
    argv = [
        *("monitor", f"{SIM},duration=2", "--person", person, "--new-person"),
        *("--db", str(db), "--json"),
    ]
    assert main(argv) == 0, capsys.readouterr().err
    made = [p for p in tmp_path.rglob("*.lprec")]
    assert len(made) == 1, made
    assert made[0].parent == tmp_path / "data" / "recordings"
    assert made[0].name.startswith(f"{stem}-") and "%" not in made[0].name


def test_view_fits_80_by_24_with_the_reps_and_every_alert_total() -> None:
    from legpress.detect import EventType
    from legpress.live import RepLine

    s = ViewState(person="ana", depth_mm=250, limit_mm=300, warn_mm=285, contact=[1.0] * 8)
    s.lower_back, s.front, s.t_s = 0.8, 0.9, 100.0
    s.reps = [RepLine(i, 300 + i, 1.8, 1.2, "BACK LIFT" if i % 2 else "") for i in range(12)]
    for etype in EventType:
        s.counts[etype] = 3
    s.raise_alert("rom_exceeded", "too deep: sled 305 mm is past the limit of 300 mm", 99.9)
    screen = render(s, 80, 23)  # a 24-row terminal: one row is the cursor's
    lines = screen.splitlines()
    assert len(lines) <= 23 and all(len(line) <= 80 for line in lines)
    assert "REPS 12" in screen and "#12 " in screen  # the count and the last rep
    for etype, n in s.counts.items():
        assert f"{etype.alert} {n}" in screen, etype  # every total, none cut off
    assert "TOO DEEP" in screen and "SLED DEPTH" in screen
    roomy = render(s, 120, 60)  # room enough: the whole view
    assert "#9 " in roomy and "cell  7" in roomy and big_text("TOO DEEP")[0] in roomy
    tiny = render(s, 80, 10).splitlines()  # too small even compacted: it says so
    assert len(tiny) == 10 and "make the terminal taller" in tiny[-1]
