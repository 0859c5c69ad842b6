"""CSV in and out.

- :func:`export_recording_csv` / :func:`write_samples_csv`: decoded samples to CSV, one row per
  sample: ``t_s, t_host_s, position_counts, depth_mm, cell0 … cellK-1, flags``.
- :func:`import_csv`: samples recorded by another system (docs/csv-import.md) to a
  :class:`~legpress.dsp.calibration.CalibratedBlock`, so ``legpress analyze`` runs on them. Bad
  rows are reported with their line and column.
"""

from __future__ import annotations

import csv
import math
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TextIO

import numpy as np
import numpy.typing as npt

from legpress.dsp.calibration import CalibratedBlock, Calibration
from legpress.errors import RecordingError
from legpress.protocol.decoder import SampleBlock
from legpress.protocol.spec import Flag

__all__ = [
    "csv_cell",
    "export_recording_csv",
    "import_csv",
    "write_samples_csv",
]

#: Column names and the factor from their unit to seconds and to millimetres: the first name is
#: the one the format asks for; a name without a unit is taken in that unit, and only when no
#: column names its unit (a ``time`` of wall-clock text beside a ``t_ms``).
_TIME_NAMES: Final = (
    ("t_s", 1.0),
    ("time_s", 1.0),
    ("t_ms", 1e-3),
    ("time_ms", 1e-3),
    ("t_us", 1e-6),
    ("time_us", 1e-6),
    ("time", 1.0),
    ("t", 1.0),
)
_DEPTH_NAMES: Final = (
    ("depth_mm", 1.0),
    ("position_mm", 1.0),
    ("sled_mm", 1.0),
    ("depth_cm", 10.0),
    ("position_cm", 10.0),
    ("depth_m", 1000.0),
    ("position_m", 1000.0),
    ("depth", 1.0),
)
_VALID_NAMES: Final = ("valid",)
_CELL: Final = re.compile(r"^(?:cell|c)[ _]?(\d+)$")
_TRUE: Final = frozenset({"1", "true", "yes", "y", "t"})
_FALSE: Final = frozenset({"0", "false", "no", "n", "f"})
#: How exports write a value that was not read (pandas, R, spreadsheets, numpy): an empty sled
#: depth leaves its sample out, as a lost one; an empty cell reads as no load (the detector's
#: rule for a cell value that is not a number). Compared stripped and lower-cased.
_MISSING: Final = frozenset({"", "nan", "-nan", "na", "n/a", "#n/a", "null", "none"})
MAX_CELLS: Final = 64


# -- export -------------------------------------------------------------------------------------


#: Decimals a float keeps in a CSV cell (seconds to the device clock's microsecond; millimetres,
#: mm/s and fractions far finer than the sensors resolve).
CSV_DECIMALS: Final = 6

#: What makes a spreadsheet read a cell as a formula (OWASP "CSV injection").
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r", "\n")


