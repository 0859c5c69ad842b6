"""Malformed CSV files, session databases, recordings and session exports, fed to `legpress`.

Each generator writes one malformed input derived from a good one (damaged bytes, cut ends,
odd values and headers, garbage) and names the commands to run on it. :func:`run_all` runs
them in-process and counts the exit codes: a malformed input may be refused (exit 2-9) or
partly read (exit 0), with one line of error and no traceback, but never be an internal error
(exit 70).

Used by tests/host/cli/test_malformed_inputs.py (a sample) and tests/bench/bench_malformed.py
(more than 1,000 inputs, figures in docs/benchmarks.md).
"""

from __future__ import annotations

import contextlib
import io
import json
import random
import shutil
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from legpress.cli.main import main
from tests.host.storage.damage import DAMAGE, Layout, sim_recording

GOOD_CSV_HEADER = "t_s,depth_mm,cell0,cell1,cell2,cell3,cell4,cell5,cell6,cell7,valid"


def good_csv(rows: int = 600) -> str:
    """A plausible import file: 6 s at 100 Hz, two reps."""
    lines = [GOOD_CSV_HEADER]
    for i in range(rows):
        t = i / 100
        depth = 150 * (1 - abs((i % 300) - 150) / 150)
        cells = ",".join(str(800 + 10 * c - (i % 7)) for c in range(8))
        lines.append(f"{t:.2f},{depth:.1f},{cells},1")
    return "\n".join(lines) + "\n"


def write_long_csv(path: Path, rows: int) -> Path:
    """A long, well-formed import file with 8 cells (for memory and speed figures)."""
    tail = ",812,905,1020,1111,1002,640,310,7\n"
    with path.open("w") as f:
        f.write("t_s,depth_mm," + ",".join(f"cell{c}" for c in range(8)) + "\n")
        f.writelines(f"{i / 100:.2f},{i % 300}{tail}" for i in range(rows))
    return path


#: Run with ``python -c SCRIPT FILE``: imports FILE and prints the rows, the growth of the peak
#: resident memory (bytes) and the seconds it took.
IMPORT_PEAK_SCRIPT = """
import sys, time
from legpress.storage.csvio import import_csv


def status(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key))


with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # the peak (VmHWM) starts again from now
before = status("VmRSS:")
t = time.perf_counter()
block = import_csv(sys.argv[1])
elapsed = time.perf_counter() - t
print(len(block), status("VmHWM:") - before, elapsed)
"""


_ODD_VALUES = [
    "",
    " ",
    "x",
    "nan",
    "inf",
    "-inf",
    "1e300",
    "-1e300",
    "1e-320",
    "0x10",
    "1_000",
    "١٢٣",
    "１",
    "1,5",
    "--1",
    "1e",
    "9" * 400,
    "'",
    '"',
    '"unterminated',
    "\x00",
    "\u2028",
    "=1+1",
    "True",
    "١",
]

_ODD_HEADERS = [
    "",
    "#only a comment",
    "t_s",
    "t_s,depth_mm",
    "t_s,depth_mm,cell0,cell0",
    "t_s,depth_mm,cell1",
    "t_s,depth_mm,cell100000000",
    "t_s,depth_mm,cell99999999999999999999999999",
    "t_s,depth_mm,cell-1",
    "t_s,depth_mm," + ",".join(f"cell{c}" for c in range(65)),
    "t_s,depth_mm," + ",".join(f"x{c}" for c in range(20000)),
    "time,time,depth,cell0",
    't_s,"depth_mm,cell0',
    "t_s;depth_mm;cell0",
    "t_s\tdepth_mm\tcell0",
    "\ufefft_s,depth_mm,cell0",
    "T_S,DEPTH_MM,CELL0,VALID,FLAGS",
    "t_s,depth_mm,cell0,flags",
]


