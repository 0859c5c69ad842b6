"""Session databases that are damaged, read-only or missing: one-line errors (exit 7), read
commands that never create or write a database, and no internal errors."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from legpress.cli.main import main
from legpress.storage.store import SessionStore
from tests.host.report.sessiondata import populate

REPO = Path(__file__).resolve().parents[3]


def _db(path: Path) -> Path:
    with SessionStore(path) as store:
        populate(store, n_sessions=2)
    return path


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _commands(db: Path, out: Path) -> list[list[str]]:
    d = str(db)
    return [
        ["sessions", "list", "--db", d],
        ["sessions", "show", "1", "--db", d],
        ["sessions", "export", "1", "--db", d, "-o", str(out / "s.csv")],
        ["people", "list", "--db", d],
        ["people", "add", "Cleo", "--db", d],
        ["report", "1", "--db", d, "-o", str(out / "r.html")],
    ]


def _damage_schema(path: Path, table: str, sql: bytes) -> None:
    """Replace a table's schema text, as damage to the database's first page does."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA writable_schema = ON")
        db.execute("UPDATE sqlite_master SET sql = CAST(? AS TEXT) WHERE name = ?", (sql, table))
        db.commit()


def test_damaged_schema_text_is_a_database_error_on_every_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _db(tmp_path / "s.db")
    _damage_schema(path, "people", b"CREATE TABL\xc3 people(id)")  # not UTF-8, not SQL
    for argv in _commands(path, tmp_path):
        code, _, err = _cli(capsys, *argv)
        assert code == 7, (argv, code, err)
        assert "damaged" in err and "internal error" not in err, err


def test_a_damaged_column_name_is_found_when_opening(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _db(tmp_path / "s.db")
    with contextlib.closing(sqlite3.connect(path)) as db:
        sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'reps'").fetchone()[0]
    _damage_schema(path, "reps", sql.replace("pushing_peak_mm_s", "pushing_peak_mm_x").encode())
    for argv in _commands(path, tmp_path):
        code, _, err = _cli(capsys, *argv)
        assert code == 7, (argv, code, err)
        assert "table reps lacks pushing_peak_mm_s" in err, err


def test_read_commands_never_create_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nonexist.db"
    for argv in _commands(missing, tmp_path):
        if argv[:2] == ["people", "add"]:
            continue
        code, _, err = _cli(capsys, *argv)
        assert code == 7 and "no session database" in err, (argv, code, err)
        assert not missing.exists()
    code, _, err = _cli(
        capsys, "analyze", str(tmp_path / "x.csv"), "--person", "Ana", "--db", str(missing)
    )
    assert code == 7 and not missing.exists(), err


def _can_mount_read_only() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True)
    return probe.returncode == 0


@pytest.mark.skipif(not _can_mount_read_only(), reason="needs `unshare --mount` (root)")
def test_a_read_only_database_in_a_read_only_folder_can_be_read(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    db = _db(folder / "s.db")
    script = (
        f"mount --bind -o ro {folder} {folder} && "
        f"{sys.executable} -m legpress.cli sessions list --db {db} && "
        f"{sys.executable} -m legpress.cli people list --db {db} && "
        f"{sys.executable} -m legpress.cli report 1 --db {db} -o {tmp_path / 'r.html'}; "
        f"echo write; {sys.executable} -m legpress.cli people add Cleo --db {db}; echo rc=$?"
    )
    env = {"PYTHONPATH": f"{REPO / 'host'}", "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        ["unshare", "--mount", "sh", "-c", script], capture_output=True, text=True, env=env
    )
    assert "Ana" in proc.stdout and (tmp_path / "r.html").exists(), proc.stdout + proc.stderr
    assert "rc=7" in proc.stdout and "read-only" in proc.stderr, proc.stdout + proc.stderr
    assert "internal error" not in proc.stderr
