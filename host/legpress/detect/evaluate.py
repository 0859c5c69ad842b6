"""Scoring detection against the simulator's ground truth (the accuracy benchmark's engine).

Per rep, a lift-off alert counts as a true positive when the rep truly lifted off, a false
positive when it did not; latency is alert time minus the true onset of the rep's first
lift-off. A rep without a lift-off whose sacral zone came within ``near_miss_mm`` (3 mm) of
leaving the pad (the deepest indentation of the zone into the foam, ``sacral_margin_mm``, fell
below 3 mm) is a near miss: "don't care", counted neither as a false alarm nor as a correct
rejection, for the lift-off alert and the tilt warning alike. Of the clear reps (neither a
lift-off nor a near miss), those whose sacral zone kept at least half of its deepest
indentation of the rep are *steady*: their lower back did not start to unload toward lift-off,
so a tilt warning there is false by the warning's own definition (the other clear reps are
warned as they unload, which is what the warning is for, but still count as false warnings in
``tilt_warning_false_rate``). ROM: reps at least
``rom_margin_mm`` past the limit must be alerted; reps at least that much short of it must not
be. Detected reps are matched to true reps by their bottom time.

How near a clear rep came to lifting off is kept too (``by_margin``): the share of clear reps
alerted and warned per band of their least sacral margin (3-4 mm, 4-5, 5-6, 6-8, 8-10, 10 and
more), which says whether false alarms are reps the sensor cannot tell from a lift-off or reps
far from one.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from math import inf
from typing import Any

import numpy as np

from legpress.detect.config import DetectorConfig
from legpress.detect.events import Event, Rep
from legpress.detect.pipeline import Pipeline
from legpress.protocol.decoder import decode_packets
from legpress.protocol.messages import DeviceInfo

#: The tilt warning's paths (its ``evidence.path``), in the order the benchmarks print them.
WARNING_PATHS = ("level", "trend", "depth")
MARGIN_BANDS_MM = ((3.0, 4.0), (4.0, 5.0), (5.0, 6.0), (6.0, 8.0), (8.0, 10.0), (10.0, inf))


@dataclass(slots=True)
class Score:
    """Counts from one or more sessions; add them with ``+``."""

    reps_true: int = 0
    reps_found: int = 0
    reps_matched: int = 0
    lift_tp: int = 0
    lift_fn: int = 0
    lift_fp: int = 0
    lift_tn: int = 0
    lift_fp_near: int = 0  # alerts on near misses (don't care)
    lift_neg_near: int = 0  # near misses
    warn_clear: int = 0  # clear reps (no lift-off, not a near miss) with a tilt warning
    steady: int = 0  # clear reps whose sacral zone kept at least half its deepest indentation
    warn_steady: int = 0  # ... of them, with a tilt warning
    unjudged_reps: int = 0  # reps the detector said it could not judge
    latencies_s: list[float] = field(default_factory=list)
    leads_s: list[float] = field(default_factory=list)  # lift-off alert minus tilt warning
    depth_errors_mm: list[float] = field(default_factory=list)
    rom_over: int = 0
    rom_over_alerted: int = 0
    rom_short: int = 0
    rom_short_alerted: int = 0
    # Per clear rep (with the simulator's margin): its least sacral margin (mm), whether it
    # was alerted and whether it was warned.
    clear_reps: list[tuple[float, bool, bool]] = field(default_factory=list)
    # Warned clear reps by the path of their first tilt warning (``level``, ``trend``,
    # ``depth``: the sled nearing this person's lift-off depth, whatever the pad shows).
    warn_clear_paths: Counter[str] = field(default_factory=Counter)

    def __add__(self, other: Score) -> Score:
        out = Score()
        for name in self.__dataclass_fields__:
            setattr(out, name, getattr(self, name) + getattr(other, name))
        return out

    def summary(self) -> dict[str, Any]:
        """The benchmark's figures."""

        def ratio(a: int, b: int) -> float | None:
            return round(a / b, 4) if b else None

        lat = np.asarray(self.latencies_s)
        err = np.abs(np.asarray(self.depth_errors_mm))
        return {
            "reps_true": self.reps_true,
            "reps_found": self.reps_found,
            "reps_matched": self.reps_matched,
            "lift_off_reps": self.lift_tp + self.lift_fn,
            "lift_off_sensitivity": ratio(self.lift_tp, self.lift_tp + self.lift_fn),
            "lift_off_specificity": ratio(self.lift_tn, self.lift_tn + self.lift_fp),
            "lift_off_false_alarms": self.lift_fp,
            "near_misses": self.lift_neg_near,
            "near_misses_alerted": self.lift_fp_near,
            "unjudged_reps": self.unjudged_reps,
            "tilt_warning_lead_ms_median": round(float(np.median(self.leads_s)) * 1000, 1)
            if self.leads_s
            else None,
            "tilt_warning_lead_150ms": ratio(
                sum(1 for x in self.leads_s if x >= 0.15), self.lift_tp + self.lift_fn
            ),
            "tilt_warning_false_rate": ratio(self.warn_clear, self.lift_tn + self.lift_fp),
            "tilt_warning_false_rate_by_path": {
                path: ratio(self.warn_clear_paths[path], self.lift_tn + self.lift_fp)
                for path in WARNING_PATHS
            },
            "steady_reps": self.steady,
            "tilt_warning_false_rate_steady": ratio(self.warn_steady, self.steady),
            "alert_minus_onset_ms_median": round(float(np.median(lat)) * 1000, 1)
            if lat.size
            else None,
            "alert_minus_onset_ms_p95": round(float(np.percentile(lat, 95)) * 1000, 1)
            if lat.size
            else None,
            "alerts_within_100ms": ratio(int((lat <= 0.1).sum()), int(lat.size)),
            "depth_error_mm_median": round(float(np.median(err)), 2) if err.size else None,
            "depth_error_mm_p95": round(float(np.percentile(err, 95)), 2) if err.size else None,
            "rom_reps_10mm_over": self.rom_over,
            "rom_over_alerted": ratio(self.rom_over_alerted, self.rom_over),
            "rom_reps_10mm_short": self.rom_short,
            "rom_short_alerted": ratio(self.rom_short_alerted, self.rom_short),
            "by_margin": self.by_margin(),
        }

    def by_margin(self) -> dict[str, dict[str, float | int | None]]:
        """Per band of least sacral margin (``"3-4"`` mm ... ``"10+"``): how many clear reps
        came that near to lifting off, and the share of them alerted and warned."""
        out: dict[str, dict[str, float | int | None]] = {}
        for lo, hi in MARGIN_BANDS_MM:
            band = [(a, w) for m, a, w in self.clear_reps if lo <= m < hi]
            n = len(band)
            out[f"{lo:g}+" if hi == inf else f"{lo:g}-{hi:g}"] = {
                "reps": n,
                "alerted": round(sum(a for a, _ in band) / n, 4) if n else None,
                "warned": round(sum(w for _, w in band) / n, 4) if n else None,
            }
        return out