def _mutate_csv(rng: random.Random) -> bytes:
    text = good_csv(rng.choice([2, 3, 50, 600]))
    lines = text.splitlines()
    how = rng.randrange(12)
    if how == 0:  # an odd value somewhere
        row = rng.randrange(1, len(lines))
        values = lines[row].split(",")
        values[rng.randrange(len(values))] = rng.choice(_ODD_VALUES)
        lines[row] = ",".join(values)
    elif how == 1:  # an odd header
        lines[0] = rng.choice(_ODD_HEADERS)
    elif how == 2:  # rows out of order, repeated or missing values
        row = rng.randrange(1, len(lines))
        choice = rng.randrange(3)
        if choice == 0:
            lines.insert(row, lines[row])
        elif choice == 1:
            lines[row] = lines[row].rsplit(",", rng.randint(1, 4))[0]
        else:
            lines[row] = lines[row] + "," + ",".join(["7"] * rng.randint(1, 5))
    elif how == 3:  # a huge field or line
        row = rng.randrange(1, len(lines))
        lines[row] = lines[row] + ",1" + "1" * rng.choice([70_000, 140_000])
    elif how == 4:  # the time column scaled to nonsense
        scale = rng.choice([1e-300, 1e-9, 1e6, 1e300])
        for i in range(1, len(lines)):
            values = lines[i].split(",")
            values[0] = repr(float(values[0]) * scale + i * scale)
            lines[i] = ",".join(values)
    data = ("\n".join(lines) + "\n").encode("utf-8")
    if how == 5:  # bytes that are not UTF-8
        pos = rng.randrange(len(data))
        data = data[:pos] + bytes([rng.choice([0x80, 0xC3, 0xE9, 0xFF])]) + data[pos:]
    elif how == 6:  # flipped bits
        buf = bytearray(data)
        for _ in range(rng.randint(1, 20)):
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
        data = bytes(buf)
    elif how == 7:  # cut short
        data = data[: rng.randrange(len(data))]
    elif how == 8:  # garbage
        data = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 4000)))
    elif how == 9:  # other line ends, NULs, quotes
        data = data.replace(b"\n", rng.choice([b"\r\n", b"\r", b"\n\n", b"\x00\n", b'"\n']))
    elif how == 10:  # a recording's magic line in front of a CSV, or a CSV with a magic line
        data = rng.choice([b"LEGPRESS-RECORDING 1\n", b"LEGPRESS-RECORDING 9\n"]) + data
    return data


@dataclass
class Case:
    """One malformed input and the commands to run on it."""

    kind: str
    path: Path
    commands: list[list[str]]


@dataclass
class Tally:
    """Exit codes of every command run, and the commands that misbehaved."""

    runs: int = 0
    inputs: Counter[str] = field(default_factory=Counter)
    codes: Counter[int] = field(default_factory=Counter)
    bad: list[tuple[list[str], int, str]] = field(default_factory=list)

    @property
    def internal_errors(self) -> int:
        return self.codes[70]


def csv_cases(folder: Path, n: int, seed: int = 0) -> Iterator[Case]:
    rng = random.Random(f"csv-{seed}")
    for i in range(n):
        path = folder / f"bad{i}.csv"
        path.write_bytes(_mutate_csv(rng))
        yield Case("csv", path, [["analyze", str(path), "--summary"]])


def recording_cases(folder: Path, n: int, seed: int = 0) -> Iterator[Case]:
    rng = random.Random(f"rec-{seed}")
    good = sim_recording(folder / "good.lprec", "sim:scenario=lossy,seed=4,realtime=0,duration=8")
    layout = Layout.of(good)
    header_end = layout.start
    kinds = sorted(DAMAGE)
    for i in range(n):
        path = folder / f"bad{i}.lprec"
        how = rng.randrange(len(kinds) + 3)
        if how < len(kinds):
            data = layout.damaged(DAMAGE[kinds[how]](layout, rng))
        elif how == len(kinds):  # damage inside the JSON header
            buf = bytearray(layout.data)
            for _ in range(rng.randint(1, 4)):
                buf[rng.randrange(21, header_end)] = rng.getrandbits(8)
            data = bytes(buf)
        elif how == len(kinds) + 1:  # header fields that are valid JSON but wrong
            head = layout.data[21 : header_end - 1].decode()
            swap = rng.choice(
                [
                    ('"body_hex":"', '"body_hex":"00'),
                    ('"body_hex":"', '"body_hex":"zz'),
                    ('"calibration":', '"calibration":{"counts_per_mm":0},"x":'),
                    ('"calibration":', '"calibration":[1],"x":'),
                    ('"device_info":', '"device_info":7,"x":'),
                    ('"format":"legpress-recording"', '"format":"other"'),
                ]
            )
            data = (
                layout.data[:21] + head.replace(*swap, 1).encode() + layout.data[header_end - 1 :]
            )
        else:  # not a recording at all, with a recording's name
            data = rng.choice([b"", b"t_s,depth_mm,cell0\n0,1,2\n", bytes(rng.randrange(1, 300))])
        path.write_bytes(data)
        yield Case(
            "recording",
            path,
            [
                ["analyze", str(path)],
                ["replay", str(path), "--json"],
                ["export", str(path), "--csv", str(folder / "out.csv")],
            ],
        )


def _good_db(path: Path) -> None:
    from legpress.storage.store import SessionStore
    from tests.host.report.sessiondata import populate

    with SessionStore(path) as store:
        populate(store, n_sessions=2)
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("PRAGMA journal_mode=DELETE")


