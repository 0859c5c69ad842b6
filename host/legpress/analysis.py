"""Offline analysis of a recorded session or an imported CSV (``legpress analyze``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from legpress.detect import DetectorConfig, Event, Pipeline, Rep
from legpress.dsp.calibration import CalibratedBlock, Calibration
from legpress.errors import RecordingError
from legpress.session import LinkQuality, Machine, PartialRep, Session, assign_sets


@dataclass(slots=True)
class Analysis:
    """What :func:`analyze_file` found.

    Attributes:
        source: the file analyzed.
        kind: ``"recording"`` or ``"csv"``.
        reps: completed reps, in order.
        events: alerts, in the order they would have fired.
        series: the calibrated samples (for plots and reports).
        info: facts about the input (duration, samples, link loss, ...).
        config: the detector settings used.
        calibration: the calibration used (the recording's own, or the one given).
        machine: the machine the recording's header names, if any.
    """

    source: Path
    kind: str
    reps: list[Rep]
    events: list[Event]
    series: CalibratedBlock
    info: dict[str, Any] = field(default_factory=dict)
    config: DetectorConfig = field(default_factory=DetectorConfig)
    calibration: Calibration | None = None
    machine: str | None = None

    @property
    def session(self) -> Session:
        """The analysis as a :class:`~legpress.session.Session` record: sets split by
        :func:`~legpress.session.assign_sets`, ``info`` as its summary, no person and no
        wall-clock times (a file does not say when it was trained); the machine the
        recording names."""
        reps, sets = assign_sets(self.reps, self.config)
        lost = self.info.get("lost_packets")
        return Session(
            machine=Machine(self.machine) if self.machine else None,
            recording_path=str(self.source) if self.kind == "recording" else None,
            config=asdict(self.config),
            calibration=self.calibration.to_dict() if self.calibration is not None else None,
            summary={"source": str(self.source), **self.info},
            sets=sets,
            reps=reps,
            events=tuple(self.events),
            link=LinkQuality(int(lost), samples=int(self.info["samples"]))
            if lost is not None
            else None,
        )

    def notes(self) -> list[str]:
        """What a user should know when the file gave fewer reps than it seems to hold, or
        reps that may be upside down: reps not counted because they lasted longer than
        ``max_rep_s`` (a time column in the wrong unit looks like this), samples a CSV marked
        not valid or left without a depth, cell values it left missing, a file that ends in
        the middle of a rep, none at all (with how far the sled moved), and a CSV whose sled
        rests at its deepest (depth measured the other way). Empty when none of these
        applies."""
        cfg = self.config
        out: list[str] = []
        dropped = int(self.info.get("abandoned_reps") or 0)
        if dropped:
            unit = (
                "; is the time column in seconds (t_s)? a column in milliseconds: name it t_ms"
                if self.kind == "csv"
                else ""
            )
            out.append(
                f"{dropped} movement(s) as deep as a rep lasted longer than {cfg.max_rep_s:g} s "
                f"from the top and back and were not counted as reps (slower reps count with "
                f"--max-rep-s){unit}"
            )
        if self.kind == "csv":
            out.extend(_missing_notes(self.info))
        partial = self.info.get("partial_rep")
        if isinstance(partial, dict):
            deepest = partial.get("depth_mm")
            at = f" (the sled {deepest:.0f} mm down at its deepest)" if deepest else ""
            out.append(
                f"the file ends in the middle of rep {int(partial.get('index', 0)) + 1}{at}: "
                "that rep is not counted, but the alerts it raised are printed above"
            )
        if not self.reps and not isinstance(partial, dict):
            depth = self.series.depth_mm[np.isfinite(self.series.depth_mm)]
            travel = float(depth.max() - depth.min()) if depth.size else 0.0
            out.append(
                f"no reps found: the sled moved {travel:.0f} mm in all (a rep goes at least "
                f"{cfg.min_rep_mm:g} mm deeper than the top it starts from and comes back)"
                + (
                    "; is depth in millimetres, deeper larger (depth_mm)?"
                    if self.kind == "csv"
                    else ""
                )
            )
        elif self.reps and self.kind == "csv":
            top_s, deep_s = _time_near_ends(self.series)
            if deep_s >= 5.0 and deep_s > 3.0 * top_s:
                out.append(
                    f"the sled rests at its deepest ({deep_s:.0f} s within {_END_MM:g} mm of it) "
                    f"far longer than at its top ({top_s:.0f} s): is depth measured the other "
                    "way? Deeper must be larger (negate the column): the reps and alerts above "
                    "take the top for the bottom"
                )
        return out

    def lines(self) -> list[dict[str, Any]]:
        """Reps and events as JSON-ready objects in time order (events at their firing time,
        reps when they ended; an event before the rep that contains it ends)."""
        items: list[tuple[float, int, dict[str, Any]]] = []
        for e in self.events:
            items.append((e.t_s, 0, e.to_dict()))
        for r in self.reps:
            items.append((r.t_end_s, 1, r.to_dict()))
        items.sort(key=lambda x: (x[0], x[1]))
        return [d for _, _, d in items]


def analyze_file(
    path: str | os.PathLike[str],
    config: DetectorConfig | None = None,
    calibration: Calibration | None = None,
    cell_pitch_mm: float | None = None,
) -> Analysis:
    """Analyze a recording (``.lprec``) or a CSV in the import format (docs/csv-import.md).

    Args:
        path: the file.
        config: detector thresholds (with the ROM limit).
        calibration: overrides the recording's own calibration.
        cell_pitch_mm: a CSV's cell pitch (default 40 mm); a recording's device says its own.

    Raises:
        RecordingError: the file cannot be read or holds no samples.
    """
    from legpress.storage.csvio import import_csv
    from legpress.storage.recording import decode_recording

    config = config or DetectorConfig()
    src = Path(path)
    if not src.exists():
        raise RecordingError(f"{src}: no such file")
    if _sniff(src) == "recording":
        decoded = decode_recording(src)
        rec = decoded.recording
        info = rec.info
        t0 = int(rec.t_host_ns[0]) if len(rec.t_host_ns) else None
        damage = rec.stats.describe(t0)
        if not len(decoded.samples):
            raise RecordingError(
                f"{src}: the recording holds no readable samples"
                + (f" ({damage})" if damage else "")
            )
        cal = calibration or rec.calibration
        pipeline = Pipeline(info, cal, config)
        series, _ = pipeline.feed(decoded.samples)
        analyzer = pipeline.analyzer
        stats = decoded.stats
        facts: dict[str, Any] = {
            "samples": len(series),
            "duration_s": float(series.t_s[-1] - series.t_s[0]),
            "rate_hz": info.rate_hz,
            "n_cells": info.n_cells,
            "cell_pitch_mm": pipeline.analyzer.cell_pitch_mm,
            "lost_packets": stats.lost_packets,
            "corrupt_packets": stats.corrupt,
            "duplicates": stats.duplicates,
            "damaged_file": rec.stats.damaged,
            "damaged_bytes": rec.stats.skipped_bytes + rec.stats.truncated_bytes,
            "file_note": damage,
            "abandoned_reps": analyzer.abandoned_reps,
            "unreadable_samples": analyzer.unreadable_samples,
        }
        if analyzer.phase != "top":  # the recording ends in the middle of a rep
            facts["partial_rep"] = _partial(analyzer.reps, analyzer.events, series).to_dict()
        return Analysis(
            src,
            "recording",
            analyzer.reps,
            analyzer.events,
            series,
            facts,
            config,
            cal,
            machine=_header_name(rec.header, "machine"),
        )
    series = import_csv(src)
    if cell_pitch_mm is not None:
        series = replace(series, cell_pitch_mm=cell_pitch_mm)
    from legpress.detect.pipeline import analyze_block

    analyzer = analyze_block(series, config, cell_pitch_mm=cell_pitch_mm)
    facts = {
        "samples": len(series),
        "duration_s": float(series.t_s[-1] - series.t_s[0]),
        "rate_hz": 1 / analyzer.period_s,
        "n_cells": series.n_cells,
        "cell_pitch_mm": analyzer.cell_pitch_mm,
        "abandoned_reps": analyzer.abandoned_reps,
        "unreadable_samples": analyzer.unreadable_samples,
        **_missing_values(series),
    }
    if analyzer.phase != "top":
        facts["partial_rep"] = _partial(analyzer.reps, analyzer.events, series).to_dict()
    return Analysis(src, "csv", analyzer.reps, analyzer.events, series, facts, config)


def _missing_values(series: CalibratedBlock) -> dict[str, Any]:
    """What an imported CSV did not give: ``invalid_rows`` (marked ``valid`` 0, whose depth
    the import made NaN), ``missing_depth_values`` (a depth that was empty or not a number in
    a row not so marked) and ``missing_cell_values`` (per cell with any, ``{"cell2": 37}``)."""
    no_depth = np.isnan(series.depth_mm)
    invalid = int(np.count_nonzero(no_depth & ~series.valid))
    missing = np.count_nonzero(np.isnan(series.load), axis=0)
    return {
        "invalid_rows": invalid,
        "missing_depth_values": int(np.count_nonzero(no_depth)) - invalid,
        "missing_cell_values": {f"cell{i}": int(n) for i, n in enumerate(missing) if n},
    }


def _missing_notes(info: Mapping[str, Any]) -> list[str]:
    """The notes for :func:`_missing_values`'s facts."""
    out: list[str] = []
    rows = int(info.get("samples") or 0)
    invalid = int(info.get("invalid_rows") or 0)
    if invalid:
        out.append(
            f"{invalid} sample(s) marked valid 0 were left out of detection, as lost samples "
            "would be"
        )
    no_depth = int(info.get("missing_depth_values") or 0)
    if no_depth:
        out.append(
            f"{no_depth} row(s) have no sled depth (empty or not a number): left out of "
            "detection, as lost samples would be"
        )
    cells: Mapping[str, int] = info.get("missing_cell_values") or {}
    if cells:
        each = ", ".join(
            f"{name} in all {n:,} rows (left out, like a dead cell)"
            if n >= rows
            else f"{name} in {n:,} of {rows:,} rows"
            for name, n in cells.items()
        )
        gaps = any(n < rows for n in cells.values())
        out.append(
            f"cell values missing (empty or not a number) read as no load: {each}"
            + (
                "; a value missing now and then looks like the back easing off that cell: "
                "fill the gaps, or mark those rows valid 0"
                if gaps
                else ""
            )
        )
    return out


#: How near its top or its deepest point the sled counts as resting there (`_time_near_ends`).
_END_MM = 10.0


def _time_near_ends(series: CalibratedBlock) -> tuple[float, float]:
    """Seconds the sled spent within ``_END_MM`` of its top (the shallowest depth) and of its
    deepest point. People rest at the top between reps and sets and turn at the bottom, so
    the first is far the larger unless the depth is measured the other way."""
    ok = np.isfinite(series.depth_mm)  # samples a CSV marked not valid read NaN
    t, d = series.t_s[ok], series.depth_mm[ok]
    if t.size < 2:
        return 0.0, 0.0
    dt = np.diff(t, append=t[-1])
    lo, hi = float(d.min()), float(d.max())
    if hi - lo < 2 * _END_MM:
        return 0.0, 0.0
    return float(dt[d <= lo + _END_MM].sum()), float(dt[d >= hi - _END_MM].sum())


def _partial(reps: list[Rep], events: list[Event], series: CalibratedBlock) -> PartialRep:
    """The rep a file ends in the middle of (as :attr:`LiveSession.partial_rep` names it)."""
    depth = series.depth_mm if not reps else series.depth_mm[series.t_s > reps[-1].t_end_s]
    depth = depth[np.isfinite(depth)]
    return PartialRep.after(reps, events, float(depth.max()) if depth.size else None)


def _header_name(header: Mapping[str, Any], key: str) -> str | None:
    """A name the recording's header holds (``machine``, ``person``), if it is one."""
    value = header.get(key)
    return (value.strip() or None) if isinstance(value, str) else None


def _utf16(head: bytes) -> bool:
    """Whether the start of a file is UTF-16 text: a byte-order mark, or text in which every
    other byte is 0 (ASCII characters in UTF-16 without one)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True
    for text, zeros in ((head[::2], head[1::2]), (head[1::2], head[::2])):
        printable = sum(1 for b in text if 32 <= b < 127 or b in (9, 10, 13))
        if len(zeros) >= 4 and zeros.count(0) >= 0.9 * len(zeros) and printable >= 0.9 * len(text):
            return True
    return False


def _sniff(path: Path) -> str:
    """``"recording"`` or ``"csv"``, by the file's content (not its name).

    Raises:
        RecordingError: unreadable, or neither (binary data that is not a recording).
    """
    from legpress.storage.recording import MAGIC

    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except IsADirectoryError:
        raise RecordingError(f"{path} is a directory, not a recording or a CSV file") from None
    except OSError as exc:
        raise RecordingError(f"cannot read {path}: {exc.strerror or exc}") from None
    if head.startswith(b"LEGPRESS-RECORDING ") or (head and MAGIC.startswith(head)):
        return "recording"  # the reader says what is wrong with it, if anything
    if _utf16(head):
        raise RecordingError(
            f'{path} is UTF-16 text (as Excel saves "Unicode Text"), not UTF-8: save the '
            'CSV as UTF-8 ("CSV UTF-8" in Excel)'
        )
    controls = sum(1 for b in head if b < 0x09 or 0x0E <= b < 0x20)
    if b"\x00" in head or controls > len(head) // 20:
        raise RecordingError(
            f"{path} is neither a legpress recording (it does not start with "
            f"{MAGIC.strip().decode()!r}) nor a CSV file (it holds binary data)"
        )
    return "csv"
