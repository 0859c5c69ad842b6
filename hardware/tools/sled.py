#!/usr/bin/env python3
"""Sled-encoder arithmetic (stdlib only): counts per millimetre and limits.

A quadrature encoder with ``ppr`` lines (pulses per revolution, per channel) gives
``phases x ppr`` counts per revolution when decoded at ``phases`` = 4 (every edge of A and B,
``machine.Encoder(..., phases=4)``). One revolution moves the cord, belt or wheel by one
circumference at its *pitch* line:

    counts_per_mm = phases * ppr / (pi * D_eff)        drum, pulley or wheel
    D_eff         = drum (groove) diameter + cord diameter
    counts_per_mm = phases * ppr / (teeth * pitch_mm)   toothed belt (GT2: pitch 2 mm)

Examples: ``python hardware/tools/sled.py --ppr 600 --drum 30 --cord 1.0``;
``python hardware/tools/sled.py --ppr 600 --teeth 20 --pitch 2``;
``python hardware/tools/sled.py --measured-counts 7400 --measured-mm 300`` (tape check).
"""

from __future__ import annotations

import argparse
import math
import sys

# SAMPLES_COMPACT carries position as i16 (PROTOCOL.md): keep the full travel inside it.
I16_MAX = 32767
# Fastest sled movement to design for (m/s): leg-press Vmax ~0.63 +/- 0.15 m/s, plus margin for
# an unloaded sled pushed hard or dropped onto its stops.
V_MAX_M_S = 1.5


def counts_per_mm_drum(ppr: int, drum_mm: float, cord_mm: float = 0.0, phases: int = 4) -> float:
    """Counts per mm for a cord on a drum (or a wheel rolling on the rail: ``cord_mm=0``)."""
    d_eff = drum_mm + cord_mm
    if ppr <= 0 or d_eff <= 0 or phases not in (1, 2, 4):
        raise ValueError("need ppr > 0, a positive diameter and phases 1, 2 or 4")
    return phases * ppr / (math.pi * d_eff)


def counts_per_mm_belt(ppr: int, teeth: int, pitch_mm: float = 2.0, phases: int = 4) -> float:
    """Counts per mm for a toothed belt on a pulley of ``teeth`` teeth."""
    if ppr <= 0 or teeth <= 0 or pitch_mm <= 0 or phases not in (1, 2, 4):
        raise ValueError("need ppr, teeth, pitch > 0 and phases 1, 2 or 4")
    return phases * ppr / (teeth * pitch_mm)


def counts_per_mm_measured(counts: int, mm: float) -> float:
    """Counts per mm from a tape-measure check: counts moved over ``mm`` millimetres."""
    if mm <= 0:
        raise ValueError("distance must be positive")
    return abs(counts) / mm


def edge_rate_hz(counts_per_mm: float, v_m_s: float = V_MAX_M_S) -> float:
    """Quadrature edges per second at sled speed ``v_m_s``."""
    return counts_per_mm * v_m_s * 1000.0


def compact_range_mm(counts_per_mm: float) -> float:
    """Largest depth (mm) the i16 position of SAMPLES_COMPACT holds before it saturates."""
    return I16_MAX / counts_per_mm


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ppr", type=int, default=600, help="encoder lines per revolution")
    p.add_argument("--phases", type=int, default=4, choices=(1, 2, 4))
    p.add_argument("--drum", type=float, help="drum/pulley/wheel diameter, mm")
    p.add_argument("--cord", type=float, default=0.0, help="cord diameter, mm")
    p.add_argument("--teeth", type=int, help="belt pulley teeth")
    p.add_argument("--pitch", type=float, default=2.0, help="belt pitch, mm")
    p.add_argument("--measured-counts", type=int, help="counts moved in a tape check")
    p.add_argument("--measured-mm", type=float, help="distance moved in a tape check, mm")
    a = p.parse_args(argv)
    if a.measured_counts is not None or a.measured_mm is not None:
        if a.measured_counts is None or a.measured_mm is None:
            p.error("give both --measured-counts and --measured-mm")
        cpm = counts_per_mm_measured(a.measured_counts, a.measured_mm)
    elif a.teeth is not None:
        cpm = counts_per_mm_belt(a.ppr, a.teeth, a.pitch, a.phases)
    else:
        cpm = counts_per_mm_drum(a.ppr, 30.0 if a.drum is None else a.drum, a.cord, a.phases)
    print(
        f"counts_per_mm = {cpm:.3f} ({1 / cpm:.4f} mm per count, {cpm * 1000:.0f} counts/m); "
        f"{edge_rate_hz(cpm) / 1000:.1f} k edges/s at {V_MAX_M_S} m/s; "
        f"compact packets hold {compact_range_mm(cpm):.0f} mm of depth"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
