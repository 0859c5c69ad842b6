"""One exit-code table: the README's is legpress.cli.exitcodes', every error family's code is
in it, every command's --help quotes it, and each row that can be reached without hardware
is reached by a real command here."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

import legpress.errors as errors
from legpress.cli.exitcodes import EXIT_CODES
from legpress.cli.main import build_parser, main
from legpress.storage.store import SessionStore
from tests.host.report.sessiondata import analysed, two_sets

REPO = Path(__file__).resolve().parents[3]
SIM = "sim:scenario=liftoff,seed=3,realtime=0,duration=3"


def readme_table() -> dict[int, str]:
    text = (REPO / "README.md").read_text("utf-8")
    section = text.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| (.+?) \|$", section, re.M)
    return {int(code): meaning for code, meaning in rows}


def _families() -> list[type[errors.LegPressError]]:
    out, todo = [], [errors.LegPressError]
    while todo:
        cls = todo.pop()
        out.append(cls)
        todo += cls.__subclasses__()
    return out


def test_the_readme_table_is_the_one_table() -> None:
    assert readme_table() == {c: meaning for c, (_, meaning) in EXIT_CODES.items()}


def test_every_error_family_exits_with_a_code_of_the_table() -> None:
    for cls in _families():
        if cls is errors.LegPressError:
            continue  # the root is never raised itself (checked below)
        assert cls.exit_code in EXIT_CODES, cls
    raised_bare = [
        p
        for p in (REPO / "host" / "legpress").rglob("*.py")
        if "raise LegPressError(" in p.read_text("utf-8")
    ]
    assert raised_bare == []  # an error says its family, so its exit code is a row


def _epilogs(parser: argparse.ArgumentParser, name: str = "legpress") -> list[tuple[str, str]]:
    out = [(name, parser.epilog or "")]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub_name, sub in action.choices.items():
                out += _epilogs(sub, f"{name} {sub_name}")
    return out


def test_every_command_quotes_the_table() -> None:
    quoted = 0
    for name, text in _epilogs(build_parser()):
        if "Exit codes:" not in text:
            continue
        quoted += 1
        listed = text.split("Exit codes:", 1)[1].split("(every code", 1)[0]
        for code, short in re.findall(r"(\d+) ([^,(.]+)", listed):
            assert int(code) in EXIT_CODES, (name, code)
            assert short.strip() == EXIT_CODES[int(code)][0], (name, code, short)
    assert quoted >= 5
    top = build_parser().format_help()
    assert all(f"{c:>3}  " in top for c in EXIT_CODES)  # legpress --help shows them all


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = tmp_path / "s.db"
    with SessionStore(path) as store:
        store.add_person("Ana")
        _, a, cfg = analysed(two_sets())
        store.import_analysis("Ana", a.reps, a.events, config=cfg)
    return str(path)


def _cases(tmp: Path, db: str) -> list[tuple[int, list[str]]]:
    bad_cal = tmp / "cal.json"
    bad_cal.write_text('{"x": 1}')
    garbage = tmp / "garbage.db"
    garbage.write_bytes(b"not a database at all" * 100)
    rec = tmp / "r.lprec"
    nowhere = tmp / "no" / "such" / "folder"
    return [
        (0, ["people", "list", "--db", db]),
        (0, ["sessions", "--db", db]),
        (2, ["sessions", "show", "abc", "--db", db]),
        (2, ["monitor", SIM, "--calibration", str(bad_cal), "--json"]),
        (2, ["people", "delete", "Ana", "--db", db]),  # not confirmed
        (3, ["monitor", "serial:/dev/nope", "--json"]),
        (3, ["record", "serial:/dev/nope", "-o", str(tmp / "x.lprec")]),
        (3, ["firmware", "repl", "--port", "/dev/nope"]),
        (4, ["monitor", "serial:/dev/null", "--json"]),  # there, but not a serial port
        (4, ["record", "serial:/dev/null", "-o", str(tmp / "y.lprec")]),
        (6, ["replay", str(tmp / "missing.lprec")]),
        (0, ["record", SIM, "-o", str(rec), "-q"]),
        (6, ["export", str(rec), "--csv", str(nowhere / "x.csv")]),
        (6, ["report", "1", "--db", db, "-o", str(nowhere / "r.html")]),
        (6, ["sessions", "export", "1", "--db", db, "-o", str(nowhere / "s.csv")]),
        (7, ["sessions", "list", "--db", str(garbage)]),
        (8, ["sessions", "show", "99", "--db", db]),
        (8, ["monitor", SIM, "--person", "Anaa", "--db", db, "--json"]),
        (9, ["people", "add", "ana", "--db", db]),
        (
            11,
            [
                *("calibrate", SIM, "--person", "Ana", "--db", db, "--yes"),
                *("--timeout", "2"),
            ],
        ),
    ]


def test_the_table_walked_with_real_commands(
    tmp_path: Path, db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Row 5 (the device refused a command) needs a device that refuses: the fakes' tests
    reach it (tests/host/device); 70 and 130: test_cli_scan_record."""
    pytest.importorskip("matplotlib")
    reached = set()
    for code, argv in _cases(tmp_path, db):
        got = main(argv)
        err = capsys.readouterr().err
        assert got == code, (argv, got, err)
        assert "Traceback" not in err
        reached.add(code)
    assert reached == {0, 2, 3, 4, 6, 7, 8, 9, 11}


def test_firmware_deploy_without_mpremote_is_a_missing_dependency(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from legpress import firmware_deploy

    monkeypatch.setattr(firmware_deploy.shutil, "which", lambda *a, **k: None)
    assert main(["firmware", "deploy", "--port", "/dev/ttyFAKE0"]) == 10
    assert "pip install 'legpress[firmware]'" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["machines", "rename", "LP 1", "LP 2"],
        ["machines", "remove", "LP 1", "--yes"],
        ["machines", "set", "LP 1", "--person", "Ana"],
        ["people", "set-limit", "Ana", "400"],
        ["people", "rename", "Ana", "Anna"],
        ["people", "delete", "Ana", "--yes"],
        ["people", "merge", "Ana", "Anna", "--yes"],
        ["sessions", "note", "1", "hello"],
        ["sessions", "delete", "1", "--yes"],
    ],
)
def test_a_change_to_a_database_that_is_not_there_makes_none(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mistyped ``--db`` is a missing database (7), not a new empty one with nobody in it (8)."""
    typo = tmp_path / "legpres.db"
    assert main([*argv, "--db", str(typo)]) == 7
    assert f"no session database at {typo}" in capsys.readouterr().err
    assert not typo.exists()