def csv_cell(value: object) -> str:
    """One value as a CSV cell that a spreadsheet shows as it is.

    Text that a spreadsheet would run as a formula (``=HYPERLINK(...)``, ``+``, ``-``, ``@``)
    gets a leading ``'``, so it stays text; floats are rounded to :data:`CSV_DECIMALS`
    decimals and written as the shortest text that reads back as that number (``repr``, never
    ``-0.0``): 1.5099999999999998 (arithmetic noise on a 1.51 s duration) is ``1.51``, and
    reading it back gives the stored value to within half a microsecond, half a nanometre or
    half a millionth, far below what the device resolves (1 µs clock, about 0.05 mm per encoder
    count, 12-bit cells); ``None`` and non-finite floats are empty; booleans are 1/0.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return repr(round(value, CSV_DECIMALS) + 0.0)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_samples_csv(
    out: TextIO,
    samples: SampleBlock,
    calibration: Calibration | None = None,
    *,
    header: bool = True,
) -> int:
    """Write decoded samples as CSV rows.

    Columns: ``t_s`` (device clock, s since the stream's first sample), ``t_host_s`` (host
    clock), ``position_counts`` (raw encoder counts), ``depth_mm`` (calibrated, deeper is
    larger; empty without a calibration), ``cell0 … cellK-1`` (raw ADC counts, cell 0 at the
    seat), ``flags`` (PROTOCOL.md sample flags).

    Args:
        out: a text stream opened with ``newline=""``.
        samples: the samples.
        calibration: converts positions to ``depth_mm``.
        header: write the header row first.

    Returns:
        The number of rows written (without the header).
    """
    k = samples.n_cells
    if header:
        cols = ["t_s", "t_host_s", "position_counts", "depth_mm"]
        cols += [f"cell{c}" for c in range(k)] + ["flags"]
        out.write(",".join(cols) + "\n")
    n = len(samples)
    if not n:
        return 0
    if calibration is not None:
        depth = (samples.position.astype(np.float64) - calibration.zero_counts) / (
            calibration.counts_per_mm
        )
        depth_txt = [f"{d:.3f}" for d in depth.tolist()]
    else:
        depth_txt = [""] * n
    t_s = samples.t_s.tolist()
    t_host = samples.t_host_s.tolist()
    pos = samples.position.tolist()
    cells = [",".join(map(str, row)) for row in samples.cells.tolist()]
    flags = samples.flags.tolist()
    chunk: list[str] = []
    for i in range(n):
        chunk.append(
            f"{t_s[i]:.6f},{t_host[i]:.6f},{pos[i]},{depth_txt[i]},{cells[i]},{flags[i]}\n"
        )
        if len(chunk) >= 4096:
            out.write("".join(chunk))
            chunk.clear()
    out.write("".join(chunk))
    return n


def export_recording_csv(
    recording: str | os.PathLike[str],
    out: str | os.PathLike[str] | TextIO,
    calibration: Calibration | None = None,
) -> int:
    """Decode a recording and write its samples as CSV (see :func:`write_samples_csv`).

    Args:
        recording: the ``.lprec`` file.
        out: the CSV file to write (``"-"`` for standard output) or an open text stream.
        calibration: for ``depth_mm``; default: the recording's own, else the device's.

    Returns:
        The number of rows written.

    Raises:
        RecordingError: the recording cannot be read, or the CSV cannot be written.
    """
    from legpress.storage.recording import decode_recording

    decoded = decode_recording(recording)
    rec = decoded.recording
    if not len(decoded.samples):
        damage = rec.stats.describe()
        raise RecordingError(
            f"{rec.path}: no samples could be read" + (f" ({damage})" if damage else "")
        )
    cal = calibration or rec.calibration or Calibration.from_info(rec.info)
    if not isinstance(out, str | os.PathLike):
        return write_samples_csv(out, decoded.samples, cal)
    if os.fspath(out) == "-":
        return write_samples_csv(sys.stdout, decoded.samples, cal)
    target = Path(out)
    try:
        with target.open("w", newline="", encoding="utf-8") as f:
            return write_samples_csv(f, decoded.samples, cal)
    except OSError as exc:
        raise RecordingError(f"cannot write {target}: {exc.strerror or exc}") from None


# -- import -------------------------------------------------------------------------------------

#: Longest line accepted, in bytes: a header of 64 cells and hundreds of other columns fits many
#: times over, and the longest line bounds the memory a line can take.
MAX_LINE_BYTES: Final = 65_536
#: Plausible values. Larger ones are typing or unit errors (a sled travels well under a metre)
#: and would only produce overflows and nonsense alerts.
MAX_ABS_TIME_S: Final = 1e10
MAX_ABS_DEPTH_MM: Final = 10_000.0
MAX_ABS_LOAD: Final = 1e9
#: The sampling rates the detectors handle (median interval between rows): 2 Hz is already too
#: coarse to see a rep's bottom, and no pad or sled encoder samples faster than 10 kHz; rows
#: further apart or closer are times in another unit (milliseconds at 100 Hz are 10 apart,
#: seconds in a column named t_ms 0.01).
MIN_PERIOD_S: Final = 1e-4
MAX_PERIOD_S: Final = 0.5
_ROWS_PER_CHUNK: Final = 4096


class _Lines:
    """The text lines of a file (each ending in ``\\n``, but perhaps the last), read and
    decoded a block at a time, so that an error names the line and the byte of the file, and
    no line takes more than :data:`MAX_LINE_BYTES`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __iter__(self) -> Iterator[str]:
        try:
            f = self.path.open("rb")
        except FileNotFoundError:
            raise RecordingError(f"{self.path}: no such file") from None
        except IsADirectoryError:
            raise RecordingError(f"{self.path} is a directory, not a CSV file") from None
        except OSError as exc:
            raise RecordingError(f"cannot read {self.path}: {exc.strerror or exc}") from None
        with f:
            carry = b""
            line_no = 0  # lines before the current block
            offset = 0  # file offset of the current block
            first = True
            cr_only = False  # lines end in a lone CR (classic Mac; Excel's "Macintosh" CSV)
            while True:
                try:
                    block = f.read(1 << 20)
                except OSError as exc:
                    raise RecordingError(
                        f"cannot read {self.path}: {exc.strerror or exc}"
                    ) from None
                data = carry + block
                if first and data.startswith(b"\xef\xbb\xbf"):
                    data, offset = data[3:], 3
                if first:
                    cr_only = b"\r" in data and b"\n" not in data
                first = False
                if cr_only:
                    data = data.replace(b"\r", b"\n")  # as many bytes: offsets hold
                cut = len(data) if not block else data.rfind(b"\n") + 1
                part, carry = data[:cut], data[cut:]
                if len(carry) > MAX_LINE_BYTES:
                    self._too_long(line_no + part.count(b"\n") + 1)
                text = self._decode(part, line_no, offset)
                lines = text.split("\n")
                if lines[-1]:
                    lines = [line + "\n" for line in lines[:-1]] + [lines[-1]]
                else:
                    lines = [line + "\n" for line in lines[:-1]]
                if lines and max(map(len, lines)) > MAX_LINE_BYTES:
                    long = next(i for i, line in enumerate(lines) if len(line) > MAX_LINE_BYTES)
                    self._too_long(line_no + long + 1)
                yield from lines
                line_no += len(lines)
                offset += cut
                if not block:
                    return

    def _too_long(self, line: int) -> None:
        raise RecordingError(
            f"{self.path} line {line}: longer than {MAX_LINE_BYTES} bytes; this is not a CSV "
            "of samples (one row per sample)"
        )

    def _decode(self, part: bytes, line_no: int, offset: int) -> str:
        try:
            return part.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = exc.start
            line_start = part.rfind(b"\n", 0, bad) + 1
            column = len(part[line_start:bad].decode("utf-8", "replace")) + 1
            line = line_no + part.count(b"\n", 0, bad) + 1
            raise RecordingError(
                f"{self.path} line {line}: byte "
                f"0x{part[bad]:02x} at byte {offset + bad} of the file (character {column} of "
                "the line) is not UTF-8; save the CSV as UTF-8"
            ) from None


