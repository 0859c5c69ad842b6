"""A session's life through `legpress monitor`: it exists only once data arrived, its counts
are the store's, a partial rep is shown as partial, Ctrl-C ends and reports it, a kill leaves
it marked interrupted."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from legpress.cli.main import main
from legpress.session import counts_text
from legpress.storage.store import SessionStore
from tests.host.cli.subproc import legpress_process

DEMO = "sim:scenario=demo,realtime=0"


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("serial:/dev/nope", 3),
        ("sim:scenario=bogus", 2),
        ("replay:missing.lprec", 6),
    ],
)
def test_a_failed_monitor_stores_no_session_and_no_person(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str, code: int
) -> None:
    db = tmp_path / "s.db"
    assert main(["monitor", url, "--person", "ana", "--new-person", "--db", str(db)]) == code
    err = capsys.readouterr().err
    assert "stored as session" not in err
    with SessionStore(db) as store:
        assert store.list_sessions() == [] and store.list_people() == []
    assert not list(tmp_path.rglob("*.lprec"))


def test_monitor_and_store_agree_on_a_session_ended_mid_rep(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    # The liftoff scenario's second rep lifts off at about 10.4 s and is at its bottom 10.9 s in.
    argv = [
        *("monitor", "sim:scenario=liftoff,realtime=0", "--duration", "11"),
        *("--person", "ana", "--new-person"),
        *("--db", str(db), "--json"),
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().err.splitlines()[0]
    with SessionStore(db) as store:
        s = store.get_session(1)
    assert printed == counts_text(s)
    assert s.stats.reps == 1 and s.partial_rep is not None and s.partial_rep.index == 1
    assert "rep 2 (partial: the session ended mid-rep" in printed
    assert any(e.rep == 1 for e in s.events)  # its alerts are kept ...
    assert s.stats.lift_offs == 1  # ... and counted nowhere
    assert main(["sessions", "show", "1", "--db", str(db)]) == 0
    shown = capsys.readouterr().out
    assert f"Reps:      {printed}" in shown and "rep 2 (partial)" in shown
    assert "{" not in shown.split("Summary:")[1].splitlines()[0]  # not raw JSON
    assert main(["sessions", "list", "--db", str(db), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["reps"] == 1 and row["lift_offs"] == 1 and row["status"] == "ended"


_cli = legpress_process


def _wait_for_reps(db: Path, proc: subprocess.Popen[str], n: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if db.exists():
            try:
                with sqlite3.connect(db) as conn:
                    (count,) = conn.execute("SELECT count(*) FROM reps").fetchone()
                if count >= n:
                    return
            except sqlite3.Error:
                pass  # the schema is being created
        time.sleep(0.1)
    raise AssertionError(f"no {n} reps stored in {db}")


def _monitor_demo(db: Path) -> subprocess.Popen[str]:
    """``legpress monitor`` of the demo in real time for ana, once it has stored a rep."""
    proc = _cli(
        "monitor",
        "sim:scenario=demo,realtime=1",
        "--person",
        "ana",
        "--new-person",
        "--db",
        str(db),
    )
    _wait_for_reps(db, proc, 1)
    return proc


@pytest.mark.slow
def test_ctrl_c_ends_the_session_prints_its_summary_and_exits_0(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    proc = _monitor_demo(db)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err  # as `legpress record` after Ctrl-C
    assert "Traceback" not in err
    assert err.startswith("stopped (Ctrl-C): ") and "stored as session 1" in err
    with SessionStore(db) as store:
        s = store.get_session(1)
    assert s.ended_at is not None and s.status == "ended" and s.stats.reps >= 1
    assert counts_text(s) in err


@pytest.mark.slow
def test_ctrl_c_pressed_again_while_stopping_loses_nothing(tmp_path: Path) -> None:
    # People press Ctrl-C again when a program does not stop at once.
    db = tmp_path / "s.db"
    proc = _monitor_demo(db)
    for _ in range(4):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.01)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "Task was destroyed" not in err
    assert "stored as session 1" in err
    with SessionStore(db) as store:
        s = store.get_session(1)
    assert s.ended_at is not None and s.status == "ended" and s.stats.reps >= 1


@pytest.mark.slow
def test_a_killed_monitor_leaves_its_session_marked_interrupted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "s.db"
    proc = _monitor_demo(db)
    with SessionStore(db, readonly=True) as store:
        assert store.get_session(1).status == "running"  # its owner is alive
    proc.kill()
    proc.communicate(timeout=30)
    assert main(["sessions", "list", "--db", str(db), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["status"] == "interrupted" and row["ended_at"] is None
    assert main(["sessions", "show", "1", "--db", str(db)]) == 0
    assert "(interrupted: the program recording it stopped" in capsys.readouterr().out
    with SessionStore(db) as store:  # a writer keeps the mark
        assert store.get_session(1).summary["interrupted"] is True
        assert store.get_session(1).to_dict()["status"] == "interrupted"


def test_analyze_names_a_partial_rep_as_the_monitor_does(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A file that ends in the middle of a rep: `analyze --store` keeps that rep's alerts and
    names it as partial, as the live session that stopped there did."""
    import asyncio
    import csv

    from legpress.live import LiveSession

    rec, full, cut = tmp_path / "s.lprec", tmp_path / "s.csv", tmp_path / "cut.csv"
    assert main(["record", DEMO, "-o", str(rec), "--duration", "20", "-q"]) == 0
    assert main(["export", str(rec), "--csv", str(full)]) == 0
    with full.open(newline="") as f:
        rows = list(csv.reader(f))
    kept = [rows[0]] + [r for r in rows[1:] if float(r[0]) <= 11.0]
    with cut.open("w", newline="") as f:
        csv.writer(f).writerows(kept)
    capsys.readouterr()
    db = str(tmp_path / "s.db")
    argv = ["analyze", str(cut), "--person", "ana", "--new-person", "--store", "--db", db]
    assert main(argv) == 0
    capsys.readouterr()
    with SessionStore(db) as store:
        stored = store.get_session(1)
    live = LiveSession(DEMO)
    asyncio.run(live.run(11.0))
    partial, seen = stored.partial_rep, live.session.partial_rep
    assert partial is not None and seen is not None
    assert (partial.index, partial.events) == (seen.index, seen.events) == (1, partial.events)
    assert stored.stats.reps == live.session.stats.reps == 1
    assert "rep 2 (partial: the session ended mid-rep" in counts_text(stored)


