"""A third world: lift-off detection on a physical model written blind to the project's own.

    python tests/bench/bench_world3.py [--sessions N] [--keep DIR] [--per-session]

Generates leg-press sessions from a model of the body, the pad and the sensors written without
reading the project's simulator, its detector, the other independent model
(``bench_independent.py``) or their docs: only the CSV import format (docs/csv-import.md), the
README, ``legpress analyze --help``, issue #12 and the research notes
(``biomech_sensing.md``, cited below by section) were used. Each session is written as a CSV and
analysed as an outside user would: ``legpress analyze FILE.csv --cell-pitch-mm P
--rom-limit-mm L``, in-process through ``legpress.cli.main.main``, reading its JSON lines. Two
populations, 24 sessions each by default: ``standard`` (seeds 9100...) and ``hard`` (seeds
9300..., every confound of issue #12 at its full range at once). ``--keep DIR`` keeps each CSV
and its truth (``.truth.json``); ``--per-session`` prints each session's reps, one mark each
(misses here come in whole sessions). The last line of output is one JSON object. These are
figures, not targets: nothing was, or may be, tuned to them.

The model (sagittal plane, 2 mm steps along the back, physics at 100 Hz)
-----------------------------------------------------------------------
Pad frame: ``s`` up the back pad from the seat junction (s = 0), ``n`` away from the pad.

Body: the back's surface is a chain built from the thoracolumbar junction (T12/L1) by
integrating its tangent angle.

- Thorax: rigid and convex (kyphosis radius 300-700 mm) up to the shoulder blades. It sinks into
  the foam under its own load: trunk weight (150-300 N) plus a share of the leg thrust, with
  breathing (+-3-8 % at 0.2-0.3 Hz, research 7.3).
- Lumbar spine: 150-200 mm of uniform curvature. Its total bend, the lordosis, is 15-35 deg in
  the reclined, supported posture (an assumption: standing lordosis less what sitting takes).
  Posterior pelvic tilt ``theta`` takes the lordosis away (bend = lordosis - theta): the arch
  flattens, then flexes (McKean 2010: 12.6-26.3 deg of lumbar flexion).
- Pelvis: rigid, 110-160 mm of convex sacral/gluteal surface, tangent-continuous with the lumbar
  end, so it turns with ``theta``.

The lower chain (lumbar + pelvis) hangs from T12. It is rotated about T12 until the foam under
it carries the pelvis's pad load (force balance, bisection per sample). As the arch flattens,
the lumbar spine comes down onto the pad, so mid-lumbar cells rise first (research 7.3 ii). Once
it flexes, the chain rocks on the lumbar spine and the sacrum peels off from the bottom up (7.3
i, iii, iv). As the pelvis tucks, the seat corner takes 30-70 % of the pelvic load by 25 deg of
tilt (an assumption). A person whose sacrum does not press at least 5 mm into the pad at rest is
redrawn.

Tilt against depth: sled travel gives knee flexion through the two-segment leg (thigh and shank
0.40-0.46 m, research 1.1). Knee flexion gives hip flexion (40-65 deg at the top, 0.5-0.8 deg per
degree of knee flexion, by foot placement). Hip flexion gives pelvic tilt in three parts, each
knee softened over 4 deg:

- 3-7 % of hip flexion throughout (pelvifemoral rhythm, Bohannon 1985 and 2017);
- another 12-35 % beyond a personal onset (7.2);
- nearly all of it beyond the hip's end range, 10-25 deg later, where the thigh can only go on
  by dragging the pelvis.

The onset is set per person so that they would lift off, holding still, at a drawn depth of
200-420 mm (people differ most in where the pelvis starts to tuck). Per rep it varies by
1.5-3 deg, fatigue moves it earlier by up to 4 deg over a set (hard), and the pelvis follows
with a 30-120 ms lag.

Loads: the legs' force on the sled is ``m (g sin 45 deg - depth'')`` (effective mass 60-180
kg). 30-55 % of it presses the back. A depth factor raises that to 1.2-2.5x by 400 mm (bracing,
knees to the chest; with the acceleration, the 0.5-3x of issue #12). The pelvis takes 45-70 % of
it and the thorax the rest. In hard sessions, half the reps have an arm pull on the handles
(60-250 N around the bottom), which presses the pelvis into the seat and onto the pad.

Pad: Winkler foam 30-70 mm thick with a stiffening law ``p = E e (1 + (e/e_d)^3)`` (strain
``e``; E 35-110 kPa, e_d 0.4-0.6). It is flat but for a lumbar support 0-10 mm high (hard 0-22
mm) at 150-230 mm above the seat (Castonguay-Siu & Taylor 2022: 0.7-2.1 cm supports about 19 cm
up). Contact widths are 120-200 mm at the pelvis, 60-110 at the lumbar spine and 150-250 at the
thorax. The cover's tension spreads what a cell feels over ``exp(-|x|/l)/(2 l)``, l = 4-20 mm
(the Green's function of a tensioned membrane on an elastic bed), so a cell next to a contact
still reads load.

Cells: 4-16 cells at a 25-50 mm pitch, reaching at least 160 mm up the pad (standard: 8 at 40
mm). The strip starts 0-1 pitch above the seat junction (standard 0-0.3), cell0's centre half a
pitch further up. Active size 10-25 mm, under the cover. Each cell's force goes through, in order:

- creep and recovery: a 5-30 s memory adding 2-5 % of the sustained load (hard 5-15 %);
- hysteresis: unloading reads up to 3-15 % high (datasheet +10 %);
- conductance ``(F/F_ref)^alpha``, alpha 0.9-1.1 (hard 0.7-1.3), with a 0.1-0.3 N
  break-force dead zone;
- per-cell gain 0.85-1.15 (hard 0.6-1.5), per-rep gain jitter, and a session drift of up to
  +-3 % (hard +-10 %);
- crosstalk into each neighbour: up to 4 % (hard 15 %);
- a front end, transimpedance (linear, clipping) or, in half the hard strips, a voltage divider
  (G/(G+G_m), compressive);
- a 12-bit ADC (hard 10 or 12), noise 0.2-0.5 % of full scale;
- a non-zero unloaded reading (0.5-3 % FS, drifting), tared imperfectly (error SD 0.3 % FS;
  hard 0.3-1.5 %);
- export in counts (hard: also 1/100 counts, % of full scale or ``kPa-like`` counts x 0.05).

Hard sessions may also have a dead cell (it reads its offset), a stuck cell (a constant), a
connector that drops a cell for 0.2-1 s, a person who stands up between sets or sits down after
the recording starts, and a strip read at 50, 100 or 200 Hz (standard 100).

Sled and sessions: minimum-jerk lowering of 1.0-3.0 s (hard 0.7-3.5) and pushing of 0.6-2.0 s,
a bottom pause of 0-0.4 s and a top pause of 0.4-1.5 s (research 1.3, 7.1). 1-3 sets of 5-10
reps, with 6-15 s rests (shortened for speed). Between sets the body slides along the pad by up
to +-3 mm (hard +-15 mm). Rep depth spreads by 6-15 mm, and in hard sessions fatigue takes it up
to 30 mm deeper over a set. The encoder has 0.05-0.2 mm counts and 0.2-1 mm of backlash; its
zero drifts between sets by up to +-0.5 mm (hard +-3 mm). Rep depths follow one of three
styles, against the person's own static depths:

- ``never`` (35 %): 20-60 mm short of where the SCP rises within 2 mm of the surface;
- ``always`` (25 %): 20-60 mm past lift-off;
- ``mixed`` (40 %): each set starts 30-70 mm short of that and ends 20-50 mm past lift-off
  (going deeper as the set goes on).

Ground truth, per rep: the sacral contact point (SCP) is the apex of the pelvis's convex surface
in the person's neutral posture, where it presses deepest into the pad.

- **Lift-off** onset is the first sample of the rep at which the SCP is more than 3 mm clear of
  the undeformed pad surface: the sacrum has rounded off the pad, whatever the cover and the
  neighbours still carry.
- **Clean**: the SCP stays at least 2 mm pressed into the foam all rep.
- Anything in between is a **near miss** (don't care).
- ROM: the therapist's limit is drawn per session, -30 to +50 mm around the person's median
  depth. A rep whose true depth passes it by 5 mm must alert; a rep 10 mm or more short of it
  must not.

Scored per population:

- sensitivity: lift-off reps with a ``lift_off`` event between the rep's start and 0.3 s after
  its end;
- specificity: clean reps without one (near misses excluded);
- lift-off alert latency after the true onset (median and p95; negative is early);
- the share of lift-off reps whose first ``tilt_warning`` came at least 150 ms before their
  ``lift_off`` alert (no alert counts as no);
- the share of clean reps warned;
- ``pad_unjudged`` lines and their reasons;
- ROM misses and false alarms.

docs/benchmarks.md ("A third world") has the figures as they fell.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
if str(REPO / "host") not in sys.path:
    sys.path.insert(0, str(REPO / "host"))

from legpress.cli.main import main as legpress_main  # noqa: E402

SEEDS = {"standard": 9100, "hard": 9300}
DX_MM = 2.0  # step along the back's surface
PHYS_HZ = 100.0  # physics rate (cell forces and truth are interpolated to the output rate)
G = 9.81
LIFT_MM = 3.0  # SCP clearance above the undeformed foam that is a lift-off
CLEAN_MM = -2.0  # SCP must stay at least this far into the foam for a clean rep
ROM_MUST_MM = 5.0
ROM_MUST_NOT_MM = 10.0
WARN_LEAD_S = 0.15
# Clean reps by how far the sacral point stayed into the foam (mm; clean is >= 2 mm).
CLEAN_BANDS_MM = ((2.0, 3.0), (3.0, 4.0), (4.0, 6.0), (6.0, 10.0), (10.0, math.inf))


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


# ----------------------------------------------------------------------------------------------
# People, pads and strips


@dataclass
class Person:
    """Everything drawn for one session: body, tilt pattern, loads, pad, strip, readout."""

    # body chain (mm, rad)
    lumbar_mm: float
    pelvis_mm: float
    lordosis_rad: float
    t12_angle_rad: float  # tangent of the thorax at T12 (heading away from the pad, downward)
    pelvis_radius_mm: float
    scp_along_mm: float  # SCP distance below L5/S1 along the pelvis
    scp_s_mm: float  # SCP height above the seat junction in the neutral posture
    thorax_radius_mm: float
    shoulder_above_apex_mm: float
    width_pelvis_mm: float
    width_lumbar_mm: float
    width_thorax_mm: float
    # tilt against depth
    thigh_m: float
    shank_m: float
    knee_top_deg: float
    hip_top_deg: float
    hip_per_knee: float
    rhythm: float
    onset_slope: float
    onset_hip_deg: float
    end_range_hip_deg: float
    onset_jitter_deg: float
    fatigue_deg: float
    tilt_lag_s: float
    seat_share: float
    # loads
    mass_kg: float
    normal_share: float
    depth_gain: float
    pelvis_share: float
    trunk_n: float
    breath_amp: float
    breath_hz: float
    arm_prob: float
    # pad
    foam_mm: float
    bump_mm: float  # the pad's lumbar support: height, centre, width (mm)
    bump_s_mm: float
    bump_w_mm: float
    foam_kpa: float
    foam_dense: float
    cover_mm: float
    # strip
    pitch_mm: float
    cells: int
    first_cell_mm: float
    cell_size_mm: np.ndarray
    alpha: np.ndarray
    break_n: float
    gain: np.ndarray
    rep_gain_sd: float
    drift: np.ndarray
    creep: float
    creep_tau_s: float
    hyst: float
    crosstalk: np.ndarray
    divider: bool
    bits: int
    noise_fs: float
    offset_fs: np.ndarray
    offset_drift_fs: np.ndarray
    tare_err_fs: np.ndarray
    unit: str
    dead: int | None
    stuck: int | None
    flaky: int | None
    stands_up: bool
    # sled and session
    rate_hz: float
    enc_mm: float
    backlash_mm: float
    zero_drift_mm: float
    slide_mm: float
    style: str = ""
    depth_lo_mm: float | None = None


def draw_person(rng: np.random.Generator, hard: bool) -> Person:
    """One person on one machine with one strip; ``hard`` widens every range to issue #12's."""
    lordosis = math.radians(_u(rng, 15, 35))
    t12 = lordosis * _u(rng, 0.3, 0.5)
    pelvis = _u(rng, 110, 160)
    scp_along = pelvis * _u(rng, 0.35, 0.65)
    pelvis_radius = scp_along / (lordosis - t12)
    if hard:
        pitch = float(rng.choice([25.0, 30.0, 35.0, 40.0, 45.0, 50.0]))
        lo = max(4, math.ceil(160 / pitch))
        cells = int(rng.integers(lo, 17))
        first = _u(rng, 0, 1) * pitch
        size = rng.uniform(10, 25, cells)
        alpha = _u(rng, 0.7, 1.3) + rng.normal(0, 0.04, cells)
        gain = rng.uniform(0.6, 1.5, cells)
        drift = rng.uniform(-0.10, 0.10, cells)
        crosstalk = rng.uniform(0, 0.15, cells)
        creep, hyst = _u(rng, 0.05, 0.15), _u(rng, 0.05, 0.15)
        divider = bool(rng.random() < 0.5)
        bits = int(rng.choice([10, 12]))
        noise = _u(rng, 0.002, 0.005)
        tare = rng.normal(0, 1, cells) * _u(rng, 0.003, 0.015)
        unit = str(rng.choice(["counts", "centi", "percent", "kpa"]))
        faults = rng.random(4)
        dead = int(rng.integers(0, cells)) if faults[0] < 0.3 else None
        stuck = int(rng.integers(0, cells)) if faults[1] < 0.25 else None
        flaky = int(rng.integers(0, cells)) if faults[2] < 0.25 else None
        stands_up = bool(faults[3] < 0.3)
        rate = float(rng.choice([50.0, 100.0, 200.0]))
        slide, zero_drift = 15.0, 3.0
        jitter, fatigue = _u(rng, 2.0, 3.0), _u(rng, 0, 4)
        arm, depth_gain = 0.5, _u(rng, 1.2, 2.5)
        breath = _u(rng, 0.03, 0.08)
    else:
        pitch, cells = 40.0, 8
        first = _u(rng, 0, 0.3) * pitch
        size = np.full(cells, _u(rng, 12, 18))
        alpha = np.full(cells, _u(rng, 0.9, 1.1))
        gain = rng.uniform(0.85, 1.15, cells)
        drift = rng.uniform(-0.03, 0.03, cells)
        crosstalk = rng.uniform(0, 0.04, cells)
        creep, hyst = _u(rng, 0.02, 0.05), _u(rng, 0.03, 0.08)
        divider, bits, noise = False, 12, _u(rng, 0.002, 0.003)
        tare = rng.normal(0, 1, cells) * 0.003
        unit = "counts"
        dead = stuck = flaky = None
        stands_up = False
        rate, slide, zero_drift = 100.0, 3.0, 0.5
        jitter, fatigue, arm, depth_gain = _u(rng, 1.5, 2.0), 0.0, 0.0, _u(rng, 1.2, 1.8)
        breath = _u(rng, 0.03, 0.05)
    onset = _u(rng, 85, 110)
    return Person(
        lumbar_mm=_u(rng, 150, 200),
        pelvis_mm=pelvis,
        lordosis_rad=lordosis,
        t12_angle_rad=t12,
        pelvis_radius_mm=pelvis_radius,
        scp_along_mm=scp_along,
        scp_s_mm=_u(rng, 30, 80),
        thorax_radius_mm=_u(rng, 300, 700),
        shoulder_above_apex_mm=_u(rng, 80, 200),
        width_pelvis_mm=_u(rng, 120, 200),
        width_lumbar_mm=_u(rng, 60, 110),
        width_thorax_mm=_u(rng, 150, 250),
        thigh_m=_u(rng, 0.40, 0.46),
        shank_m=_u(rng, 0.40, 0.46),
        knee_top_deg=_u(rng, 5, 15),
        hip_top_deg=_u(rng, 40, 65),
        hip_per_knee=_u(rng, 0.5, 0.8),
        rhythm=_u(rng, 0.03, 0.07),
        onset_slope=_u(rng, 0.12, 0.35),
        onset_hip_deg=onset,
        end_range_hip_deg=onset + _u(rng, 10, 25),
        onset_jitter_deg=jitter,
        fatigue_deg=fatigue,
        tilt_lag_s=_u(rng, 0.03, 0.12),
        seat_share=_u(rng, 0.3, 0.7),
        mass_kg=_u(rng, 60, 180),
        normal_share=_u(rng, 0.3, 0.55),
        depth_gain=depth_gain,
        pelvis_share=_u(rng, 0.45, 0.7),
        trunk_n=_u(rng, 150, 300),
        breath_amp=breath,
        breath_hz=_u(rng, 0.2, 0.3),
        arm_prob=arm,
        foam_mm=_u(rng, 30, 70),
        bump_mm=_u(rng, 0, 22) if hard else _u(rng, 0, 10),
        bump_s_mm=_u(rng, 150, 230),
        bump_w_mm=_u(rng, 30, 60),
        foam_kpa=_u(rng, 35, 110),
        foam_dense=_u(rng, 0.4, 0.6),
        cover_mm=_u(rng, 4, 20),
        pitch_mm=pitch,
        cells=cells,
        first_cell_mm=first,
        cell_size_mm=size,
        alpha=np.clip(alpha, 0.7, 1.3),
        break_n=_u(rng, 0.1, 0.3),
        gain=gain,
        rep_gain_sd=_u(rng, 0.02, 0.08) if hard else 0.02,
        drift=drift,
        creep=creep,
        creep_tau_s=_u(rng, 5, 30),
        hyst=hyst,
        crosstalk=crosstalk,
        divider=divider,
        bits=bits,
        noise_fs=noise,
        offset_fs=rng.uniform(0.005, 0.03, cells),
        offset_drift_fs=rng.normal(0, 0.003, cells),
        tare_err_fs=tare,
        unit=unit,
        dead=dead,
        stuck=stuck,
        flaky=flaky,
        stands_up=stands_up,
        rate_hz=rate,
        enc_mm=_u(rng, 0.05, 0.2),
        backlash_mm=_u(rng, 0.2, 1.0),
        zero_drift_mm=zero_drift,
        slide_mm=slide,
    )


