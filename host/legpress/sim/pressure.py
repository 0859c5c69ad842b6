"""Back-pad contact pressure along the strip (§7.3; a physically motivated [I] model).

The back is a surface resting on a linear foam pad. Along the pad's midline, at heights ``y``
(mm above the seat junction, in body coordinates), the back stands off a flat pad by a gap:

- the lumbar lordosis, a hollow (``lordosis_depth_mm``), flattened as the pelvis tilts;
- the thoracic kyphosis curving away above its apex towards the shoulders;
- minus the pad's lumbar support bump (fixed to the pad, so it moves against the body when the
  person slides on the seat);
- minus the chest expanding against the pad when breathing in;
- plus the lift of a posterior pelvic tilt ``theta``: below a pivot ``y_p`` the back rotates
  away from the pad, ``lift(y) = (y_p - y)+ tan(theta)``; the pivot climbs as the lumbar spine
  flexes and rolls off the pad, ``y_p = pivot_mm + roll_radius_mm * theta``.

The body sinks into the foam by one settling depth ``z`` so that the contact pressure
``p(y) = k (z - gap(y))+`` integrated over the contact (times the back's contact width)
carries exactly the normal load: the trunk's weight on the pad plus the pad-normal part of
the leg force. Solving that force balance is what moves load up the pad when the lower back
lifts: the lowest cells unload, then reach 0 (lift-off); the flattening lordosis first loads
the mid-lumbar cells; the centre of pressure moves up; the contact shortens. Moments are not
balanced (the pelvis' share that the sacrum cannot carry goes through the spine to the trunk
contact) [I].

Arms pulling on the handles add a normal load spread over the upper back's contact.

Foam recovery: where the back retreats from the pad faster than the foam springs back (time
constant ``foam_recovery_s``), a fraction ``foam_viscous_fraction`` of the retreat is not
followed at once; that unrecovered foam lowers the contact pressure until it recovers (and
delays re-contact after a lift-off). Computed from a forgetting peak hold of the indentation,
then the force balance is solved again, so the load is still conserved.

Lift-off (docs/simulator.md): the instant the load over the sacral zone, heights
``0..sacrum_top_mm`` of the back, becomes zero: every point of the zone has left the foam.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np

from legpress.sim.numerics import FloatArray, decayed_running_max, raised_cosine, smoothstep
from legpress.sim.params import MachineParams, PersonParams

NODE_STEP_MM: Final = 10.0
CHUNK: Final = 4096
_UPPER_START_MM: Final = 250.0


@dataclass(frozen=True, slots=True)
class PadState:
    """Pad contact along a trajectory; ``n`` samples, ``K`` cells.

    Attributes:
        cell_force_n: true normal force on each cell's active area, ``(n, K)``.
        pad_force_n: integral of the contact pressure over the whole back (with arms).
        load_n: the modelled normal load it must equal (trunk + legs + arms).
        sacral_load_n: load over the sacral zone (0 during lift-off).
        sacral_margin_mm: deepest indentation in the sacral zone (<= 0 during lift-off).
        contact_mm: length of back in contact.
        cop_mm: centre of pressure of the whole back, mm above the seat junction (pad
            coordinates).
    """

    cell_force_n: FloatArray
    pad_force_n: FloatArray
    load_n: FloatArray
    sacral_load_n: FloatArray
    sacral_margin_mm: FloatArray
    contact_mm: FloatArray
    cop_mm: FloatArray


class BackPadModel:
    """The pad contact of one person on one machine, with a strip of cells.

    Args:
        machine: pad foam and lumbar support.
        person: back shape and pelvis.
        cell_y_mm: cell centres, mm above the seat junction (pad coordinates).
        cell_area_mm2: active area of a cell.
    """

    def __init__(
        self,
        machine: MachineParams,
        person: PersonParams,
        cell_y_mm: FloatArray,
        cell_area_mm2: float,
    ) -> None:
        self.machine = machine
        self.person = person
        self.cell_y_mm = np.asarray(cell_y_mm, dtype=np.float64)
        self.cell_area_mm2 = cell_area_mm2
        top = person.shoulder_mm
        nodes = np.union1d(np.arange(0.0, top, NODE_STEP_MM), [person.sacrum_top_mm, top])
        self.nodes = nodes[(nodes >= 0) & (nodes <= top)]
        y = self.nodes
        dy = np.diff(y)
        wt = np.zeros_like(y)
        wt[:-1] += 0.5 * dy
        wt[1:] += 0.5 * dy
        self.wt = wt
        self.kw = machine.pad_stiffness_kpa_per_mm * person.back_width_mm * 1e-3  # N/mm/mm
        span = max(top - person.thoracic_apex_mm, 1.0)
        above = np.clip((y - person.thoracic_apex_mm) / span, 0.0, None)
        self.kyphosis = person.kyphosis_gap_mm * above * above
        self.lordosis = person.lordosis_depth_mm * raised_cosine(
            y, person.lordosis_center_mm, person.lordosis_width_mm
        )
        self.breath_shape = raised_cosine(y, person.thoracic_apex_mm, 260.0)
        upper_c = 0.5 * (_UPPER_START_MM + top)
        self.arm_shape = raised_cosine(y, upper_c, max(top - _UPPER_START_MM, 50.0) * 1.2)
        self.sacral = y <= person.sacrum_top_mm + 1e-9

    # -- geometry -----------------------------------------------------------------------------

    def gaps(
        self, excess_deg: FloatArray, breath_mm: FloatArray, shift_mm: FloatArray
    ) -> FloatArray:
        """Gap between back and flat pad at every node, ``(n, J)`` mm."""
        p = self.person
        m = self.machine
        y = self.nodes[None, :]
        theta = np.radians(np.maximum(excess_deg, 0.0))[:, None]
        flat = p.lordosis_flatten_frac * smoothstep(
            np.degrees(theta) / max(p.lordosis_flatten_deg, 1e-6)
        )
        support = m.lumbar_support_mm * raised_cosine(
            y + shift_mm[:, None], m.lumbar_support_center_mm, m.lumbar_support_width_mm
        )
        pivot = p.pivot_mm + p.roll_radius_mm * theta
        lift = np.maximum(pivot - y, 0.0) * np.tan(theta)
        gap: FloatArray = (
            self.kyphosis[None, :]
            + self.lordosis[None, :] * (1.0 - flat)
            - support
            - breath_mm[:, None] * self.breath_shape[None, :]
            + lift
        )
        return gap

    # -- force balance ------------------------------------------------------------------------

    def settle(self, gap: FloatArray, load_n: FloatArray) -> FloatArray:
        """Settling depth ``z`` (mm) with ``sum k (z - gap)+ w dy = load`` for each row.

        Newton from above on a convex, piecewise-linear, increasing function: every step
        stays above the root and the iteration ends exactly once the contact set is right.
        """
        kw = self.kw
        wt = self.wt
        z = gap.max(axis=1) + load_n / (kw * wt.sum())
        tol = 1e-9 * max(float(np.max(load_n, initial=1.0)), 1.0)
        for _ in range(100):
            d = z[:, None] - gap
            contact = d > 0
            f = kw * (np.where(contact, d, 0.0) @ wt) - load_n
            if float(np.max(np.abs(f), initial=0.0)) <= tol:
                break
            slope = kw * (contact @ wt)
            z = z - f / np.maximum(slope, 1e-12)
        out: FloatArray = z
        return out

    # -- whole trajectory ---------------------------------------------------------------------

    def run(
        self,
        t_s: FloatArray,
        excess_deg: FloatArray,
        load_n: FloatArray,
        arm_n: FloatArray,
        breath_mm: FloatArray,
        shift_mm: FloatArray,
    ) -> PadState:
        """Contact along a trajectory (all arrays ``(n,)``), processed in chunks."""
        n = t_s.shape[0]
        k = self.cell_y_mm.shape[0]
        out_cells = np.zeros((n, k))
        out = {name: np.zeros(n) for name in ("force", "sacral", "margin", "contact", "cop")}
        carry: FloatArray | None = None
        tau = max(self.machine.foam_recovery_s, 1e-3)
        rho = self.machine.foam_viscous_fraction
        for lo in range(0, n, CHUNK):
            hi = min(n, lo + CHUNK)
            sl = slice(lo, hi)
            gap = self.gaps(excess_deg[sl], breath_mm[sl], shift_mm[sl])
            z1 = self.settle(gap, load_n[sl])
            d1 = np.maximum(z1[:, None] - gap, 0.0)
            hold, carry = decayed_running_max(d1, t_s[sl], tau, carry)
            gap = gap + rho * np.maximum(hold - d1, 0.0)
            z = self.settle(gap, load_n[sl])
            indent = z[:, None] - gap
            p = self.machine.pad_stiffness_kpa_per_mm * np.maximum(indent, 0.0)
            contact = indent > 0
            arm_w = self.arm_shape[None, :] * contact
            arm_norm = (arm_w @ self.wt) * self.person.back_width_mm * 1e-3
            p = p + arm_n[sl, None] * arm_w / np.maximum(arm_norm, 1e-9)[:, None]
            area = self.wt * self.person.back_width_mm * 1e-3  # kPa -> N per node
            force = p @ area
            out["force"][sl] = force
            out["sacral"][sl] = p[:, self.sacral] @ area[self.sacral]
            out["margin"][sl] = indent[:, self.sacral].max(axis=1)
            out["contact"][sl] = contact @ self.wt
            body_cop = (p @ (area * self.nodes)) / np.maximum(force, 1e-9)
            out["cop"][sl] = body_cop + shift_mm[sl]
            out_cells[sl] = self._cells(p, shift_mm[sl])
        return PadState(
            cell_force_n=out_cells,
            pad_force_n=out["force"],
            load_n=load_n + arm_n,
            sacral_load_n=out["sacral"],
            sacral_margin_mm=out["margin"],
            contact_mm=out["contact"],
            cop_mm=out["cop"],
        )

    def _cells(self, p: FloatArray, shift_mm: FloatArray) -> FloatArray:
        """Pressure at the cell centres (linear between nodes) times the cell area, in N."""
        y = self.nodes
        yb = self.cell_y_mm[None, :] - shift_mm[:, None]
        idx = np.clip(np.searchsorted(y, yb), 1, y.shape[0] - 1)
        y0 = y[idx - 1]
        y1 = y[idx]
        w = np.clip((yb - y0) / (y1 - y0), 0.0, 1.0)
        p0 = np.take_along_axis(p, idx - 1, axis=1)
        p1 = np.take_along_axis(p, idx, axis=1)
        pc = (1.0 - w) * p0 + w * p1
        inside = (yb >= y[0]) & (yb <= y[-1])
        out: FloatArray = np.where(inside, pc, 0.0) * self.cell_area_mm2 * 1e-3
        return out

    def static_sweep(
        self, excess_deg: FloatArray, load_n: FloatArray, shift_mm: float
    ) -> tuple[FloatArray, FloatArray]:
        """Quasi-static sacral margin and sacral load (no breathing, arms or foam memory)."""
        n = excess_deg.shape[0]
        shift = np.full(n, shift_mm)
        gap = self.gaps(excess_deg, np.zeros(n), shift)
        z = self.settle(gap, load_n)
        indent = z[:, None] - gap
        p = self.machine.pad_stiffness_kpa_per_mm * np.maximum(indent, 0.0)
        area = self.wt * self.person.back_width_mm * 1e-3
        return indent[:, self.sacral].max(axis=1), p[:, self.sacral] @ area[self.sacral]


def readout_forces(
    cell_force_n: FloatArray,
    cell_y_mm: FloatArray,
    sled_mm: FloatArray,
    excess_deg: FloatArray,
    load_n: FloatArray,
    arm_n: FloatArray,
    shift_mm: FloatArray,
    machine: MachineParams,
    person: PersonParams,
    cell_area: float,
) -> FloatArray:
    """The forces the cells actually feel, beyond the back's contact pressure [A]:

    - every cell scaled by a factor from 1 at the top to ``pad_scale_at_depth`` at the target
      depth (how a pad and harness route the leg force into the back);
    - the seat-corner load: the pelvis pressed into the seat-back corner loads the cells over
      the sacral zone (fading out around its top), whether or not the sacrum touches the back
      pad: ``seat_corner_frac`` of each such cell's neutral load (its median while there is no
      excess tilt), growing with the pad load; plus ``arm_pelvis_frac`` of the arms' pull,
      pressed down over the sacral zone.

    None of it changes the ground truth: lift-off stays defined by the back leaving the foam.
    """
    out = cell_force_n
    m, p = machine, person
    if m.pad_scale_at_depth != 1.0:
        x = np.clip(sled_mm / max(p.target_depth_mm, 1.0), 0.0, 1.5)
        out = out * (1.0 + (m.pad_scale_at_depth - 1.0) * x)[:, None]
    if m.seat_corner_frac <= 0 and p.arm_pelvis_frac <= 0:
        return out
    yb = cell_y_mm[None, :] - shift_mm[:, None]
    top = max(p.sacrum_top_mm, 1.0)
    # Full over the sacral zone, fading out over the 20 % of it around its top.
    w = np.clip((1.1 * top - yb) / (0.2 * top), 0.0, 1.0)
    extra = np.zeros_like(out)
    if m.seat_corner_frac > 0:
        neutral = (excess_deg <= 0) & (load_n > 0) & (cell_force_n.max(axis=1) > 0)
        rows = cell_force_n[neutral] if neutral.any() else cell_force_n
        ref = np.median(rows, axis=0) if rows.size else np.zeros(out.shape[1])
        load_ref = float(np.median(load_n[neutral])) if neutral.any() else 1.0
        extra += m.seat_corner_frac * (load_n / max(load_ref, 1e-9))[:, None] * w * ref[None, :]
    if p.arm_pelvis_frac > 0:
        zone_mm2 = top * p.back_width_mm
        extra += (p.arm_pelvis_frac * arm_n / zone_mm2)[:, None] * cell_area * w
    result: FloatArray = out + extra
    return result


def cell_area_mm2(diameter_mm: float) -> float:
    """Active area of a round cell."""
    return math.pi * 0.25 * diameter_mm * diameter_mm
