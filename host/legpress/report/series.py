"""The time course a report plots, derived from a session's samples (numpy only).

The detectors decide; this module only redraws what they looked at: the load on the lower-back
cells as a fraction of its load at the top before each rep, and when the lower back was off
the pad according to the session's events.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from legpress.detect.analyzer import Analyzer
from legpress.detect.config import DetectorConfig
from legpress.detect.events import Event, EventType, Rep
from legpress.detect.pipeline import DEFAULT_CELL_PITCH_MM
from legpress.dsp.calibration import CalibratedBlock, Calibration
from legpress.errors import LegPressError
from legpress.session import Session

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ContactTrace:
    """Sled depth and what the lift-off rule saw, over time.

    Attributes:
        t_s: sample times (the session's clock).
        depth_mm: sled depth.
        contact: the lower-back position the lift-off rule decides on (1 = as this person's
            clean reps at that depth, 0 = their floor); NaN where no rep was judged.
        cells: the pad cells that make up "the lower back".
        front: the front cell's share, the rule's second signal (NaN where none).
        cell_pitch_mm: the strip's cell pitch the detector ran with.
        threshold: the lift-off threshold on ``contact`` in force at each sample (higher
            where the load had moved up the back, or past the depth where this person's back
            lifted; see ``DetectorConfig.liftoff_shift_total``),
            NaN where no rep was judged; None: the fixed ``liftoff_position``.
    """

    t_s: F64
    depth_mm: F64
    contact: F64
    cells: tuple[int, ...]
    front: F64 | None = None
    cell_pitch_mm: float = DEFAULT_CELL_PITCH_MM
    threshold: F64 | None = None


def _group(
    series: CalibratedBlock, events: Sequence[Event], cfg: DetectorConfig, cell_pitch_mm: float
) -> tuple[int, ...]:
    for e in events:
        cells = e.evidence.get("cells") if e.type is EventType.LIFT_OFF else None
        if (
            isinstance(cells, list)
            and cells
            and all(isinstance(c, int) and 0 <= c < series.n_cells for c in cells)
        ):
            return tuple(cells)
    top = (series.depth_mm < cfg.rep_start_mm) & series.valid
    load = series.load[top] if top.any() else series.load
    med = np.median(load, axis=0) if len(load) else np.zeros(series.n_cells)
    biggest = float(med.max()) if med.size else 0.0
    lower_n = max(1, round(cfg.lower_back_mm / cell_pitch_mm))  # as the detector counts them
    if biggest <= 0:
        return tuple(range(min(lower_n, series.n_cells)))
    in_contact = [k for k in range(series.n_cells) if med[k] >= cfg.contact_fraction * biggest]
    low = [k for k in in_contact if k < lower_n]
    return tuple(low or in_contact[:1])


def lower_back_contact(
    series: CalibratedBlock,
    reps: Sequence[Rep],
    events: Sequence[Event],
    config: DetectorConfig,
    cell_pitch_mm: float | None = None,
) -> ContactTrace:
    """What the lift-off rule decided on, sample by sample: the detector itself is run again
    over the samples (the same code as live, so the same values), with its decision trace.

    ``contact`` is the lower-back position (1: as this person's clean reps at that depth, 0:
    their floor; lift-off below ``threshold``, the level in force at that sample:
    ``liftoff_position``, or ``liftoff_shift_position`` where the load had moved up the back or
    the sled was past the depth where this person's back lifted),
    ``front`` the front cell's share (lift-off below ``liftoff_front_share``); NaN where no rep
    was being judged. The cells are those the
    detector named in a lift-off event, else those in contact among the strip's lowest
    ``lower_back_mm``. The strip's cell pitch is the series' own (the device's), else
    ``cell_pitch_mm``, else 40 mm.
    """
    pitch = series.cell_pitch_mm or cell_pitch_mm or DEFAULT_CELL_PITCH_MM
    cells = _group(series, events, config, pitch)
    t = series.t_s
    n = len(series)
    steps = np.diff(t)
    period = float(np.median(steps)) if steps.size else 0.01
    analyzer = Analyzer(config, period if period > 0 else 0.01, series.n_cells, pitch, True)
    analyzer.update(series)
    position, threshold, front = analyzer.decision_trace(n)
    for a in (position, threshold, front):
        a[~series.valid] = np.nan
    return ContactTrace(
        t, series.depth_mm.astype(np.float64), position, cells, front, pitch, threshold
    )


def lift_off_spans(reps: Sequence[Rep], events: Sequence[Event]) -> list[tuple[float, float, int]]:
    """``(start, end, rep index)`` of each lift-off: from the event to its rep's duration."""
    first: dict[int, float] = {}
    for e in events:
        if e.type is EventType.LIFT_OFF:
            rep = e.rep
            first.setdefault(rep, e.t_s)
    spans = []
    for r in reps:
        if not r.lift_off:
            continue
        idx = r.index
        start = first.get(idx)
        if start is None:
            continue
        duration = r.lift_off_s if math.isfinite(r.lift_off_s) else 0.0
        spans.append((start, start + max(float(duration), 0.05), idx))
    return spans


def envelope(t: F64, y: F64, max_points: int = 3000) -> tuple[F64, F64]:
    """At most about ``max_points`` points that keep the minimum and maximum of each bucket."""
    n = t.size
    if n <= max_points:
        return t, y
    buckets = max_points // 2
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    ts: list[float] = []
    ys: list[float] = []
    for a, b in itertools.pairwise(edges):
        if b <= a:
            continue
        seg = y[a:b]
        if np.all(np.isnan(seg)):
            ts.append(float(t[a]))
            ys.append(np.nan)
            continue
        i, j = int(np.nanargmin(seg)), int(np.nanargmax(seg))
        for k in sorted((i, j)):
            ts.append(float(t[a + k]))
            ys.append(float(seg[k]))
    return np.asarray(ts), np.asarray(ys)


def _names_another(session: Session, header: Mapping[str, Any]) -> str:
    """Why a recording's header says it is another session's (its person or machine is not
    this session's), or "" (it agrees, or does not say)."""
    for key, mine in (
        ("person", session.person.name if session.person else None),
        ("machine", session.machine.name if session.machine else None),
    ):
        theirs = header.get(key)
        if not (isinstance(theirs, str) and theirs.strip() and mine):
            continue  # one of the two does not say
        if theirs.strip().casefold() != mine.strip().casefold():
            return f"its {key} is {theirs.strip()!r}, this session's is {mine!r}"
    return ""


def load_series(
    session: Session, recording: Path | None = None
) -> tuple[CalibratedBlock | None, str]:
    """The session's samples from its recording, calibrated as in the session.

    Args:
        session: the stored session.
        recording: a recording to read instead of the session's own (it was moved); refused
            when its header names another person or machine than the session's.

    Returns:
        The samples, or None and a one-line reason.
    """
    path = recording or (Path(session.recording_path) if session.recording_path else None)
    if path is None:
        return None, "This session has no linked recording"
    if not path.exists():
        return None, f"The recording of this session ({path}) is missing"
    try:
        from legpress.storage.recording import decode_recording
    except ImportError:
        return None, "This legpress cannot read recordings"
    try:
        decoded = decode_recording(path)
    except LegPressError as exc:
        return None, f"The recording of this session could not be read ({exc})"
    # A recording given by hand may be another session's; the session's own stays its own
    # after its person or machine is renamed or merged (its header keeps the old name).
    other = _names_another(session, decoded.recording.header) if recording is not None else ""
    if other:
        return None, f"The recording {path} is not this session's: {other}"
    cal = None
    if session.calibration is not None:
        try:
            cal = Calibration.from_dict(session.calibration)
        except LegPressError:
            cal = None
    if cal is None:
        try:
            cal = decoded.recording.calibration or Calibration.from_info(decoded.recording.info)
        except LegPressError:
            cal = Calibration()
    try:
        pitch = decoded.recording.info.cell_pitch_mm
        block = cal.apply(decoded.samples, float(pitch) if pitch else None)
    except LegPressError as exc:
        return None, f"The recording of this session does not match its calibration ({exc})"
    if len(block) < 2:
        return None, f"The recording of this session ({path}) holds no samples"
    return block, ""