# ----------------------------------------------------------------------------------------------
# Body, foam, tilt


def foam_kpa(p: Person, pen_mm: np.ndarray) -> np.ndarray:
    """Foam pressure (kPa) for a penetration into the undeformed foam (mm; <= 0 is no contact)."""
    e = np.minimum(np.maximum(pen_mm * (1.0 / p.foam_mm), 0.0), 0.95)
    r = e * (1.0 / p.foam_dense)
    return p.foam_kpa * e * (1.0 + r * r * r)


def pad_mm(p: Person, s_mm: np.ndarray) -> np.ndarray:
    """The undeformed pad surface's height (mm) at ``s_mm``: flat but for a lumbar support."""
    x = (s_mm - p.bump_s_mm) * (1.0 / p.bump_w_mm)
    return p.bump_mm * np.exp(-0.5 * x * x)


@dataclass
class Chain:
    """The back's surface as body points: thorax above T12, the lower chain below it."""

    th_s: np.ndarray  # thorax points' s relative to T12 (mm)
    th_n: np.ndarray  # their height above the pad before the thorax sinks (mm)
    lo_a0: np.ndarray  # lower chain tangent angle at zero tilt, per segment (rad)
    lo_c: np.ndarray  # d(angle)/d(tilt) per segment
    lo_w: np.ndarray
    scp: int  # index of the SCP segment in the lower chain
    t12_n: float  # T12 height above the pad before the thorax sinks
    t12_s: float  # T12 height above the seat junction (before sliding)
    z_table: np.ndarray  # thorax sink (mm) ...
    f_table: np.ndarray  # ... against its load (N)


