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
from pathlib import Path
from typing import Final, TextIO

import numpy as np

from legpress.dsp.calibration import CalibratedBlock, Calibration
from legpress.errors import RecordingError
from legpress.protocol.decoder import SampleBlock
from legpress.protocol.spec import Flag

__all__ = [
    "export_recording_csv",
    "import_csv",
    "write_samples_csv",
]

_TIME_NAMES: Final = ("t_s", "time_s", "time", "t")
_DEPTH_NAMES: Final = ("depth_mm", "position_mm", "sled_mm", "depth")
_VALID_NAMES: Final = ("valid",)
_CELL: Final = re.compile(r"^(?:cell|c)[ _]?(\d+)$")
_TRUE: Final = frozenset({"1", "true", "yes", "y", "t"})
_FALSE: Final = frozenset({"0", "false", "no", "n", "f"})
MAX_CELLS: Final = 64


# -- export -------------------------------------------------------------------------------------


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


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as f:
            yield from enumerate(f, start=1)
    except FileNotFoundError:
        raise RecordingError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise RecordingError(
            f"{path}: not UTF-8 text (byte {exc.start}); save the CSV as UTF-8"
        ) from None
    except OSError as exc:
        raise RecordingError(f"cannot read {path}: {exc.strerror or exc}") from None


def _delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def import_csv(path: str | os.PathLike[str]) -> CalibratedBlock:
    """Read samples recorded by another system (the format of docs/csv-import.md).

    The file has a header row naming the columns: time in seconds (``t_s``), sled position in
    millimetres from the top, deeper is larger (``depth_mm``), and one column per pad cell,
    ``cell0`` at the seat upward, in any unit proportional to pressure. An optional ``valid``
    column (1/0) marks unreliable samples; a ``flags`` column (as legpress exports it) does
    the same through its sensor-fault bit. Other columns are ignored, so a legpress CSV export
    imports as is.

    Args:
        path: the CSV file.

    Returns:
        The samples, ready for detection.

    Raises:
        RecordingError: unreadable, a missing column, or a bad value (the message names the
            line and the column).
    """
    src = Path(path)
    lines = _lines(src)
    header_no = 0
    header_line = ""
    for number, line in lines:
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            header_no, header_line = number, line
            break
    if not header_no:
        raise RecordingError(f"{src}: empty file (expected a header row: t_s,depth_mm,cell0,...)")
    delimiter = _delimiter(header_line)
    names = next(csv.reader([header_line], delimiter=delimiter))
    columns = _columns(src, header_no, names)
    t_col, d_col, cell_cols, valid_col, flags_col = columns
    decimal_comma = delimiter == ";"

    times: list[float] = []
    depth: list[float] = []
    load: list[list[float]] = []
    valid: list[bool] = []
    width = len(names)
    reader = csv.reader(_data_lines(lines), delimiter=delimiter)
    previous_t = -math.inf
    for row in reader:
        number = header_no + reader.line_num
        if not any(cell.strip() for cell in row) or row[0].lstrip().startswith("#"):
            continue
        if len(row) < width:
            raise RecordingError(
                f"{src} line {number}: {len(row)} values but the header has {width} columns"
            )

        def number_at(col: int, _row: list[str] = row, _line: int = number) -> float:
            return _number(src, _line, names[col], _row[col], decimal_comma)

        t = number_at(t_col)
        if t <= previous_t:
            raise RecordingError(
                f"{src} line {number}, column {names[t_col]!r}: time {t:g} is not after the "
                f"previous row's {previous_t:g} (times must increase)"
            )
        previous_t = t
        times.append(t)
        depth.append(number_at(d_col))
        load.append([number_at(c) for c in cell_cols])
        if valid_col is not None:
            valid.append(_flag(src, number, names[valid_col], row[valid_col]))
        elif flags_col is not None:
            bits = number_at(flags_col)
            valid.append(not int(bits) & Flag.SENSOR_FAULT)
        else:
            valid.append(True)
    if len(times) < 2:
        raise RecordingError(f"{src}: {len(times)} data rows; at least 2 are needed")
    return CalibratedBlock(
        np.asarray(times, np.float64),
        np.asarray(depth, np.float64),
        np.asarray(load, np.float64).reshape(len(times), len(cell_cols)),
        np.asarray(valid, bool),
    )


def _columns(
    src: Path, line: int, names: list[str]
) -> tuple[int, int, list[int], int | None, int | None]:
    lowered = [n.strip().lower() for n in names]

    def find(options: tuple[str, ...], what: str) -> int:
        for option in options:
            if option in lowered:
                return lowered.index(option)
        raise RecordingError(
            f"{src} line {line}: no {what} column (name it {options[0]!r}; the header has "
            f"{', '.join(repr(n) for n in names)})"
        )

    t_col = find(_TIME_NAMES, "time")
    d_col = find(_DEPTH_NAMES, "sled depth")
    cells: dict[int, int] = {}
    for i, name in enumerate(lowered):
        m = _CELL.match(name)
        if m:
            index = int(m.group(1))
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
    if count > MAX_CELLS:
        raise RecordingError(f"{src} line {line}: {count} cells; at most {MAX_CELLS}")
    valid_col = next((lowered.index(n) for n in _VALID_NAMES if n in lowered), None)
    flags_col = lowered.index("flags") if "flags" in lowered else None
    return t_col, d_col, [cells[c] for c in range(count)], valid_col, flags_col


def _data_lines(lines: Iterator[tuple[int, str]]) -> Iterator[str]:
    for _, line in lines:
        yield line


def _number(src: Path, line: int, column: str, text: str, decimal_comma: bool) -> float:
    value = text.strip()
    if not value:
        raise RecordingError(f"{src} line {line}, column {column!r}: empty value")
    if decimal_comma:
        value = value.replace(",", ".")
    try:
        number = float(value)
    except ValueError:
        raise RecordingError(
            f"{src} line {line}, column {column!r}: {text.strip()!r} is not a number"
        ) from None
    if not math.isfinite(number):
        raise RecordingError(
            f"{src} line {line}, column {column!r}: {text.strip()!r} is not a finite number"
        )
    return number


def _flag(src: Path, line: int, column: str, text: str) -> bool:
    value = text.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise RecordingError(f"{src} line {line}, column {column!r}: {text.strip()!r} is not 1 or 0")
