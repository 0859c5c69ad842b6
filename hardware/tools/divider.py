#!/usr/bin/env python3
"""FSR voltage-divider arithmetic for the legpress pad strip (stdlib only).

Circuit, one per cell::

    DRIVE (1.2 V LDO, 10 ohm series) --[ FSR ]--+-- cell node --> mux channel / ADC1 pin
                                                |
                                           [ r_fixed ] || [ c_node ]
                                                |
                                               GND

    V_node = V_drive * r_fixed / (r_fixed + R_fsr)          (divider)
    R_fsr  = r_fixed * (V_drive - V_node) / V_node          (inverse, for the host)

The chosen values live in ``hardware/pinmap.json`` (``pad.divider``); this module reads them
from there, so the README, the wiring diagram and the tests all use one set of numbers.

FSR model (an FSR 402 is a qualitative sensor; both curves are used as bounds):

* ``adafruit``: Adafruit's FSR 402 table, 0.2 N 30 kOhm, 1 N 6 kOhm, 10 N 1 kOhm, 100 N 250 Ohm,
  interpolated log-log.
* ``conductance``: conductance proportional to force, G = 6.43e-7 S per gram-force, the slope
  SparkFun's FSR example reads off Interlink's conductance-vs-force figure (valid above 600 Ohm).

Force on a cell = pressure x active area, for both published 402 active diameters (12.7 mm,
Adafruit / Interlink data sheet "13 mm circle"; 14.7 mm, Interlink product page), and
+/-25 % part-to-part spread (Interlink FSR Integration Guide: +/-15 to 25 %).

Run ``python hardware/tools/divider.py`` for the design table, or
``python hardware/tools/divider.py --r-low 25000 --r-high 2500`` to pick r_fixed for a sensor
you measured yourself (R at the low and at the high end of your pressure range).
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

PINMAP = Path(__file__).resolve().parent.parent / "pinmap.json"

# ESP32 ADC at 11 dB attenuation: approximately linear range (MicroPython ESP32 quick reference).
ADC_MIN_V = 0.150
ADC_MAX_V = 2.450
# Keep the voltage across an FSR at or below this under cyclic load (Paredes-Madrid et al. 2017).
CREEP_MAX_V = 1.5
# Interlink: do not exceed 1 mA per cm^2 of actuated area.
INTERLINK_MA_PER_CM2 = 1.0

# Working back-pad pressures on a leg press (Castonguay-Siu & Taylor 2022: peaks 41.8 kPa).
P_LOW_KPA = 5.0
P_HIGH_KPA = 40.0

FSR402_DIAMETERS_MM = (12.7, 14.7)
PART_TOLERANCE = 0.25
DRIVE_TOLERANCE = 0.03  # LDO initial accuracy plus temperature, generous
G0 = 9.80665

_ADAFRUIT_402 = ((0.2, 30_000.0), (1.0, 6_000.0), (10.0, 1_000.0), (100.0, 250.0))
_SIEMENS_PER_GRAM = 6.42857e-7
CURVES = ("adafruit", "conductance")

E12 = (1.0, 1.2, 1.5, 1.8, 2.2, 2.7, 3.3, 3.9, 4.7, 5.6, 6.8, 8.2)


def force_n(pressure_kpa: float, diameter_mm: float) -> float:
    """Force (N) on a round active area of ``diameter_mm`` at ``pressure_kpa``."""
    radius_m = diameter_mm / 2000.0
    return pressure_kpa * 1000.0 * math.pi * radius_m * radius_m


def fsr_resistance(force: float, curve: str = "adafruit") -> float:
    """Typical FSR 402 resistance (ohm) at ``force`` newtons on the chosen curve."""
    if force <= 0:
        raise ValueError("force must be positive")
    if curve == "conductance":
        return 1.0 / (force / G0 * 1000.0 * _SIEMENS_PER_GRAM)
    if curve != "adafruit":
        raise ValueError(f"unknown curve {curve!r}, expected one of {CURVES}")
    pts = _ADAFRUIT_402
    lo, hi = pts[0], pts[1]
    for a, b in itertools.pairwise(pts):
        lo, hi = a, b
        if force <= b[0]:
            break
    exponent = math.log(hi[1] / lo[1]) / math.log(hi[0] / lo[0])
    return lo[1] * (force / lo[0]) ** exponent


def adc_voltage(r_fsr: float, r_fixed: float, v_drive: float, r_series: float = 0.0) -> float:
    """Cell-node voltage for an FSR of ``r_fsr`` ohm (``math.inf`` = unloaded)."""
    if math.isinf(r_fsr):
        return 0.0
    return v_drive * r_fixed / (r_fixed + r_fsr + r_series)


def fsr_from_voltage(v_node: float, r_fixed: float, v_drive: float) -> float:
    """Inverse of :func:`adc_voltage`: FSR resistance (ohm) from the node voltage."""
    if v_node <= 0:
        return math.inf
    if v_node >= v_drive:
        return 0.0
    return r_fixed * (v_drive - v_node) / v_node


@dataclass(frozen=True)
class Design:
    v_drive: float
    r_fixed: float
    r_series: float
    c_node_nf: float
    n_cells: int
    max_cells: int


def load_design(pinmap: Path = PINMAP) -> Design:
    """The divider chosen in ``pinmap.json``."""
    data = json.loads(pinmap.read_text(encoding="utf-8"))
    pad = data["pad"]
    div = pad["divider"]
    return Design(
        v_drive=float(div["drive_v"]),
        r_fixed=float(div["r_fixed_ohm"]),
        r_series=float(div["drive_series_ohm"]),
        c_node_nf=float(div["c_node_nf"]),
        n_cells=int(pad["n_cells"]),
        max_cells=int(pad["max_cells"]),
    )


@dataclass(frozen=True)
class Envelope:
    """Worst-case node voltages and stresses for a design."""

    v_low_min: float  # lowest node voltage at P_LOW_KPA
    v_low_max: float
    v_high_min: float  # at P_HIGH_KPA
    v_high_max: float
    v_fsr_max: float  # largest voltage that can appear across an FSR
    i_cell_max_ma: float  # largest FSR current (FSR shorted)
    i_limit_ma: float  # Interlink limit for a 402's smallest active area
    r_low: tuple[float, float]  # FSR resistance range at P_LOW_KPA
    r_high: tuple[float, float]  # at P_HIGH_KPA

    def inside_adc_range(self) -> bool:
        return self.v_low_min >= ADC_MIN_V and self.v_high_max <= ADC_MAX_V


def resistance_range(pressure_kpa: float) -> tuple[float, float]:
    """Min and max FSR 402 resistance at ``pressure_kpa`` over curves, areas and tolerance."""
    values = [
        fsr_resistance(force_n(pressure_kpa, d), curve) * (1 + s * PART_TOLERANCE)
        for d in FSR402_DIAMETERS_MM
        for curve in CURVES
        for s in (-1, 1)
    ]
    return min(values), max(values)


def envelope(design: Design | None = None) -> Envelope:
    """Worst-case voltages of ``design`` (default: the pin map's) over the FSR spread."""
    d = design or load_design()
    r_low = resistance_range(P_LOW_KPA)
    r_high = resistance_range(P_HIGH_KPA)
    # Every loaded cell draws through the shared 10 ohm: worst-case droop with all cells at
    # the lowest resistance in range.
    i_each = d.v_drive / (d.r_fixed + r_high[0])
    droop = d.max_cells * i_each * d.r_series
    v_min = d.v_drive * (1 - DRIVE_TOLERANCE) - droop
    v_max = d.v_drive * (1 + DRIVE_TOLERANCE)
    area_cm2 = math.pi * (FSR402_DIAMETERS_MM[0] / 20.0) ** 2
    return Envelope(
        v_low_min=adc_voltage(r_low[1], d.r_fixed, v_min, d.r_series),
        v_low_max=adc_voltage(r_low[0], d.r_fixed, v_max),
        v_high_min=adc_voltage(r_high[1], d.r_fixed, v_min, d.r_series),
        v_high_max=adc_voltage(r_high[0], d.r_fixed, v_max),
        v_fsr_max=v_max,
        i_cell_max_ma=1000.0 * v_max / (d.r_fixed + d.r_series),
        i_limit_ma=INTERLINK_MA_PER_CM2 * area_cm2,
        r_low=r_low,
        r_high=r_high,
    )


def snap_e12(r: float) -> float:
    """Nearest E12 value (log distance)."""
    decade = 10 ** math.floor(math.log10(r))
    candidates = [m * decade * k for m in E12 for k in (0.1, 1.0, 10.0)]
    return min(candidates, key=lambda c: abs(math.log(c / r)))


def suggest_r_fixed(r_at_low: float, r_at_high: float) -> float:
    """r_fixed for a sensor measured at the low and high ends of the pressure range.

    The divider's slope dV/d(ln R) is largest where r_fixed equals R_fsr, so the geometric
    mean of the two ends spreads the range evenly; then rounded to E12.
    """
    if r_at_low <= 0 or r_at_high <= 0:
        raise ValueError("resistances must be positive")
    return snap_e12(math.sqrt(r_at_low * r_at_high))


def design_table(design: Design | None = None) -> str:
    """Markdown table of typical and worst-case node voltages (used in the README)."""
    d = design or load_design()
    rows = [
        "| pressure | force on 402 (12.7 / 14.7 mm) | R_fsr typical, adafruit / conductance "
        "(12.7 mm) | V_node typical | V_node worst case |",
        "|---|---|---|---|---|",
    ]
    env = envelope(d)
    for p, (vmin, vmax) in (
        (P_LOW_KPA, (env.v_low_min, env.v_low_max)),
        (P_HIGH_KPA, (env.v_high_min, env.v_high_max)),
    ):
        f1, f2 = force_n(p, 12.7), force_n(p, 14.7)
        ra, rc = fsr_resistance(f1, "adafruit"), fsr_resistance(f1, "conductance")
        va = adc_voltage(ra, d.r_fixed, d.v_drive, d.r_series)
        vc = adc_voltage(rc, d.r_fixed, d.v_drive, d.r_series)
        rows.append(
            f"| {p:.0f} kPa | {f1:.2f} / {f2:.2f} N | {ra / 1000:.1f} / {rc / 1000:.1f} kΩ "
            f"| {va:.2f} / {vc:.2f} V | {vmin:.2f}–{vmax:.2f} V |"
        )
    return "\n".join(rows)


def _report(d: Design) -> str:
    env = envelope(d)
    ok = "inside" if env.inside_adc_range() else "OUTSIDE"
    return "\n".join(
        [
            f"Design: DRIVE {d.v_drive:.2f} V via {d.r_series:.0f} Ω, r_fixed "
            f"{d.r_fixed / 1000:g} kΩ, c_node {d.c_node_nf:g} nF, {d.n_cells} cells "
            f"(max {d.max_cells})",
            "",
            design_table(d),
            "",
            f"R_fsr at {P_LOW_KPA:.0f} kPa: "
            f"{env.r_low[0] / 1000:.1f}–{env.r_low[1] / 1000:.1f} kΩ;"
            f" at {P_HIGH_KPA:.0f} kPa: {env.r_high[0] / 1000:.2f}–{env.r_high[1] / 1000:.2f} kΩ"
            f" (both curves, both areas, ±{PART_TOLERANCE:.0%})",
            f"Worst case {env.v_low_min:.3f}–{env.v_high_max:.3f} V: {ok} the 11 dB linear range"
            f" {ADC_MIN_V:.2f}–{ADC_MAX_V:.2f} V",
            f"Max voltage across an FSR {env.v_fsr_max:.2f} V (creep limit {CREEP_MAX_V} V); "
            f"max FSR current {env.i_cell_max_ma:.2f} mA (Interlink limit "
            f"{env.i_limit_ma:.2f} mA on a 402)",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--r-low", type=float, help="measured FSR ohms at the LOW pressure end")
    parser.add_argument("--r-high", type=float, help="measured FSR ohms at the HIGH pressure end")
    parser.add_argument(
        "--drive", type=float, default=None, help="drive voltage (default: pinmap)"
    )
    args = parser.parse_args(argv)
    design = load_design()
    if args.r_low is None and args.r_high is None:
        print(_report(design))
        return 0
    if args.r_low is None or args.r_high is None:
        parser.error("give both --r-low and --r-high")
    v_drive = args.drive if args.drive is not None else design.v_drive
    r = suggest_r_fixed(args.r_low, args.r_high)
    v_lo = adc_voltage(args.r_low, r, v_drive)
    v_hi = adc_voltage(args.r_high, r, v_drive)
    verdict = "OK" if v_lo >= ADC_MIN_V + 0.05 and v_hi <= ADC_MAX_V else "check margins"
    print(
        f"r_fixed = {r / 1000:g} kΩ: {v_lo:.3f} V at the low end, {v_hi:.3f} V at the high end"
        f" (drive {v_drive:.2f} V): {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