def build_chain(p: Person) -> Chain:
    """The person's back in the pad frame, and the thorax's load-sink table."""
    # lower chain, downward from T12: segment midpoints u
    n_l = round(p.lumbar_mm / DX_MM)
    n_p = round(p.pelvis_mm / DX_MM)
    u = (np.arange(n_l + n_p) + 0.5) * DX_MM
    lum = u < p.lumbar_mm
    a0 = np.where(
        lum,
        p.t12_angle_rad - p.lordosis_rad * u / p.lumbar_mm,
        p.t12_angle_rad - p.lordosis_rad + (u - p.lumbar_mm) / p.pelvis_radius_mm,
    )
    c = np.where(lum, u / p.lumbar_mm, 1.0)
    w = np.where(lum, p.width_lumbar_mm, p.width_pelvis_mm)
    scp = int(np.argmin(np.abs(u - (p.lumbar_mm + p.scp_along_mm))))
    ds = -np.cumsum(np.cos(a0)) * DX_MM
    # thorax: apex above T12 where the slope matches, shoulders above the apex
    apex = p.t12_angle_rad * p.thorax_radius_mm
    top = apex + p.shoulder_above_apex_mm + 80.0
    th_s = np.arange(DX_MM / 2, top, DX_MM)
    th_n = (th_s - apex) ** 2 / (2 * p.thorax_radius_mm)
    over = np.clip(th_s - apex - p.shoulder_above_apex_mm, 0, None)
    th_n = th_n + over**2 / (2 * 40.0)
    t12_n = apex**2 / (2 * p.thorax_radius_mm)
    t12_s = p.scp_s_mm - float(ds[scp])
    z = np.linspace(0, 0.9 * p.foam_mm, 400)
    pen = z[:, None] - th_n[None, :] + pad_mm(p, t12_s + th_s)[None, :]
    f = foam_kpa(p, pen).sum(axis=1) * (DX_MM * p.width_thorax_mm * 1e-3)  # kPa mm^2 -> N
    return Chain(
        th_s=th_s,
        th_n=th_n,
        lo_a0=a0,
        lo_c=c,
        lo_w=w,
        scp=scp,
        t12_n=t12_n,
        t12_s=t12_s,
        z_table=z,
        f_table=f,
    )


