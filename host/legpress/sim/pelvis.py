"""Posterior pelvic tilt as a function of hip flexion (§1.2, §7.2).

Two parts:

- the pelvifemoral rhythm: about 5 % of hip flexion from the start (Bohannon & Bass 2017;
  MRI 0.5 degrees at 15 degrees of flexion). While the back lies on the pad the soft tissue over
  the sacrum takes it up [I]; it is reported but lifts nothing off the pad;
- the excess tilt: zero up to the person's onset hip angle, then growing with slope
  ``tilt_slope_initial`` (10-30 %, §7.2), and once the hip reaches its end range
  (``tilt_lock_span_deg`` further) with ``tilt_slope_locked`` (the femur drags the pelvis
  along, the "butt wink"; Marchetti's 54 degrees of pelvic swing over the last 50 degrees of
  knee flexion in the squat, §2), saturating smoothly at ``tilt_max_deg``. The transitions are
  C1 parabolas 2 degrees wide. The excess tilt follows hip flexion through a first-order lag
  ``tilt_lag_s`` (onset lags depth by 0-150 ms, §7.2) and so recovers on the way up.

The lumbar spine flexes with the excess tilt (``lumbar_flexion_ratio``), which is what rolls
the lower back off the pad (see :mod:`legpress.sim.pressure`).
"""

from __future__ import annotations

from typing import Final

import numpy as np

from legpress.sim.numerics import FloatArray, c1_ramp, lowpass
from legpress.sim.params import PersonParams

BLEND_DEG: Final = 2.0


def excess_tilt_static_deg(hip_deg: FloatArray, person: PersonParams) -> FloatArray:
    """Excess posterior tilt (degrees) at each hip flexion, without lag. Exactly 0 at and
    below the person's onset hip angle."""
    x = np.asarray(hip_deg, dtype=np.float64) - person.tilt_onset_hip_deg
    k1 = person.tilt_slope_initial
    k2 = person.tilt_slope_locked
    raw = k1 * c1_ramp(x, BLEND_DEG) + (k2 - k1) * c1_ramp(
        x - person.tilt_lock_span_deg, BLEND_DEG
    )
    cap = max(person.tilt_max_deg, 1e-6)
    out: FloatArray = cap * np.tanh(raw / cap)
    return out


def excess_tilt_deg(hip_deg: FloatArray, dt_s: float, person: PersonParams) -> FloatArray:
    """Excess posterior tilt (degrees) along a uniformly sampled hip-flexion trajectory,
    lagging hip flexion by ``person.tilt_lag_s``."""
    static = excess_tilt_static_deg(hip_deg, person)
    if person.tilt_lag_s <= 0:
        return static
    return np.maximum(lowpass(static, dt_s, person.tilt_lag_s), 0.0)


def pelvic_tilt_deg(
    hip_deg: FloatArray, hip_top_deg: float, excess_deg: FloatArray, person: PersonParams
) -> FloatArray:
    """Total posterior pelvic tilt from the top position: rhythm plus excess (degrees)."""
    rhythm = person.tilt_rhythm_ratio * np.maximum(np.asarray(hip_deg) - hip_top_deg, 0.0)
    out: FloatArray = rhythm + excess_deg
    return out


def lumbar_flexion_deg(excess_deg: FloatArray, person: PersonParams) -> FloatArray:
    """Lumbar flexion added by the tilt (degrees; 10-30 at full depth, §7.2)."""
    out: FloatArray = person.lumbar_flexion_ratio * excess_deg
    return out