def _count_lines(path: Path) -> int:
    """An upper bound on the rows: the number of line ends, plus one."""
    lf = cr = 0
    try:
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                lf += chunk.count(b"\n")
                cr += chunk.count(b"\r")
    except OSError:
        pass  # _Lines reports the problem
    return max(lf, cr) + 1


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def import_csv(path: str | os.PathLike[str]) -> CalibratedBlock:
    """Read samples recorded by another system (the format of docs/csv-import.md).

    The file has a header row naming the columns: time in seconds (``t_s``), sled position in
    millimetres from the top, deeper is larger (``depth_mm``), and one column per pad cell,
    ``cell0`` at the seat upward, in any unit proportional to pressure. An optional ``valid``
    column (1/0) marks unreliable samples: they are ``valid`` False and their depth is NaN, so
    detection leaves them out as lost samples. Without it, a ``flags`` column (as legpress
    exports it) sets ``valid`` from its sensor-fault bit and keeps the samples, as detection on
    the recording itself does (the device sets that bit while any one cell sits at its rail,
    and the detector leaves such a cell out by itself). Other columns are ignored, so a
    legpress CSV export imports as is. A missing depth or cell value (empty, ``nan``, ``NA``,
    ``n/a``, ``null``, ``None``: how exports write a value that was not read) reads NaN: the
    detector leaves such a sample out, as a lost one, and reads such a cell as no load.

    The file is streamed: memory is the returned arrays, ``8 × (cells + 2) + 1`` bytes per row
    (81 B with 8 cells), plus about 15 MB whatever the length (a 1 MiB block of the file, its
    lines, and a chunk of 4,096 rows being converted).

    Args:
        path: the CSV file.

    Returns:
        The samples, ready for detection.

    Raises:
        RecordingError: unreadable, not UTF-8, a missing column, a bad or implausible value
            (the message names the line and the column, or the byte).
    """
    src = Path(path)
    lines = iter(_Lines(src))
    header_no = 0
    header_line = ""
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            header_no, header_line = number, line
            break
    if not header_no:
        raise RecordingError(f"{src}: empty file (expected a header row: t_s,depth_mm,cell0,...)")
    delimiter = _delimiter(header_line)
    try:
        names = next(csv.reader([header_line], delimiter=delimiter))
    except (csv.Error, StopIteration) as exc:
        raise RecordingError(f"{src} line {header_no}: not a CSV header ({exc})") from None
    (t_col, t_scale), (d_col, d_scale), cell_cols, valid_col, flags_col = _columns(
        src, header_no, names
    )
    decimal_comma = delimiter == ";"
    k = len(cell_cols)
    width = len(names)

    capacity = _count_lines(src)
    out = _Columns(
        src, names, t_col, d_col, cell_cols, valid_col, flags_col, decimal_comma, t_scale, d_scale
    )
    times = np.empty(capacity, np.float64)
    depth = np.empty(capacity, np.float64)
    load = np.empty((capacity, k), np.float64)
    valid = np.empty(capacity, bool)
    n = 0
    reader = csv.reader(lines, delimiter=delimiter)
    chunk: list[tuple[int, list[str]]] = []

    def flush() -> None:
        nonlocal n
        m = len(chunk)
        if not m:
            return
        if n + m > len(times):  # the file grew while it was read
            raise RecordingError(f"{src} changed while it was read; try again")
        out.convert(chunk, times[n : n + m], depth[n : n + m], load[n : n + m], valid[n : n + m])
        n += m
        chunk.clear()

    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            at = header_no + reader.line_num
            raise RecordingError(f"{src} line {at}: not valid CSV ({exc})") from None
        first = row[0] if row else ""
        if len(row) != width or not first or first[0] in " \t#":  # the fast test fails
            if not any(cell.strip() for cell in row) or first.lstrip().startswith("#"):
                continue  # blank, or a comment
            extra = len(row) > width and any(cell.strip() for cell in row[width:])
            if len(row) < width or extra:
                # More values than columns would shift every value after the extra one.
                raise RecordingError(
                    f"{src} line {header_no + reader.line_num}: {len(row)} values but the "
                    f"header has {width} columns"
                )
        chunk.append((header_no + reader.line_num, row))
        if len(chunk) >= _ROWS_PER_CHUNK:
            flush()
    flush()
    if n < 2:
        raise RecordingError(f"{src}: {n} data rows; at least 2 are needed")
    times, depth = times[:n], depth[:n]
    if t_scale != 1.0:
        times *= t_scale
    if d_scale != 1.0:
        depth *= d_scale
    period_s = float(np.median(np.diff(times[: min(n, 100_001)])))  # a sample: no copy of all
    if not MIN_PERIOD_S <= period_s <= MAX_PERIOD_S:
        column = names[t_col].strip()
        hint = (
            f"is {column!r} in seconds? (a column in milliseconds: name it 't_ms'; in "
            "microseconds: 't_us')"
            if t_scale == 1.0
            else f"is {column!r} in the unit its name says?"
        )
        raise RecordingError(
            f"{src}: the rows are {period_s:.3g} s apart (median); legpress analyzes samples "
            f"{MIN_PERIOD_S:g} to {MAX_PERIOD_S:g} s apart (2 Hz to 10 kHz): {hint}"
        )
    valid = valid[:n]
    if valid_col is not None and not valid.all():
        # The file's own word that these samples are unreliable: detection leaves them out, as
        # lost samples (the depth of each reads NaN; the flags stay False for reports).
        depth[~valid] = np.nan
    return CalibratedBlock(times, depth, load[:n], valid)


