"""The athlete: sets, reps, tempo and the sled trajectory (§1.3, §7.1).

A session is lead-in (seated, sled racked), then sets: unrack, settle at the set's top, reps,
rack, rest. Each rep is lowering, bottom pause, pushing, top pause. Every movement is a
minimum-jerk (quintic) segment, so velocity is bell-shaped with a peak 1.875 x the mean
(§7.1: 1.8-1.9 x). A bouncing rep arrives at the bottom with a strong upward acceleration
instead of stopping (a quintic with non-zero end acceleration), reversing at once.

Per rep (from the seeded generator, in a fixed order so a longer session extends a shorter
one): depth = target + N(0, depth_sd) + fatigue drift + overshoot episodes; durations with
``tempo_sd_frac`` spread; fatigue slows the push (``fatigue_velocity_loss`` by the end of a
set) and deepens the reps (``fatigue_depth_drift_mm``), a little more in each later set.
Between sets the sled top drifts by ``top_drift_sd_mm`` (§7.5) and the person slides along the
pad by ``seat_shift_sd_mm``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from legpress.sim.geometry import LegGeometry
from legpress.sim.numerics import G_M_S2, FloatArray, quintic, smoothstep
from legpress.sim.params import MachineParams, PersonParams, SessionParams

RACK_S: Final = 0.6  # taking the load off the catches, or putting it back
SETTLE_S: Final = 0.8  # moving the sled to this set's top after unracking
SHIFT_S: Final = 2.0  # sliding on the seat
EFFORT_LOWER: Final = 0.4
EFFORT_PUSH: Final = 1.0
EFFORT_HOLD: Final = 0.15


@dataclass(frozen=True, slots=True)
class RepPlan:
    """One planned rep (times in seconds from session start).

    Attributes:
        index: rep number in the session, from 0.
        set_index: set number, from 0.
        rep_in_set: rep number in its set, from 0.
        t_start_s: the sled leaves the top.
        t_bottom_s: it arrives at the bottom.
        t_push_s: pushing starts (after the bottom pause).
        t_end_s: back at the top.
        top_mm: sled position at the start.
        end_top_mm: sled position at the end.
        depth_mm: planned bottom.
        bounce: a bouncing rep.
        overshoot: an overshoot episode.
    """

    index: int
    set_index: int
    rep_in_set: int
    t_start_s: float
    t_bottom_s: float
    t_push_s: float
    t_end_s: float
    top_mm: float
    end_top_mm: float
    depth_mm: float
    bounce: bool
    overshoot: bool


@dataclass(frozen=True, slots=True)
class SetPlan:
    """One planned set.

    Attributes:
        index: set number, from 0.
        t_unrack_s: the person starts taking the load.
        t_rack_s: the person starts putting it back.
        top_mm: the set's top position of the sled.
        seat_shift_mm: where the person sits along the pad during the set.
        zero_slip_mm: encoder zero error during the set (wire slip, cumulative).
    """

    index: int
    t_unrack_s: float
    t_rack_s: float
    top_mm: float
    seat_shift_mm: float
    zero_slip_mm: float


@dataclass(slots=True)
class _Motion:
    t0: float
    dur: float
    coef: FloatArray
    end_mm: float
    rep: int  # -1: settling at a set's top


@dataclass(slots=True)
class Plan:
    """A planned session and its continuous trajectory.

    Attributes:
        sets: the sets.
        reps: the reps that finish within the session.
        end_s: session length.
        first_shift_mm: seat shift at the start.
    """

    sets: list[SetPlan]
    reps: list[RepPlan]
    end_s: float
    first_shift_mm: float
    _seg_t0: FloatArray = field(repr=False)
    _seg_dur: FloatArray = field(repr=False)
    _seg_coef: FloatArray = field(repr=False)
    _shift_t: FloatArray = field(repr=False)
    _shift_v: FloatArray = field(repr=False)
    _effort_t: FloatArray = field(repr=False)
    _effort_v: FloatArray = field(repr=False)

    def sled(self, t_s: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """True sled position (mm), velocity (mm/s) and acceleration (mm/s^2) at times."""
        t = np.asarray(t_s, dtype=np.float64)
        i = np.clip(np.searchsorted(self._seg_t0, t, side="right") - 1, 0, len(self._seg_t0) - 1)
        dur = self._seg_dur[i]
        u = np.clip((t - self._seg_t0[i]) / dur, 0.0, 1.0)
        c = self._seg_coef[i]
        pos = c[:, 0] + u * (c[:, 1] + u * (c[:, 2] + u * (c[:, 3] + u * (c[:, 4] + u * c[:, 5]))))
        dp = c[:, 1] + u * (2 * c[:, 2] + u * (3 * c[:, 3] + u * (4 * c[:, 4] + u * 5 * c[:, 5])))
        ddp = 2 * c[:, 2] + u * (6 * c[:, 3] + u * (12 * c[:, 4] + u * 20 * c[:, 5]))
        inside = (t >= self._seg_t0[i]) & (t <= self._seg_t0[i] + dur)
        vel = np.where(inside, dp / dur, 0.0)
        acc = np.where(inside, ddp / (dur * dur), 0.0)
        return pos, vel, acc

    def engaged(self, t_s: FloatArray) -> FloatArray:
        """1 while the person holds the sled, 0 while it rests on the catches."""
        t = np.asarray(t_s, dtype=np.float64)
        e = np.zeros_like(t)
        for s in self.sets:
            e += smoothstep((t - s.t_unrack_s) / RACK_S) - smoothstep((t - s.t_rack_s) / RACK_S)
        out: FloatArray = np.clip(e, 0.0, 1.0)
        return out

    def seat_shift(self, t_s: FloatArray) -> FloatArray:
        """Where the person sits along the pad (mm, + = up the pad)."""
        t = np.asarray(t_s, dtype=np.float64)
        out = np.full_like(t, self.first_shift_mm)
        prev = self.first_shift_mm
        for tk, vk in zip(self._shift_t, self._shift_v, strict=True):
            out += (vk - prev) * smoothstep((t - tk) / SHIFT_S)
            prev = float(vk)
        return out

    def zero_slip(self, t_s: FloatArray) -> FloatArray:
        """Encoder zero error (mm) at times: changes while the sled is racked between sets."""
        t = np.asarray(t_s, dtype=np.float64)
        out = np.zeros_like(t)
        prev = 0.0
        for s in self.sets:
            out += (s.zero_slip_mm - prev) * (t >= s.t_unrack_s)
            prev = s.zero_slip_mm
        return out

    def effort(self, t_s: FloatArray) -> FloatArray:
        """Effort level 0..1 (pulling on the handles): pushing 1, lowering 0.4, holding 0.15."""
        t = np.asarray(t_s, dtype=np.float64)
        i = np.searchsorted(self._effort_t, t, side="right") - 1
        out: FloatArray = np.where(i >= 0, self._effort_v[np.clip(i, 0, None)], 0.0)
        return out * self.engaged(t)


def plan_session(
    machine: MachineParams,
    person: PersonParams,
    session: SessionParams,
    geometry: LegGeometry,
    rng: np.random.Generator,
    zero_slip_sd_mm: float = 0.0,
) -> Plan:
    """Draw a session: sets, reps, tempo, depths, seat shifts, encoder zero slips."""
    p = person
    duration = session.duration_s
    max_depth = geometry.max_travel_mm() - 5.0
    motions: list[_Motion] = []
    sets: list[SetPlan] = []
    reps: list[RepPlan] = []
    effort_t: list[float] = [0.0]
    effort_v: list[float] = [EFFORT_HOLD]
    shift_t: list[float] = []
    shift_v: list[float] = []
    shift = float(rng.uniform(0.0, 10.0))
    first_shift = shift
    top_prev = 0.0
    slip = 0.0
    t = session.lead_in_s
    set_i = 0
    rep_i = 0
    while set_i < session.n_sets or (duration is not None and t < duration):
        if set_i > 0:
            top = float(np.clip(top_prev + rng.normal(0.0, p.top_drift_sd_mm), -5.0, 5.0))
            slip += float(rng.normal(0.0, 1.0)) * zero_slip_sd_mm
        else:
            top = 0.0
        t_unrack = t
        t += RACK_S
        if abs(top - top_prev) > 1e-9:
            coef = quintic(top_prev, 0, 0, top, 0, 0, SETTLE_S)
            motions.append(_Motion(t, SETTLE_S, coef, top, -1))
        t += SETTLE_S + float(rng.uniform(0.8, 1.8))
        here = top
        fatigue_carry = 0.25 * set_i
        for r in range(session.reps_per_set):
            prog = min(1.5, (r / max(session.reps_per_set - 1, 1)) + fatigue_carry)
            bounce = bool(rng.random() < p.bounce_prob)
            overshoot = bool(rng.random() < p.overshoot_prob)
            z_depth = float(rng.normal())
            z_lower = float(rng.normal())
            z_push = float(rng.normal())
            u_pause = float(rng.uniform(0.5, 1.5))
            u_top = float(rng.uniform(0.6, 1.4))
            u_extra = float(rng.uniform())
            u_bounce = float(rng.uniform())
            depth = p.target_depth_mm + p.depth_sd_mm * z_depth + p.fatigue_depth_drift_mm * prog
            t_lower = p.lowering_s * (1.0 + p.tempo_sd_frac * z_lower)
            t_push = p.pushing_s * (1.0 + p.tempo_sd_frac * z_push)
            t_push /= max(1.0 - p.fatigue_velocity_loss * prog, 0.3)
            t_pause = p.bottom_pause_s * u_pause
            if overshoot:
                depth += p.overshoot_min_mm + (p.overshoot_max_mm - p.overshoot_min_mm) * u_extra
                t_lower *= 0.85
            accel = 0.0
            if bounce:
                depth += 10.0 + 20.0 * u_bounce
                t_lower = 0.5 + 0.4 * u_bounce
                t_push = 0.55 + 0.3 * u_bounce
                t_pause = 0.0
                accel = 4000.0 + 5000.0 * u_bounce
            t_lower = float(np.clip(t_lower, 0.45, 6.0))
            t_push = float(np.clip(t_push, 0.45, 5.0))
            depth = float(np.clip(depth, here + 60.0, max_depth))
            end_top = top + float(rng.normal(0.0, 1.0))
            seg_down, seg_up = _rep_segments(here, depth, end_top, t_lower, t_push, accel)
            t_start = t
            t_bottom = t_start + t_lower
            t_pushing = t_bottom + t_pause
            t_end = t_pushing + t_push
            motions.append(_Motion(t_start, t_lower, seg_down, depth, rep_i))
            motions.append(_Motion(t_pushing, t_push, seg_up, end_top, rep_i))
            effort_t += [t_start, t_bottom, t_end]
            effort_v += [EFFORT_LOWER, EFFORT_PUSH, EFFORT_HOLD]
            reps.append(
                RepPlan(
                    rep_i,
                    set_i,
                    r,
                    t_start,
                    t_bottom,
                    t_pushing,
                    t_end,
                    here,
                    end_top,
                    depth,
                    bounce,
                    overshoot,
                )
            )
            rep_i += 1
            here = end_top
            t = t_end + max(0.3, p.top_pause_s * u_top)
        t = max(t, reps[-1].t_end_s + 0.8) if reps else t
        t_rack = t
        sets.append(SetPlan(set_i, t_unrack, t_rack, top, shift, slip))
        top_prev = here
        t = t_rack + RACK_S
        set_i += 1
        if set_i < session.n_sets or (duration is not None and t < duration):
            new_shift = float(
                np.clip(shift + rng.normal(0.0, p.seat_shift_sd_mm), 0.0, p.seat_shift_max_mm)
            )
            shift_t.append(t + 0.5 * session.rest_s - 0.5 * SHIFT_S)
            shift_v.append(new_shift)
            shift = new_shift
            t += session.rest_s
    end_s = duration if duration is not None else t + 1.0
    kept = [r for r in reps if r.t_end_s <= end_s]
    kept_idx = {r.index for r in kept}
    motions = [m for m in motions if m.rep in kept_idx or (m.rep < 0 and m.t0 < end_s)]
    return _assemble(sets, kept, end_s, first_shift, motions, shift_t, shift_v, effort_t, effort_v)


def _rep_segments(
    top: float, depth: float, end_top: float, t_lower: float, t_push: float, accel: float
) -> tuple[FloatArray, FloatArray]:
    """Quintics down and up; a bouncing rep keeps an upward acceleration at the bottom, as
    large as keeps each half monotonic."""
    a = accel
    for _ in range(12):
        down = quintic(top, 0.0, 0.0, depth, 0.0, -a, t_lower)
        up = quintic(depth, 0.0, -a, end_top, 0.0, 0.0, t_push)
        if _monotonic(down, increasing=True) and _monotonic(up, increasing=False):
            return down, up
        a *= 0.7
    return quintic(top, 0, 0, depth, 0, 0, t_lower), quintic(depth, 0, 0, end_top, 0, 0, t_push)


def _monotonic(coef: FloatArray, increasing: bool) -> bool:
    u = np.linspace(0.0, 1.0, 129)
    d = np.polyval(np.polyder(coef[::-1]), u)
    return bool(np.all(d >= -1e-9)) if increasing else bool(np.all(d <= 1e-9))


def _assemble(
    sets: list[SetPlan],
    reps: list[RepPlan],
    end_s: float,
    first_shift: float,
    motions: list[_Motion],
    shift_t: list[float],
    shift_v: list[float],
    effort_t: list[float],
    effort_v: list[float],
) -> Plan:
    motions.sort(key=lambda m: m.t0)
    t0: list[float] = []
    dur: list[float] = []
    coef: list[FloatArray] = []
    pos = 0.0
    t = 0.0
    for m in motions:
        if m.t0 > t + 1e-12:
            t0.append(t)
            dur.append(m.t0 - t)
            coef.append(np.array([pos, 0, 0, 0, 0, 0], dtype=np.float64))
        t0.append(m.t0)
        dur.append(m.dur)
        coef.append(m.coef)
        t = m.t0 + m.dur
        pos = m.end_mm
    t0.append(t)
    dur.append(max(end_s - t, 0.0) + 3600.0)
    coef.append(np.array([pos, 0, 0, 0, 0, 0], dtype=np.float64))
    et = np.asarray(effort_t)
    ev = np.asarray(effort_v)
    order = np.argsort(et, kind="stable")
    return Plan(
        sets=sets,
        reps=reps,
        end_s=end_s,
        first_shift_mm=first_shift,
        _seg_t0=np.asarray(t0),
        _seg_dur=np.asarray(dur),
        _seg_coef=np.vstack(coef),
        _shift_t=np.asarray(shift_t),
        _shift_v=np.asarray(shift_v),
        _effort_t=et[order],
        _effort_v=ev[order],
    )


def rail_force_n(
    machine: MachineParams, vel_mm_s: FloatArray, acc_mm_s2: FloatArray, engaged: FloatArray
) -> FloatArray:
    """Force the legs put on the sled along the rail (N).

    Sled equation along the rail (depth positive): ``M a = W - F_user - F_friction sign(v)``,
    with ``W`` the load's weight along the rail (all of it on a cable stack) and ``M`` the
    moving mass. While racked (``engaged`` 0) the catches hold the sled.
    """
    g = G_M_S2
    gamma = math.radians(machine.rail_angle_deg)
    m_total = machine.sled_mass_kg + machine.load_kg
    load_factor = 1.0 if machine.load_on_stack else math.sin(gamma)
    weight = g * (machine.sled_mass_kg * math.sin(gamma) + machine.load_kg * load_factor)
    friction = machine.friction_coeff * g * m_total * max(math.cos(gamma), 0.5)
    f = weight - m_total * acc_mm_s2 * 1e-3 - friction * np.tanh(vel_mm_s / 20.0)
    out: FloatArray = np.maximum(f, 0.0) * engaged
    return out


def person_weight_on_pad_n(machine: MachineParams, person: PersonParams) -> float:
    """Normal load of the leaning upper body on the back pad (N)."""
    beta = math.radians(machine.backrest_angle_deg)
    return person.body_mass_kg * person.upper_body_fraction * G_M_S2 * math.cos(beta)