@pytest.mark.slow
def test_monitors_started_in_the_same_second_record_to_files_of_their_own(
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.db"
    assert main(["people", "add", "eve", "--db", str(db)]) == 0
    args = ("monitor", "sim:scenario=demo,realtime=0", "--person", "eve", "--duration", "20")
    procs = [_cli(*args, "--no-bell", "--db", str(db)) for _ in range(3)]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    with SessionStore(db) as store:
        paths = {store.get_session(s.id).recording_path for s in store.list_sessions("eve")}
    assert len(paths) == 3 and all(p and Path(p).stat().st_size > 0 for p in paths)
    assert sorted(p.name for p in (tmp_path / "recordings").iterdir()) == sorted(
        Path(p).name for p in paths if p
    )  # no empty file left behind


@pytest.mark.slow
def test_a_database_held_by_another_program_does_not_stop_the_session(tmp_path: Path) -> None:
    # A DB browser left mid-edit holds the file for longer than a write waits (5 s).
    db = tmp_path / "s.db"
    proc = _monitor_demo(db)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    time.sleep(12.0)  # the demo's reps come every few seconds: some wait past 5 s
    held = proc.poll()
    holder.execute("COMMIT")
    holder.close()
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert held is None, err  # still running while the database was held
    assert proc.returncode == 0, err
    assert "is busy" in err and "the session goes on" in err
    with SessionStore(db) as store:
        s = store.get_session(1)
    assert s.status == "ended" and s.stats.reps >= 3  # the reps of the held seconds too
    assert counts_text(s) in err  # every rep the session counted was stored
