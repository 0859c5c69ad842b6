"""Sensors: force-sensitive cells through a divider into the ESP32 ADC, and the sled encoder.

Pad cell chain (§3.1, §3.4, §7.4), per cell and sample:

1. conductance ``G = G_ref (F / F_ref)**alpha``, switched on smoothly around the break force
   (open below about half of it, >10 MOhm leakage);
2. times the cell's gain (part-to-part mismatch), a per-rep repeatability gain (interpolated
   between rep starts), hysteresis (the unloading branch reads up to ``hysteresis`` higher,
   rate-independent, with one level of memory for minor loops), creep (``creep_per_decade``
   per decade of time under load, as four first-order terms with time constants 1, 10, 100 and
   1000 s) and thermal drift (the pad warming, ``thermal_drift`` with ``thermal_tau_s``);
3. divider: ``V = Vs R_M / (R_M + R_FSR)``;
4. ESP32 ADC at 11 dB: reads 0 below ``adc_dead_zone_v`` (about 150 mV), linear up to
   ``adc_linear_top_v`` (2.45 V), compressed above it (quadratic, reaching 4095 at the supply);
   chip gain error, white noise and 50 Hz pickup (aliased by the sample rate) are added in volts
   before the dead zone and quantisation to 12 bits;
5. faults override the counts.

Encoder (§4.1, §7.5): a play operator for backlash, cable stretch proportional to travel,
bearing vibration proportional to speed, the zero slipping between sets, 4x quadrature counts.
"""

from __future__ import annotations

import math
from array import array
from typing import Final

import numpy as np
import numpy.typing as npt

from legpress.sim.numerics import FloatArray, lowpass, smoothstep
from legpress.sim.params import EncoderParams, SensorParams

ADC_MAX: Final = 4095
SUPPLY_SAT_V: Final = 3.3  # the 11 dB input that reads 4095 [I]
OPEN_OHM: Final = 10e6  # non-actuated FSR resistance (> 10 MOhm, §3.1)
CREEP_TAUS_S: Final = (1.0, 10.0, 100.0, 1000.0)
SEATED_BEFORE_S: Final = 30.0  # the person sat down this long before the session started [I]
HYST_SPAN: Final = 0.2  # the unloading branch is reached after unloading 20 % [I]


def adc_code(counts: npt.NDArray[np.int64]) -> list[array[int]]:
    """``read_u16()`` values per cell (columns) as MicroPython's ESP32 port scales them:
    ``raw << 4 | raw >> 8``; compact arrays that index to plain ints."""
    c = counts.astype(np.int64)
    codes = ((c << 4) | (c >> 8)).astype(np.uint16)
    return [array("H", np.ascontiguousarray(codes[:, k]).tobytes()) for k in range(c.shape[1])]