def hip_flexion_deg(p: Person, depth_mm: np.ndarray) -> np.ndarray:
    """Hip flexion from sled travel through the two-segment leg (research 1.1)."""
    l1, l2 = p.thigh_m, p.shank_m
    d_top = math.sqrt(l1 * l1 + l2 * l2 + 2 * l1 * l2 * math.cos(math.radians(p.knee_top_deg)))
    d = np.clip(d_top - depth_mm * 1e-3, abs(l1 - l2) + 0.05, None)
    cos_k = np.clip((d * d - l1 * l1 - l2 * l2) / (2 * l1 * l2), -1.0, 1.0)
    knee = np.degrees(np.arccos(cos_k))
    return p.hip_top_deg + p.hip_per_knee * (knee - p.knee_top_deg)


def _softplus(x: np.ndarray, width: float) -> np.ndarray:
    return width * np.logaddexp(0.0, x / width)


def tilt_rad(p: Person, hip_deg: np.ndarray, shift_deg: np.ndarray | float) -> np.ndarray:
    """Posterior pelvic tilt for a hip flexion; ``shift_deg`` moves this rep's onset earlier."""
    x = hip_deg - p.hip_top_deg
    on = p.onset_hip_deg - shift_deg
    end = p.end_range_hip_deg - shift_deg
    rest = 1.0 - p.rhythm - p.onset_slope
    deg = (
        p.rhythm * x
        + p.onset_slope * _softplus(hip_deg - on, 4.0)
        + rest * _softplus(hip_deg - end, 4.0)
    )
    return np.radians(deg)


def thorax_sink(ch: Chain, load_n: np.ndarray) -> np.ndarray:
    return np.interp(load_n, ch.f_table, ch.z_table)