@dataclass(slots=True)
class _Columns:
    """Converts chunks of rows to numbers: vectorised, with an exact per-value pass that names
    the line and the column whenever the fast one finds anything wrong."""

    src: Path
    names: list[str]
    t_col: int
    d_col: int
    cell_cols: list[int]
    valid_col: int | None
    flags_col: int | None
    decimal_comma: bool
    t_scale: float = 1.0  # the time column's unit in seconds
    d_scale: float = 1.0  # the depth column's unit in millimetres
    previous_t: float = -math.inf

    def convert(
        self,
        rows: list[tuple[int, list[str]]],
        t_out: npt.NDArray[np.float64],
        d_out: npt.NDArray[np.float64],
        load_out: npt.NDArray[np.float64],
        valid_out: npt.NDArray[np.bool_],
    ) -> None:
        try:
            t = self._fast(rows, self.t_col, MAX_ABS_TIME_S / self.t_scale, missing=False)
            d = self._fast(rows, self.d_col, MAX_ABS_DEPTH_MM / self.d_scale, missing=True)
            cells = [self._fast(rows, c, MAX_ABS_LOAD, missing=True) for c in self.cell_cols]
            steps_ok = bool(t[0] > self.previous_t and (len(t) < 2 or (np.diff(t) > 0).all()))
            if not steps_ok:
                raise ValueError("times")
            if self.valid_col is not None:
                valid = np.array([self._flag(line, row) for line, row in rows], bool)
            elif self.flags_col is not None:
                bits = self._fast(rows, self.flags_col, 2.0**32, missing=False).astype(np.int64)
                valid = (bits & int(Flag.SENSOR_FAULT)) == 0
            else:
                valid = np.ones(len(rows), bool)
        except ValueError:
            # The exact pass: the same numbers, a missing value read as NaN, and an error
            # that names the line and the column for anything else.
            t, d, cells, valid = self._slow(rows)
        t_out[:] = t
        d_out[:] = d
        for j, column in enumerate(cells):
            load_out[:, j] = column
        valid_out[:] = valid
        self.previous_t = float(t[-1])

    def _fast(
        self, rows: list[tuple[int, list[str]]], col: int, limit: float, *, missing: bool
    ) -> npt.NDArray[np.float64]:
        """Raises ValueError on anything the per-value pass would reject or read as missing
        but ``nan`` itself, which reads as NaN where ``missing`` allows it (and maybe more)."""
        texts = [row[col] for _, row in rows]
        if self.decimal_comma:
            texts = [text.replace(",", ".") for text in texts]
        values = np.array(texts, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            if missing:
                if (np.abs(values) > limit).any():  # nan passes, inf does not
                    raise ValueError("out of range")
            elif not (np.abs(values) <= limit).all():  # also false for nan
                raise ValueError("out of range")
        return values

    def _flag(self, line: int, row: list[str]) -> bool:
        assert self.valid_col is not None
        return _flag(self.src, line, self.names[self.valid_col], row[self.valid_col])

    def _slow(
        self, rows: list[tuple[int, list[str]]]
    ) -> tuple[
        npt.NDArray[np.float64],
        npt.NDArray[np.float64],
        list[npt.NDArray[np.float64]],
        npt.NDArray[np.bool_],
    ]:
        m = len(rows)
        t = np.empty(m, np.float64)
        d = np.empty(m, np.float64)
        cells = [np.empty(m, np.float64) for _ in self.cell_cols]
        valid = np.ones(m, bool)
        previous_t = self.previous_t
        names = self.names
        for i, (line, row) in enumerate(rows):

            def number_at(
                col: int,
                limit: float,
                missing: bool = True,
                _row: list[str] = row,
                _line: int = line,
            ) -> float:
                return _number(
                    self.src, _line, names[col], _row[col], self.decimal_comma, limit, missing
                )

            t[i] = number_at(self.t_col, MAX_ABS_TIME_S / self.t_scale, missing=False)
            if t[i] <= previous_t:
                raise RecordingError(
                    f"{self.src} line {line}, column {names[self.t_col]!r}: time {t[i]:g} is "
                    f"not after the previous row's {previous_t:g} (times must increase)"
                )
            previous_t = float(t[i])
            d[i] = number_at(self.d_col, MAX_ABS_DEPTH_MM / self.d_scale)
            for column, c in zip(cells, self.cell_cols, strict=True):
                column[i] = number_at(c, MAX_ABS_LOAD)
            if self.valid_col is not None:
                valid[i] = self._flag(line, row)
            elif self.flags_col is not None:
                bits = int(number_at(self.flags_col, 2.0**32, missing=False))
                valid[i] = not bits & int(Flag.SENSOR_FAULT)
        return t, d, cells, valid


def _columns(
    src: Path, line: int, names: list[str]
) -> tuple[tuple[int, float], tuple[int, float], list[int], int | None, int | None]:
    """The time and depth columns (each with its unit's factor), the cell columns in order,
    and the ``valid`` and ``flags`` columns if there are any."""
    lowered = [n.strip().lower() for n in names]

    def find(options: tuple[tuple[str, float], ...], what: str) -> tuple[int, float]:
        for name, scale in options:  # the first in this order, if there are several
            if name in lowered:
                return lowered.index(name), scale
        shown = ", ".join(repr(n) for n in names[:20]) + (", ..." if len(names) > 20 else "")
        others = ", ".join(repr(name) for name, _ in options[1:])
        raise RecordingError(
            f"{src} line {line}: no {what} column (name it {options[0][0]!r}, or one of "
            f"{others}; the header has {shown})"
        )

    t_col = find(_TIME_NAMES, "time")
    d_col = find(_DEPTH_NAMES, "sled depth")
    cells: dict[int, int] = {}
    for i, name in enumerate(lowered):
        m = _CELL.match(name)
        if m:
            index = int(m.group(1))
            if index >= MAX_CELLS:
                raise RecordingError(
                    f"{src} line {line}: column {names[i].strip()!r}: at most {MAX_CELLS} cells "
                    f"(cell0 ... cell{MAX_CELLS - 1})"
                )
            if index in cells:
                raise RecordingError(f"{src} line {line}: cell {index} appears twice")
            cells[index] = i
    if not cells:
        raise RecordingError(
            f"{src} line {line}: no pad cell columns (name them cell0, cell1, ... from the "
            "seat upward)"
        )
    count = max(cells) + 1
    missing = [c for c in range(count) if c not in cells]
    if missing:
        raise RecordingError(
            f"{src} line {line}: column cell{missing[0]} is missing (cells must be numbered "
            "cell0, cell1, ... from the seat upward without holes)"
        )
    valid_col = next((lowered.index(n) for n in _VALID_NAMES if n in lowered), None)
    flags_col = lowered.index("flags") if "flags" in lowered else None
    return t_col, d_col, [cells[c] for c in range(count)], valid_col, flags_col


def _number(
    src: Path,
    line: int,
    column: str,
    text: str,
    decimal_comma: bool,
    limit: float,
    missing: bool = False,
) -> float:
    """The value, or NaN for a missing one (:data:`_MISSING`) where ``missing`` allows it."""
    value = text.strip()
    if value.lower() in _MISSING:
        if missing:
            return math.nan
        what = "empty value" if not value else f"{value!r} (no value)"
        raise RecordingError(
            f"{src} line {line}, column {column!r}: {what}; this column needs a value in every "
            "row (remove the rows that have none)"
        )
    if decimal_comma:
        value = value.replace(",", ".")
    try:
        number = float(value)
    except ValueError:
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise RecordingError(
            f"{src} line {line}, column {column!r}: {shown!r} is not a number"
        ) from None
    if not math.isfinite(number):
        raise RecordingError(
            f"{src} line {line}, column {column!r}: {value!r} is not a finite number"
        )
    if abs(number) > limit:
        raise RecordingError(
            f"{src} line {line}, column {column!r}: {value} is implausible (more than "
            f"{limit:g} in size); check the column's unit"
        )
    return number


def _flag(src: Path, line: int, column: str, text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    shown = value if len(value) <= 40 else value[:40] + "..."
    raise RecordingError(f"{src} line {line}, column {column!r}: {shown!r} is not 1 or 0")