class PadSensors:
    """The cells of one strip, with their drawn part-to-part constants.

    Args:
        params: sensor parameters.
        n_cells: number of cells.
        rng: generator for the per-cell constants and, in :meth:`counts`, the noise.
    """

    def __init__(self, params: SensorParams, n_cells: int, rng: np.random.Generator) -> None:
        self.params = params
        self.n_cells = n_cells
        mult = 3.0 if params.material == "velostat" else 1.0
        k = n_cells
        if params.gain_range is not None:
            self.gain = rng.uniform(params.gain_range[0], params.gain_range[1], k)
        else:
            self.gain = np.clip(rng.normal(1.0, params.gain_sd * mult, k), 0.4, 1.8)
        self.exponent = params.exponent + rng.uniform(-0.1, 0.1, k)
        self.break_n = params.break_force_n * rng.uniform(0.5, 1.5, k)
        self.hysteresis = params.hysteresis * rng.uniform(0.5, 1.5, k)
        self.creep = params.creep_per_decade * rng.uniform(0.6, 1.4, k) * mult
        self.thermal = params.thermal_drift * rng.uniform(0.5, 1.5, k) * mult
        self.rep_gain_sd = params.rep_gain_sd * mult
        self.adc_gain = float(rng.normal(1.0, params.adc_gain_sd)) * rng.normal(1.0, 0.003, k)
        self.dead_zone_v = params.adc_dead_zone_v * float(rng.uniform(0.85, 1.1))
        self.mains_phase = float(rng.uniform(0.0, 2 * math.pi))
        self.mains_hz = params.mains_hz * (1.0 + float(rng.normal(0.0, 2e-4)))
        # Drawn last, so that the other constants do not depend on whether drift is on.
        self.drift = (
            rng.uniform(-params.drift_frac, params.drift_frac, k)
            if params.drift_frac > 0
            else np.zeros(k)
        )

    # -- physics ------------------------------------------------------------------------------

    def conductance_s(self, force_n: FloatArray) -> FloatArray:
        """Static conductance (siemens) of each cell at a force, before gain and memory."""
        p = self.params
        f = np.maximum(force_n, 0.0)
        on = smoothstep((f - 0.5 * self.break_n) / self.break_n)
        g: FloatArray = (f / p.f_ref_n) ** self.exponent / p.r_ref_ohm * on
        return g

    def volts(self, g_s: FloatArray) -> FloatArray:
        """Divider output for a conductance."""
        p = self.params
        r = 1.0 / (g_s + 1.0 / OPEN_OHM)
        out: FloatArray = p.divider_supply_v * p.divider_r_ohm / (p.divider_r_ohm + r)
        return out

    def adc_float(self, v: FloatArray) -> FloatArray:
        """ADC transfer (11 dB), before quantisation: counts as floats, clipped 0..4095."""
        p = self.params
        top = p.adc_linear_top_v
        c = (SUPPLY_SAT_V - p.adc_full_scale_v) / (SUPPLY_SAT_V - top) ** 2
        over = np.maximum(v - top, 0.0)
        u = np.minimum(v, top) + over - c * over * over
        u = np.where(v >= SUPPLY_SAT_V, p.adc_full_scale_v, u)
        x = (u - self.dead_zone_v) / (p.adc_full_scale_v - self.dead_zone_v)
        out: FloatArray = np.clip(x * ADC_MAX, 0.0, ADC_MAX)
        return out

    def counts(
        self,
        force_n: FloatArray,
        t_s: FloatArray,
        rep_start_s: FloatArray,
        rng: np.random.Generator,
    ) -> tuple[FloatArray, npt.NDArray[np.int64]]:
        """ADC readings for true cell forces ``(n, K)`` at read times ``t_s``.

        Returns:
            The reading before quantisation (with noise), and the 12-bit counts the firmware
            reads (with faults applied).
        """
        n, k = force_n.shape
        dt = float(np.median(np.diff(t_s))) if n > 1 else 0.01
        force_n = crosstalk(force_n, self.params.crosstalk_frac)
        g = self.conductance_s(force_n) * self.gain
        if n and self.params.drift_frac > 0:
            span = max(float(t_s[-1] - t_s[0]), 1e-9)
            g = g * (1.0 + self.drift[None, :] * ((t_s - t_s[0]) / span)[:, None])
        g = g * self._rep_gain(t_s, rep_start_s, rng)
        g = g * (1.0 + self.hysteresis * hysteresis_state(force_n))
        g = g * (1.0 + self._creep(force_n, dt))
        warm = 1.0 - np.exp(-(t_s + SEATED_BEFORE_S) / self.params.thermal_tau_s)
        g = g * (1.0 - self.thermal[None, :] * warm[:, None])
        v = self.volts(g) * self.adc_gain[None, :]
        span_v = self.params.adc_full_scale_v - self.dead_zone_v
        v = v + rng.normal(0.0, self.params.noise_fs * span_v, (n, k))
        mains = (
            self.params.mains_fs
            * span_v
            * np.sin(2 * math.pi * self.mains_hz * t_s + self.mains_phase)
        )
        v = v + mains[:, None]
        raw = self.adc_float(v)
        counts = np.rint(raw).astype(np.int64)
        counts = self._faults(counts, t_s, rng)
        return raw, counts

    def tare(self) -> tuple[int, ...]:
        """What a ``TARE`` with nobody on the pad reads (noise-free): usually 0, in the dead
        zone; faulty cells read their fault."""
        f = np.full((1, self.n_cells), self.params.preload_n)
        g = self.conductance_s(f) * self.gain
        raw = self.adc_float(self.volts(g) * self.adc_gain[None, :])
        counts = np.rint(raw).astype(np.int64)
        counts = self._faults(counts, np.array([0.0]), np.random.default_rng(0), tare=True)
        return tuple(int(c) for c in counts[0])

    # -- pieces -------------------------------------------------------------------------------

    def _rep_gain(
        self, t_s: FloatArray, rep_start_s: FloatArray, rng: np.random.Generator
    ) -> FloatArray:
        knots = np.concatenate([[t_s[0] if t_s.size else 0.0], rep_start_s])
        values = rng.normal(1.0, self.rep_gain_sd, (knots.shape[0], self.n_cells))
        values = np.clip(values, 0.7, 1.3)
        out = np.empty((t_s.shape[0], self.n_cells))
        for c in range(self.n_cells):
            out[:, c] = np.interp(t_s, knots, values[:, c])
        return out

    def _creep(self, force_n: FloatArray, dt_s: float) -> FloatArray:
        x = force_n / (force_n + 1.0)
        total = np.zeros_like(x)
        for tau in CREEP_TAUS_S:
            y0 = x[0] * (1.0 - math.exp(-SEATED_BEFORE_S / tau))
            total += lowpass(x, dt_s, tau, y0)
        out: FloatArray = self.creep[None, :] * total
        return out

    def _faults(
        self,
        counts: npt.NDArray[np.int64],
        t_s: FloatArray,
        rng: np.random.Generator,
        tare: bool = False,
    ) -> npt.NDArray[np.int64]:
        out = counts.copy()
        for fault in self.params.faults:
            c = fault.cell
            active = t_s >= fault.t_s
            if fault.kind == "open":
                out[active, c] = 0
            elif fault.kind == "short":
                out[active, c] = ADC_MAX
            elif fault.kind == "stuck":
                out[active, c] = fault.counts
            elif fault.kind == "offset":
                out[active, c] = np.clip(out[active, c] + fault.counts, 0, ADC_MAX)
            elif fault.kind == "intermittent" and not tare:
                out[active & _bursts(t_s, rng), c] = 0
        return out