def _damage_db(good: bytes, rng: random.Random) -> bytes:
    how = rng.randrange(7)
    buf = bytearray(good)
    page = 4096
    if how == 0:  # flipped bits anywhere
        for _ in range(rng.randint(1, 30)):
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
    elif how == 1:  # a zeroed page
        p = rng.randrange(len(buf) // page)
        buf[p * page : (p + 1) * page] = bytes(page)
    elif how == 2:  # cut short
        del buf[rng.randrange(len(buf)) :]
    elif how == 3:  # the schema text (sqlite_master, page 1) damaged
        for _ in range(rng.randint(1, 12)):
            buf[rng.randrange(100, page)] = rng.choice([0x00, 0xFF, 0xC3, rng.getrandbits(8)])
    elif how == 4:  # the header damaged
        for _ in range(rng.randint(1, 6)):
            buf[rng.randrange(0, 100)] = rng.getrandbits(8)
    elif how == 5:  # garbage
        return bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 9000)))
    else:  # another SQLite file, or an empty one
        return rng.choice([b"", b"SQLite format 3\x00" + bytes(84)])
    return bytes(buf)


def database_cases(folder: Path, n: int, seed: int = 0) -> Iterator[Case]:
    rng = random.Random(f"db-{seed}")
    good_path = folder / "good.db"
    _good_db(good_path)
    good = good_path.read_bytes()
    for i in range(n):
        path = folder / f"bad{i}.db"
        path.write_bytes(_damage_db(good, rng))
        db = str(path)
        yield Case(
            "database",
            path,
            [
                ["sessions", "list", "--db", db],
                ["sessions", "show", "1", "--db", db],
                ["people", "list", "--db", db],
                ["report", "1", "--db", db, "-o", str(folder / "r.html")],
            ],
        )


_ODD_JSON: list[object] = [
    None,
    True,
    0,
    -1,
    1.5,
    1e308,
    "",
    "x",
    "2026-13-45",
    [],
    [1],
    {},
    {"a": 1},
]


def _mutate_export(good: dict[str, Any], rng: random.Random) -> bytes:
    """A session export (JSON) with one thing wrong: a field gone or odd, inside a rep or an
    event too; cut short; garbage."""
    data = json.loads(json.dumps(good))
    how = rng.randrange(6)
    if how == 0:  # a top-level field missing
        del data[rng.choice(sorted(data))]
    elif how == 1:  # a top-level field odd
        data[rng.choice(sorted(data))] = rng.choice(_ODD_JSON)
    elif how in (2, 3):  # a field of a rep or an event missing or odd
        items = data["reps" if how == 2 else "events"]
        item = rng.choice(items)
        key = rng.choice(sorted(item))
        if rng.random() < 0.3:
            del item[key]
        else:
            item[key] = rng.choice(_ODD_JSON)
    elif how == 4:  # a rep or an event that is not an object
        data[rng.choice(["reps", "events"])].append(rng.choice(_ODD_JSON[:9]))
    text = json.dumps(data).encode()
    if how == 5:
        return rng.choice([text[: rng.randrange(len(text))], bytes(rng.randrange(1, 300))])
    return text


def export_cases(folder: Path, n: int, seed: int = 0) -> Iterator[Case]:
    from legpress.storage.store import SessionStore

    rng = random.Random(f"export-{seed}")
    good_db = folder / "good.db"
    _good_db(good_db)
    with SessionStore(good_db) as store:
        good = json.loads(store.export_session(1, "json"))
    for i in range(n):
        path = folder / f"bad{i}.json"
        path.write_bytes(_mutate_export(good, rng))
        yield Case(
            "export", path, [["sessions", "import", str(path), "--db", str(folder / f"to{i}.db")]]
        )


def run_case(case: Case, tally: Tally, folder: Path) -> None:
    """Run every command of ``case`` in-process and count the exit codes."""
    tally.inputs[case.kind] += 1
    for argv in case.commands:
        err = io.StringIO()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            code = main(argv)
        tally.runs += 1
        tally.codes[code] += 1
        text = err.getvalue()
        if code == 70 or "Traceback" in text or (code and "error" not in text):
            tally.bad.append((argv, code, text.strip()[-500:]))
        for leftover in ("out.csv", "r.html"):
            with contextlib.suppress(FileNotFoundError):
                (folder / leftover).unlink()


GENERATORS: dict[str, Callable[[Path, int, int], Iterator[Case]]] = {
    "csv": csv_cases,
    "recording": recording_cases,
    "database": database_cases,
    "export": export_cases,
}


def run_all(folder: Path, counts: dict[str, int], seed: int = 0) -> Tally:
    """Generate ``counts[kind]`` inputs of each kind under ``folder`` and run them."""
    tally = Tally()
    for kind, n in counts.items():
        sub = folder / kind
        shutil.rmtree(sub, ignore_errors=True)
        sub.mkdir(parents=True)
        for case in GENERATORS[kind](sub, n, seed):
            run_case(case, tally, sub)
    return tally