def run_detection(
    packets: list[tuple[int, bytes]], info: DeviceInfo, config: DetectorConfig
) -> tuple[list[Rep], list[Event]]:
    """Decode simulated packets and run the pipeline, as ``legpress analyze`` does."""
    raw = [p for _, p in packets]
    times = [t for t, _ in packets]
    block, _, _ = decode_packets(raw, times, info)
    pipe = Pipeline(info, config=config)
    pipe.feed(block)
    return pipe.analyzer.reps, pipe.analyzer.events


def score_session(
    truth: Any,
    reps: list[Rep],
    events: list[Event],
    rom_margin_mm: float = 10.0,
    margin: tuple[Any, Any] | None = None,
    near_miss_mm: float = 3.0,
) -> Score:
    """Score one simulated session (``truth`` is a :class:`legpress.sim.GroundTruth`).

    Args:
        truth: the ground truth.
        reps: detected reps.
        events: detected events.
        rom_margin_mm: ROM reps this far past (short of) the limit must (must not) alert.
        margin: optional ``(t_s, sacral_margin_mm)`` arrays from the simulator; reps without a
            lift-off whose sacral zone came within ``near_miss_mm`` of leaving the pad are then
            near misses: "don't care" (see the module docstring).
        near_miss_mm: see ``margin``.
    """
    s = Score(reps_true=len(truth.reps), reps_found=len(reps))
    bottoms = np.array([r.t_bottom_s for r in reps]) if reps else np.empty(0)
    lifts = [e for e in events if e.type == "lift_off"]
    warns = [e for e in events if e.type == "tilt_warning"]
    s.unjudged_reps = sum(1 for e in events if e.type == "pad_unjudged")
    roms = [e for e in events if e.type == "rom_exceeded"]
    onsets: dict[int, float] = {}
    for lo in truth.lift_offs:
        if lo.rep >= 0 and lo.rep not in onsets:
            onsets[lo.rep] = lo.t_onset_s
    limit = truth.rom_limit_mm
    for tr in truth.reps:
        # The detected rep whose bottom is nearest the true bottom, if close.
        match = None
        if bottoms.size:
            k = int(np.abs(bottoms - tr.t_bottom_s).argmin())
            if abs(bottoms[k] - tr.t_bottom_s) < 1.0:
                match = reps[k]
        window = (tr.t_start_s - 0.2, tr.t_end_s + 0.5)
        alerted = [e for e in lifts if window[0] <= e.t_s <= window[1]]
        warned = [e for e in warns if window[0] <= e.t_s <= window[1]]
        if match is not None:
            s.reps_matched += 1
            s.depth_errors_mm.append(match.depth_mm - tr.depth_mm)
        near = steady = False
        least = np.nan
        if margin is not None and not tr.lift_off:
            t_m, m_m = margin
            sel = (t_m >= tr.t_start_s) & (t_m <= tr.t_end_s)
            if sel.any():
                deepest, least = float(m_m[sel].max()), float(m_m[sel].min())
                near = least < near_miss_mm
                steady = not near and least >= 0.5 * deepest
            s.lift_neg_near += int(near)
        if tr.lift_off:
            if alerted:
                s.lift_tp += 1
                if tr.index in onsets:
                    s.latencies_s.append(alerted[0].t_s - onsets[tr.index])
                if warned and warned[0].t_s <= alerted[0].t_s:
                    s.leads_s.append(alerted[0].t_s - warned[0].t_s)
            else:
                s.lift_fn += 1
        elif near:
            s.lift_fp_near += int(bool(alerted))
        else:
            if alerted:
                s.lift_fp += 1
            else:
                s.lift_tn += 1
            s.warn_clear += int(bool(warned))
            if warned:
                s.warn_clear_paths[str(warned[0].evidence.get("path", "?"))] += 1
            s.steady += int(steady)
            s.warn_steady += int(steady and bool(warned))
            if np.isfinite(least):
                s.clear_reps.append((least, bool(alerted), bool(warned)))
        if limit:
            rom_alerted = any(window[0] <= e.t_s <= window[1] for e in roms)
            if tr.depth_mm >= limit + rom_margin_mm:
                s.rom_over += 1
                s.rom_over_alerted += int(rom_alerted)
            elif tr.depth_mm <= limit - rom_margin_mm:
                s.rom_short += 1
                s.rom_short_alerted += int(rom_alerted)
    return s