def crosstalk(force_n: FloatArray, frac: float) -> FloatArray:
    """What each cell reads when it also picks up ``frac`` of each neighbour's force (the pad
    cover spreading load across cells) [A]."""
    if frac <= 0 or force_n.shape[1] < 2:
        return force_n
    out = force_n.copy()
    out[:, 1:] += frac * force_n[:, :-1]
    out[:, :-1] += frac * force_n[:, 1:]
    return out


def _bursts(t_s: FloatArray, rng: np.random.Generator) -> npt.NDArray[np.bool_]:
    """Connector dropouts: about one every 2 s, 20-200 ms each [I]."""
    mask = np.zeros(t_s.shape[0], dtype=bool)
    if t_s.size == 0:
        return mask
    t = float(t_s[0])
    end = float(t_s[-1])
    while True:
        t += float(rng.exponential(2.0))
        if t > end:
            return mask
        length = float(rng.uniform(0.02, 0.2))
        mask |= (t_s >= t) & (t_s < t + length)


def hysteresis_state(force_n: FloatArray) -> FloatArray:
    """How far each cell is onto its unloading branch, 0..1, ``(n, K)``.

    Loading: 0. Unloading from a peak ``M``: rises to 1 once the force fell by ``HYST_SPAN``
    of ``M``. Loading again from a trough: falls back to 0 as the force returns to the last
    peak (one level of memory, so minor loops from breathing stay small). Computed run by run
    (monotone stretches), not sample by sample.
    """
    n, k = force_n.shape
    out = np.zeros((n, k))
    if n < 2:
        return out
    eps = 1e-5
    for c in range(k):
        f = force_n[:, c]
        d = np.diff(f, prepend=f[0])
        state = np.where(d > eps, 1, np.where(d < -eps, -1, 0))
        idx = np.maximum.accumulate(np.where(state != 0, np.arange(n), 0))
        st = state[idx]
        st[st == 0] = 1
        starts = np.flatnonzero(np.diff(st, prepend=st[0] + 2) != 0)
        bounds = np.append(starts, n)
        h_prev = 0.0
        peak = float(f[0])
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True):
            seg = f[a:b]
            start_f = float(f[a - 1]) if a > 0 else float(seg[0])
            if st[a] < 0:
                peak = start_f
                frac = np.clip((peak - seg) / (HYST_SPAN * peak + 1e-3), 0.0, 1.0)
                h = h_prev + (1.0 - h_prev) * frac
            else:
                span = peak - start_f
                frac = np.clip((peak - seg) / span, 0.0, 1.0) if span > 1e-9 else 0.0 * seg
                h = h_prev * frac
            out[a:b, c] = h
            h_prev = float(h[-1])
    return out


class EncoderModel:
    """The sled position sensor.

    Args:
        params: encoder parameters.
        rng: generator for the vibration phase.
    """

    def __init__(self, params: EncoderParams, rng: np.random.Generator) -> None:
        self.params = params
        self.vib_phase = float(rng.uniform(0.0, 2 * math.pi))
        self.vib_hz = params.vibration_hz * float(rng.uniform(0.9, 1.1))

    def measure_mm(
        self, sled_mm: FloatArray, vel_mm_s: FloatArray, t_s: FloatArray, slip_mm: FloatArray
    ) -> FloatArray:
        """What the encoder sees (mm, before counting)."""
        p = self.params
        played = backlash(sled_mm, p.backlash_mm)
        stretched = played * (1.0 + p.cable_stretch_frac)
        amp = p.vibration_mm_s / (2 * math.pi * self.vib_hz)
        level = np.clip(np.abs(vel_mm_s) / 300.0, 0.0, 1.5)
        vib = amp * level * np.sin(2 * math.pi * self.vib_hz * t_s + self.vib_phase)
        out: FloatArray = stretched + vib + slip_mm
        return out

    def counts(self, measured_mm: FloatArray) -> npt.NDArray[np.int64]:
        """Quadrature counts (4x decoding), 0 at the zeroed top."""
        return np.floor(measured_mm * self.params.counts_per_mm + 0.5).astype(np.int64)


def backlash(x: FloatArray, play_mm: float) -> FloatArray:
    """Play operator: the output follows the input only once it moved ``play_mm`` across."""
    half = 0.5 * play_mm
    if half <= 0 or x.size == 0:
        return np.array(x, dtype=np.float64, copy=True)
    out = np.empty(x.shape[0])
    y = float(x[0])
    for i, xi in enumerate(x.tolist()):
        if xi - y > half:
            y = xi - half
        elif y - xi > half:
            y = xi + half
        out[i] = y
    return out