def solve_lower(
    p: Person, ch: Chain, theta: np.ndarray, z_t: np.ndarray, load_n: np.ndarray, slide: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower chain points per sample, rotated about T12 until the foam under them carries
    ``load_n``: arrays (samples, segments) of s above the seat junction, height above the pad
    (its clearance above the undeformed pad surface; negative: pressed into the foam) and the
    length of pad each covers (mm).
    """
    a = ch.lo_a0[None, :] + theta[:, None] * ch.lo_c[None, :]
    cos_a, sin_a = np.cos(a), np.sin(a)
    ds = -np.cumsum(cos_a, axis=1) * DX_MM  # relative to T12, downward
    dn = np.cumsum(sin_a, axis=1) * DX_MM
    width = ch.lo_w[None, :] * (DX_MM * 1e-3)
    t12_n = (ch.t12_n - z_t)[:, None]
    t12_s = ch.t12_s + slide[:, None]

    def force(psi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        cs, sn = np.cos(psi)[:, None], np.sin(psi)[:, None]
        s = t12_s + ds * cs - dn * sn
        n = t12_n + dn * cs + ds * sn
        along = np.abs(cos_a * cs + sin_a * sn)  # cos(a - psi): pad length per mm of back
        f = (foam_kpa(p, pad_mm(p, s) - n) * along * width * (s >= 0)).sum(axis=1)
        return f, s, n, along

    lo = np.full(theta.shape, -0.6)
    hi = np.full(theta.shape, 0.6)
    f_lo = force(lo)[0]
    f_hi = force(hi)[0]
    for _ in range(10):
        mid = 0.5 * (lo + hi)
        f = force(mid)[0]
        big = f > load_n
        hi, f_hi = np.where(big, mid, hi), np.where(big, f, f_hi)
        lo, f_lo = np.where(big, lo, mid), np.where(big, f_lo, f)
    span = np.where(f_hi > f_lo, f_hi - f_lo, 1.0)
    psi = lo + (hi - lo) * np.clip((load_n - f_lo) / span, 0.0, 1.0)
    _f, s, n, along = force(psi)
    return s, n - pad_mm(p, s), along * DX_MM


# ----------------------------------------------------------------------------------------------
# A session: trajectory, physics, sensors


@dataclass
class Rep:
    """One rep's truth."""

    t_start_s: float
    t_bottom_s: float
    t_end_s: float
    depth_mm: float
    kind: str = ""  # lift_off | clean | near_miss
    onset_s: float | None = None
    clearance_max_mm: float = 0.0


@dataclass
class Session:
    """A generated session: what the CSV holds, and the truth."""

    t_s: np.ndarray
    depth_mm: np.ndarray
    cells: np.ndarray
    reps: list[Rep]
    pitch_mm: float
    rom_limit_mm: float
    person: Person


def _min_jerk(n: int) -> np.ndarray:
    tau = np.linspace(0.0, 1.0, n)
    return 10 * tau**3 - 15 * tau**4 + 6 * tau**5


def _lowpass(x: np.ndarray, a: float) -> np.ndarray:
    """y[i] = a y[i-1] + (1-a) x[i] along axis 0, y[-1] = x[0]; exact, in stable blocks."""
    out = np.empty_like(x)
    block = max(1, min(2000, int(20 / max(-math.log(a), 1e-12))))
    prev = x[0].copy()
    for i0 in range(0, len(x), block):
        seg = x[i0 : i0 + block]
        k = np.arange(1, len(seg) + 1, dtype=float).reshape((-1,) + (1,) * (x.ndim - 1))
        pw = a**k
        acc = np.cumsum((1 - a) * seg / pw, axis=0)
        out[i0 : i0 + block] = pw * (prev + acc)
        prev = out[i0 + len(seg) - 1].copy()
    return out


def _decaying_max(x: np.ndarray, a: float) -> np.ndarray:
    """e[i] = max(x[i], a e[i-1]) along axis 0, in stable blocks."""
    out = np.empty_like(x)
    block = max(1, min(2000, int(20 / max(-math.log(a), 1e-12))))
    prev = np.zeros_like(x[0])
    for i0 in range(0, len(x), block):
        seg = x[i0 : i0 + block]
        k = np.arange(1, len(seg) + 1, dtype=float).reshape((-1,) + (1,) * (x.ndim - 1))
        pw = a**k
        acc = np.maximum.accumulate(np.maximum(seg / pw, prev[None]), axis=0)
        out[i0 : i0 + block] = pw * acc
        prev = out[i0 + len(seg) - 1].copy()
    return out


def static_clearance(p: Person, ch: Chain, depth: np.ndarray) -> np.ndarray:
    """The SCP's clearance (mm) held still at each depth (no acceleration, breathing, arms)."""
    theta = tilt_rad(p, hip_flexion_deg(p, depth), 0.0)
    pelvis_n, thorax_n = loads(p, depth, np.zeros_like(depth), theta, 0.0)
    z_t = thorax_sink(ch, thorax_n)
    _s, n, _proj = solve_lower(p, ch, theta, z_t, pelvis_n, np.zeros_like(depth))
    return n[:, ch.scp]


def static_lift_off_depth(p: Person, ch: Chain, clear_mm: float = LIFT_MM) -> float | None:
    """The shallowest depth (mm) at which the SCP clears the foam by ``clear_mm``, statically."""
    depth = np.arange(0.0, 482.0, 4.0)
    above = np.nonzero(static_clearance(p, ch, depth) > clear_mm)[0]
    return float(depth[above[0]]) if len(above) else None


def aim_lift_off(p: Person, ch: Chain, wanted_mm: float) -> float | None:
    """Moves the person's tilt onset (and end range) so that they lift off near ``wanted_mm``.

    People differ most in where their pelvis starts to tuck (research 7.2); this draws that
    difference as a lift-off depth and finds the onset that gives it in this model. Returns the
    static lift-off depth it reached, or None when this body never lifts off (then the onset is
    left as drawn).
    """
    onset, end = p.onset_hip_deg, p.end_range_hip_deg
    lo, hi = -20.0, 50.0  # degrees earlier
    p.onset_hip_deg, p.end_range_hip_deg = onset - hi, end - hi
    if static_lift_off_depth(p, ch) is None:
        p.onset_hip_deg, p.end_range_hip_deg = onset, end
        return None
    for _ in range(12):
        mid = 0.5 * (lo + hi)
        p.onset_hip_deg, p.end_range_hip_deg = onset - mid, end - mid
        got = static_lift_off_depth(p, ch)
        if got is None or got > wanted_mm:
            lo = mid
        else:
            hi = mid
    p.onset_hip_deg, p.end_range_hip_deg = onset - hi, end - hi
    return static_lift_off_depth(p, ch)


def loads(
    p: Person, depth: np.ndarray, accel: np.ndarray, theta: np.ndarray, arm: np.ndarray | float
) -> tuple[np.ndarray, np.ndarray]:
    """The pelvis's and the thorax's pad loads (N) from depth (mm), the sled's acceleration away
    from the person (m/s^2; positive while the legs brake the lowering or push it up), the tilt
    (the seat corner takes a growing share of the pelvis's load) and an arm pull (N)."""
    sled = p.mass_kg * np.clip(G * math.sin(math.radians(45)) + accel, 0.5, None)
    gain = 1.0 + (p.depth_gain - 1.0) * np.clip(depth / 400.0, 0, 1.3) ** 1.5
    thrust = sled * p.normal_share * gain
    seat = 1 - p.seat_share * np.clip(theta / math.radians(25), 0, 1)
    pelvis = (thrust * p.pelvis_share + 0.6 * arm) * seat
    return pelvis, thrust * (1 - p.pelvis_share) + p.trunk_n + 0.2 * arm


def generate_session(seed: int, hard: bool) -> Session:
    """One session of one person, seeded: samples as the CSV will hold them, and the truth."""
    rng = np.random.default_rng(seed)
    while True:  # a body whose sacrum does not press 5 mm into the pad at rest is redrawn
        p = draw_person(rng, hard)
        ch = build_chain(p)
        if static_clearance(p, ch, np.zeros(1))[0] < -5.0:
            break
    style = str(rng.choice(["never", "always", "mixed"], p=[0.35, 0.25, 0.4]))
    lo_depth = aim_lift_off(p, ch, _u(rng, 200, 420))
    p.depth_lo_mm = lo_depth
    clean_depth = static_lift_off_depth(p, ch, CLEAN_MM)
    mixed_drift = 0.0
    if lo_depth is None or clean_depth is None:
        style, target = "never", _u(rng, 220, 380)
    elif style == "never":
        target = clean_depth - _u(rng, 20, 60)
    elif style == "always":
        target = lo_depth + _u(rng, 20, 60)
    else:  # starts clean and goes deeper through the set until the back lifts (fatigue)
        target = clean_depth - _u(rng, 30, 70)
        mixed_drift = lo_depth + _u(rng, 20, 50) - target
    target = float(np.clip(target, 140.0, 470.0))
    p.style = style
    spread = _u(rng, 6, 15)

    # ---- the sled's trajectory at the physics rate, rep by rep
    dt = 1.0 / PHYS_HZ
    depth_parts: list[np.ndarray] = []
    shift_parts: list[np.ndarray] = []  # this rep's onset shift (deg), per sample
    set_parts: list[np.ndarray] = []
    on_pad_parts: list[np.ndarray] = []
    reps: list[Rep] = []
    t = 0.0
    n_sets = int(rng.integers(1, 4)) if hard else int(rng.integers(2, 4))

    def hold(seconds: float, depth_now: float, set_i: int, on: bool = True) -> None:
        nonlocal t
        n = max(1, round(seconds / dt))
        depth_parts.append(np.full(n, depth_now))
        shift_parts.append(np.zeros(n))
        set_parts.append(np.full(n, set_i))
        on_pad_parts.append(np.full(n, on))
        t += n * dt

    off_first = hard and rng.random() < 0.3
    if off_first:
        hold(_u(rng, 1.0, 2.0), 0.0, 0, on=False)
    hold(_u(rng, 2.0, 3.0), 0.0, 0)
    for set_i in range(n_sets):
        n_reps = int(rng.integers(5, 11))
        drift_mm = _u(rng, 0, 30) if hard and rng.random() < 0.5 else 0.0
        drift_mm += mixed_drift
        for r in range(n_reps):
            frac = r / max(1, n_reps - 1)
            depth = float(np.clip(target + rng.normal(0, spread) + drift_mm * frac, 120, 480))
            shift = rng.normal(0, p.onset_jitter_deg) + p.fatigue_deg * frac
            ecc = _u(rng, 0.7, 3.5) if hard else _u(rng, 1.0, 3.0)
            con = _u(rng, 0.6, 2.0)
            pause = _u(rng, 0.0, 0.4)
            t_start = t
            n_e, n_b, n_c = round(ecc / dt), max(1, round(pause / dt)), round(con / dt)
            seg = np.concatenate(
                [depth * _min_jerk(n_e), np.full(n_b, depth), depth * (1 - _min_jerk(n_c))]
            )
            depth_parts.append(seg)
            shift_parts.append(np.full(seg.shape, shift))
            set_parts.append(np.full(seg.shape, set_i))
            on_pad_parts.append(np.full(seg.shape, True))
            t += len(seg) * dt
            reps.append(Rep(t_start, t_start + (n_e + n_b / 2) * dt, t, depth))
            hold(_u(rng, 0.4, 1.5), 0.0, set_i)
        if set_i < n_sets - 1:
            rest = _u(rng, 6, 15)
            if p.stands_up:
                hold(1.0, 0.0, set_i)
                hold(rest - 2.0, 0.0, set_i, on=False)
                hold(1.0, 0.0, set_i + 1)
            else:
                hold(rest, 0.0, set_i + 1)
    hold(1.0, 0.0, n_sets - 1)
    depth = np.concatenate(depth_parts)
    shift = np.concatenate(shift_parts)
    set_of = np.concatenate(set_parts).astype(int)
    on_pad = np.concatenate(on_pad_parts)
    n_t = len(depth)
    t_phys = np.arange(n_t) * dt
    # the legs push the sled away: m depth'' = m g sin(45 deg) - F, so F = m (g sin - depth'')
    accel = -np.gradient(np.gradient(depth * 1e-3, dt), dt)

    # ---- loads, tilt, body placement
    arm = np.zeros(n_t)
    for rep in reps:
        if rng.random() < p.arm_prob:
            amp, width = _u(rng, 60, 250), _u(rng, 0.25, 0.75)
            arm += amp * np.exp(-0.5 * ((t_phys - rep.t_bottom_s) / width) ** 2)
    theta = tilt_rad(p, hip_flexion_deg(p, depth), shift)
    theta = _lowpass(theta, math.exp(-dt / p.tilt_lag_s))
    pelvis_n, thorax_n = loads(p, depth, accel, theta, arm)
    breath = 1 + p.breath_amp * np.sin(2 * math.pi * p.breath_hz * t_phys + _u(rng, 0, 6.3))
    thorax_n = thorax_n * breath
    slides = np.concatenate([[0.0], rng.uniform(-p.slide_mm, p.slide_mm, 3)])
    slide = slides[set_of]
    pelvis_n = np.where(on_pad, pelvis_n, 0.0)
    thorax_n = np.where(on_pad, thorax_n, 0.0)

    z_t = thorax_sink(ch, thorax_n)
    grid_top = p.first_cell_mm + p.cells * p.pitch_mm + 100.0
    grid = np.arange(0.0, grid_top, DX_MM)
    n_g = len(grid)
    window = cell_windows(p, grid)
    force = np.zeros((n_t, p.cells))
    scp_n = np.zeros(n_t)
    chunk = 2048
    for i0 in range(0, n_t, chunk):
        sl = slice(i0, min(n_t, i0 + chunk))
        s_lo, n_lo, proj = solve_lower(p, ch, theta[sl], z_t[sl], pelvis_n[sl], slide[sl])
        n_lo = np.where(on_pad[sl, None], n_lo, 500.0)
        scp_n[sl] = n_lo[:, ch.scp]
        s_th = ch.t12_s + ch.th_s[None, :] + slide[sl, None]
        n_th = ch.th_n[None, :] - z_t[sl, None] - pad_mm(p, s_th)
        n_th = np.where(on_pad[sl, None], n_th, 500.0)
        s_all = np.concatenate([s_lo, s_th], axis=1)
        q_all = np.concatenate(
            [
                foam_kpa(p, -n_lo) * proj,
                foam_kpa(p, -n_th) * DX_MM,
            ],
            axis=1,
        )  # kPa * mm of pad length
        b = np.floor(s_all / DX_MM).astype(int)
        ok = (b >= 0) & (b < n_g)
        rows = np.broadcast_to(np.arange(s_all.shape[0])[:, None], s_all.shape)
        flat = np.bincount((rows * n_g + b)[ok], weights=q_all[ok], minlength=s_all.shape[0] * n_g)
        pad_kpa = flat.reshape(s_all.shape[0], n_g) / DX_MM
        force[sl] = pad_kpa @ window  # N
    return finish_session(rng, p, t_phys, depth, force, scp_n, reps, set_of)


def cell_windows(p: Person, grid: np.ndarray) -> np.ndarray:
    """(grid, cells): N per kPa at each pad position, the cover's spreading included."""
    x = np.arange(-6 * p.cover_mm, 6 * p.cover_mm + DX_MM, DX_MM)
    kernel = np.exp(-np.abs(x) / p.cover_mm)
    kernel /= kernel.sum()
    out = np.zeros((len(grid), p.cells))
    for k in range(p.cells):
        centre = p.first_cell_mm + (k + 0.5) * p.pitch_mm
        size = float(p.cell_size_mm[k])
        box = (np.abs(grid + DX_MM / 2 - centre) <= size / 2).astype(float)
        out[:, k] = np.convolve(box, kernel, mode="same") * DX_MM * size * 1e-3
    return out


def finish_session(
    rng: np.random.Generator,
    p: Person,
    t_phys: np.ndarray,
    depth: np.ndarray,
    force: np.ndarray,
    scp_n: np.ndarray,
    reps: list[Rep],
    set_of: np.ndarray,
) -> Session:
    """Sensors, encoder and truth at the output rate."""
    dt = 1.0 / p.rate_hz
    t = np.arange(0.0, t_phys[-1], dt)
    n_t = len(t)
    f = np.stack([np.interp(t, t_phys, force[:, k]) for k in range(p.cells)], axis=1)
    clearance = np.interp(t, t_phys, scp_n)
    sets = np.interp(t, t_phys, set_of).round().astype(int)

    # truth per rep
    for rep in reps:
        inside = (t >= rep.t_start_s) & (t <= rep.t_end_s)
        c = clearance[inside]
        rep.clearance_max_mm = float(c.max())
        if c.max() > LIFT_MM:
            rep.kind = "lift_off"
            rep.onset_s = float(t[inside][np.argmax(c > LIFT_MM)])
        elif c.max() < CLEAN_MM:
            rep.kind = "clean"
        else:
            rep.kind = "near_miss"

    # the cells: creep, hysteresis, conductance, gains, crosstalk, front end, ADC, tare
    f_ref = 15.0 * (p.cell_size_mm * 1e-3) ** 2 * 1e3  # N at 15 kPa over the cell
    creep = _lowpass(f, math.exp(-dt / p.creep_tau_s))
    fe = f + p.creep * creep
    env = _decaying_max(fe, math.exp(-dt / 2.0))
    fe = fe * (1 + p.hyst * (1 - fe / np.maximum(env, 1e-9)))
    brk = np.clip(fe / (2 * p.break_n), 0, 1) ** 2
    g = (np.clip(fe, 0, None) / f_ref) ** p.alpha * brk
    rep_gain = np.ones((n_t, p.cells))
    for rep in reps:
        rep_gain[t >= rep.t_start_s] *= 1 + rng.normal(0, p.rep_gain_sd / 3, p.cells)
    rep_gain = np.clip(rep_gain, 0.7, 1.4)
    g = g * p.gain * (1 + p.drift * t[:, None] / t[-1]) * rep_gain
    if p.flaky is not None:
        for _ in range(int(rng.integers(2, 6))):
            t0, width = _u(rng, 0, t[-1]), _u(rng, 0.2, 1.0)
            g[(t >= t0) & (t < t0 + width), p.flaky] = 0.0
    if p.dead is not None:
        g[:, p.dead] = 0.0
    leak = np.zeros_like(g)
    leak[:, 1:] += p.crosstalk[1:] * g[:, :-1]
    leak[:, :-1] += p.crosstalk[:-1] * g[:, 1:]
    g = g + leak
    v = g / (g + 1.0) if p.divider else np.clip(0.45 * g, 0, 1)
    if p.stuck is not None:
        v[:, p.stuck] = _u(rng, 0.2, 0.6)
    fs = 2**p.bits - 1
    offset = p.offset_fs + p.offset_drift_fs * t[:, None] / t[-1]
    counts = np.round(np.clip((v + offset + rng.normal(0, p.noise_fs, v.shape)) * fs, 0, fs))
    tared = counts - np.round((p.offset_fs + p.tare_err_fs) * fs)
    scale = {"counts": 1.0, "centi": 0.01, "percent": 100.0 / fs, "kpa": 0.05}[p.unit]
    cells = tared * scale

    # the sled encoder: zero drift per set, backlash, counts
    zero = np.concatenate([[0.0], rng.uniform(-p.zero_drift_mm, p.zero_drift_mm, 3)])[sets]
    d = np.interp(t, t_phys, depth)
    vel = np.gradient(d)
    lag = np.where(vel >= 0, -p.backlash_mm / 2, p.backlash_mm / 2)
    lag = _lowpass(lag, math.exp(-dt / 0.05))
    measured = np.round((d + zero + lag) / p.enc_mm) * p.enc_mm

    med = float(np.median([r.depth_mm for r in reps]))
    rom_limit = round(med + _u(rng, -30, 50))
    origin = round(_u(rng, 0, 5000), 2)
    return Session(
        t_s=t + origin,
        depth_mm=measured,
        cells=cells,
        reps=[
            Rep(
                r.t_start_s + origin,
                r.t_bottom_s + origin,
                r.t_end_s + origin,
                r.depth_mm,
                r.kind,
                None if r.onset_s is None else r.onset_s + origin,
                r.clearance_max_mm,
            )
            for r in reps
        ],
        pitch_mm=p.pitch_mm,
        rom_limit_mm=rom_limit,
        person=p,
    )


def write_csv(s: Session, path: Path) -> None:
    """The session in the import format (docs/csv-import.md)."""
    k = s.cells.shape[1]
    integer = s.person.unit == "counts"
    header = "t_s,depth_mm," + ",".join(f"cell{i}" for i in range(k))
    cols = np.column_stack([s.t_s, s.depth_mm, s.cells])
    fmt = ["%.4f", "%.2f"] + (["%d"] * k if integer else ["%.5g"] * k)
    with path.open("w", encoding="utf-8") as fh:
        fh.write("# bench_world3: a third physical model (tests/bench/bench_world3.py)\n")
        np.savetxt(fh, cols, fmt=fmt, delimiter=",", header=header, comments="")


def truth_json(s: Session) -> dict[str, Any]:
    p = s.person
    return {
        "pitch_mm": s.pitch_mm,
        "cells": p.cells,
        "rom_limit_mm": s.rom_limit_mm,
        "style": p.style,
        "static_lift_off_depth_mm": p.depth_lo_mm,
        "rate_hz": p.rate_hz,
        "unit": p.unit,
        "faults": {"dead": p.dead, "stuck": p.stuck, "flaky": p.flaky, "stands_up": p.stands_up},
        "reps": [r.__dict__ for r in s.reps],
    }


# ----------------------------------------------------------------------------------------------
# Analysis as a user would run it, and scoring


def analyze(path: Path, pitch_mm: float, rom_limit_mm: float) -> tuple[int, list[dict[str, Any]]]:
    """``legpress analyze`` in-process; its exit code and JSON lines."""
    out, err = io.StringIO(), io.StringIO()
    argv = ["analyze", str(path), "--cell-pitch-mm", f"{pitch_mm:g}"]
    argv += ["--rom-limit-mm", f"{rom_limit_mm:g}"]
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = legpress_main(argv)
    lines = [json.loads(ln) for ln in out.getvalue().splitlines() if ln.strip().startswith("{")]
    return code, lines


@dataclass
class Tally:
    """Scores of one population."""

    sessions: int = 0
    failed: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    hits: int = 0
    false_alarms: int = 0
    latencies_s: list[float] = field(default_factory=list)
    warned_early: int = 0
    warned_clean: int = 0
    warn_lead_onset_s: list[float] = field(default_factory=list)
    pad_unjudged: int = 0
    unjudged_reasons: Counter[str] = field(default_factory=Counter)
    rom_must: int = 0
    rom_missed: int = 0
    rom_must_not: int = 0
    rom_false: int = 0
    # Per clean rep: how far its sacral point stayed into the foam (mm), alerted, warned.
    clean_reps: list[tuple[float, bool, bool]] = field(default_factory=list)

    def by_margin(self) -> dict[str, dict[str, Any]]:
        """Clean reps per band of how far the sacral point stayed into the foam, and the
        share of each band alerted and warned."""
        out: dict[str, dict[str, Any]] = {}
        for lo, hi in CLEAN_BANDS_MM:
            band = [(a, w) for m, a, w in self.clean_reps if lo <= m < hi]
            n = len(band)
            out[f"{lo:g}+" if hi == math.inf else f"{lo:g}-{hi:g}"] = {
                "reps": n,
                "alerted": round(sum(a for a, _ in band) / n, 3) if n else None,
                "warned": round(sum(w for _, w in band) / n, 3) if n else None,
            }
        return out

    def summary(self) -> dict[str, Any]:
        lo, clean = self.kinds["lift_off"], self.kinds["clean"]

        def ratio(a: int, b: int) -> float | None:
            return round(a / b, 3) if b else None

        def pct(xs: list[float], q: float) -> float | None:
            return round(float(np.percentile(xs, q)) * 1000) if xs else None

        return {
            "sessions": self.sessions,
            "analyze_failed": self.failed,
            "reps": dict(sorted(self.kinds.items())),
            "sensitivity": ratio(self.hits, lo),
            "specificity": ratio(clean - self.false_alarms, clean),
            "latency_median_ms": pct(self.latencies_s, 50),
            "latency_p95_ms": pct(self.latencies_s, 95),
            "tilt_warning_lead_150ms_share": ratio(self.warned_early, lo),
            "tilt_warning_lead_vs_onset_median_ms": pct(self.warn_lead_onset_s, 50),
            "false_warning_rate": ratio(self.warned_clean, clean),
            "pad_unjudged_lines": self.pad_unjudged,
            "pad_unjudged_reasons": dict(sorted(self.unjudged_reasons.items())),
            "rom_misses": self.rom_missed,
            "rom_must_alert": self.rom_must,
            "rom_false_alarms": self.rom_false,
            "rom_must_not_alert": self.rom_must_not,
            "clean_by_margin": self.by_margin(),
        }


def score(s: Session, events: list[dict[str, Any]], tally: Tally) -> str:
    """Adds one session's reps to ``tally``: each event belongs to the rep whose span holds it.
    Returns the session's reps in one line, one mark each: ``L`` a lift-off, ``.`` clean,
    ``n`` a near miss, then ``!`` if alerted and ``w`` if warned (``L!w L L .`` ...)."""
    marks: list[str] = []
    by_type: dict[str, list[float]] = {}
    for ev in events:
        kind = str(ev.get("type"))
        if kind == "pad_unjudged":
            tally.pad_unjudged += 1
            evidence = ev.get("evidence")
            reason = evidence.get("reason") if isinstance(evidence, dict) else None
            tally.unjudged_reasons[str(reason or ev.get("reason", "?"))] += 1
        if "t_s" in ev and isinstance(ev["t_s"], int | float):
            by_type.setdefault(kind, []).append(float(ev["t_s"]))
    for i, rep in enumerate(s.reps):
        nxt = s.reps[i + 1].t_start_s if i + 1 < len(s.reps) else math.inf
        lo, hi = rep.t_start_s, min(rep.t_end_s + 0.3, nxt)

        def first(kind: str, lo: float = lo, hi: float = hi) -> float | None:
            ts = [x for x in by_type.get(kind, []) if lo <= x < hi]
            return min(ts) if ts else None

        tally.kinds[rep.kind] += 1
        alert, warn = first("lift_off"), first("tilt_warning")
        mark = {"lift_off": "L", "clean": ".", "near_miss": "n"}.get(rep.kind, "?")
        marks.append(mark + ("!" if alert is not None else "") + ("w" if warn is not None else ""))
        if rep.kind == "lift_off":
            assert rep.onset_s is not None
            if alert is not None:
                tally.hits += 1
                tally.latencies_s.append(alert - rep.onset_s)
                if warn is not None and alert - warn >= WARN_LEAD_S:
                    tally.warned_early += 1
            if warn is not None:
                tally.warn_lead_onset_s.append(rep.onset_s - warn)
        elif rep.kind == "clean":
            tally.false_alarms += alert is not None
            tally.warned_clean += warn is not None
            tally.clean_reps.append((-rep.clearance_max_mm, alert is not None, warn is not None))
        rom = first("rom_exceeded")
        if rep.depth_mm > s.rom_limit_mm + ROM_MUST_MM:
            tally.rom_must += 1
            tally.rom_missed += rom is None
        elif rep.depth_mm < s.rom_limit_mm - ROM_MUST_NOT_MM:
            tally.rom_must_not += 1
            tally.rom_false += rom is not None
    return " ".join(marks)


def run_population(
    name: str, sessions: int, keep: Path | None, per_session: bool = False
) -> dict[str, Any]:
    tally = Tally()
    with tempfile.TemporaryDirectory() as tmp:
        folder = keep if keep is not None else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(sessions):
            seed = SEEDS[name] + i
            s = generate_session(seed, hard=name == "hard")
            path = folder / f"{name}-{seed}.csv"
            write_csv(s, path)
            if keep is not None:
                truth = json.dumps(truth_json(s), indent=1)
                (folder / f"{name}-{seed}.truth.json").write_text(truth + "\n")
            code, events = analyze(path, s.pitch_mm, s.rom_limit_mm)
            tally.sessions += 1
            if code != 0:
                tally.failed += 1
                if per_session:
                    print(f"{name}-{seed}: analyze failed (exit {code})")
                continue
            marks = score(s, events, tally)
            if per_session:
                print(
                    f"{name}-{seed} {s.person.style:6s} {s.cells.shape[1]:2d} cells @ "
                    f"{s.pitch_mm:g} mm  {marks}"
                )
    return tally.summary()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=24, help="sessions per population")
    parser.add_argument("--keep", type=Path, help="keep the CSV files and their truth here")
    parser.add_argument(
        "--per-session",
        action="store_true",
        help="also print each session's reps, one mark each (L lift-off, . clean, n near miss; "
        "! alerted, w warned)",
    )
    args = parser.parse_args(argv)
    start = time.perf_counter()
    figures: dict[str, Any] = {}
    for name in SEEDS:
        t0 = time.perf_counter()
        fig = run_population(name, args.sessions, args.keep, args.per_session)
        fig["elapsed_s"] = round(time.perf_counter() - t0, 1)
        figures[name] = fig
        print(
            f"{name:8s} reps {fig['reps']}  sensitivity {fig['sensitivity']}  "
            f"specificity {fig['specificity']}  latency median/p95 "
            f"{fig['latency_median_ms']}/{fig['latency_p95_ms']} ms  "
            f"warning >=150 ms {fig['tilt_warning_lead_150ms_share']}  "
            f"false warnings {fig['false_warning_rate']}  "
            f"pad_unjudged {fig['pad_unjudged_lines']}  "
            f"ROM misses {fig['rom_misses']}/{fig['rom_must_alert']} false "
            f"{fig['rom_false_alarms']}/{fig['rom_must_not_alert']}"
        )
        bands = "; ".join(
            f"{band} mm: {b['reps']}, alerted {b['alerted']}, warned {b['warned']}"
            for band, b in fig["clean_by_margin"].items()
        )
        print(f"{name:8s} clean reps by how far the sacrum stayed into the foam: {bands}")
    figures["elapsed_s"] = round(time.perf_counter() - start, 1)
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
