"""Sagittal-plane geometry: sled travel to knee and hip angle.

Frame: x forward (towards the foot plate), y up, origin at the hip joint of the reference
seating position. The hip is fixed by the seat and the back pad; the ankle rides with the foot
plate along the rail. The legs are a two-bar linkage (thigh, shank), the knee above the
hip-ankle line. Hip flexion is measured between the thigh and the back-pad line (the trunk
lying on the pad): 0 degrees with the thigh in line with the trunk.

For hip-ankle distance ``d`` and knee flexion ``theta`` (0 = straight):
``d**2 = L1**2 + L2**2 + 2 L1 L2 cos(theta)`` (§1.1 of the research report).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from legpress.sim.numerics import FloatArray
from legpress.sim.params import MachineParams, PersonParams


@dataclass(frozen=True, slots=True)
class LegAngles:
    """Joint angles along a sled trajectory.

    Attributes:
        knee_deg: knee flexion (0 = straight).
        hip_deg: hip flexion relative to the back-pad line.
        leg_line_rad: direction of the hip-to-ankle line above horizontal.
        hip_ankle_mm: hip-to-ankle distance.
    """

    knee_deg: FloatArray
    hip_deg: FloatArray
    leg_line_rad: FloatArray
    hip_ankle_mm: FloatArray


class LegGeometry:
    """Maps sled travel (mm from the zeroed top, deeper = larger) to joint angles.

    The sled zero is where the knee is at ``person.top_knee_deg`` with the person in the
    reference seating position (seat shift 0). A seat shift slides the hip along the back pad
    (positive = up the pad), which changes the angles at a given sled travel.
    """

    def __init__(self, machine: MachineParams, person: PersonParams) -> None:
        self.machine = machine
        self.person = person
        g = math.radians(machine.rail_angle_deg)
        b = math.radians(machine.backrest_angle_deg)
        self._beta = b
        self._rail = (math.cos(g), math.sin(g))  # pointing away from the person (up the rail)
        self._plate = (-math.sin(g), math.cos(g))  # up the foot plate
        self._trunk = (-math.cos(b), math.sin(b))  # from the hip up the back pad
        self.l1 = person.thigh_mm
        self.l2 = person.shank_mm
        d_top = self.hip_ankle_for_knee(person.top_knee_deg)
        h = person.foot_height_mm
        if abs(h) >= d_top:
            raise ValueError("foot_height_mm is larger than the leg")
        self.d0_mm = math.sqrt(d_top * d_top - h * h)

    def hip_ankle_for_knee(self, knee_deg: float) -> float:
        """Hip-ankle distance at a knee flexion."""
        c = math.cos(math.radians(knee_deg))
        return math.sqrt(self.l1**2 + self.l2**2 + 2 * self.l1 * self.l2 * c)

    def angles(self, sled_mm: FloatArray, seat_shift_mm: FloatArray | float = 0.0) -> LegAngles:
        """Joint angles at each sled position (and seat shift)."""
        s = np.asarray(sled_mm, dtype=np.float64)
        shift = np.asarray(seat_shift_mm, dtype=np.float64)
        along = self.d0_mm - s
        h = self.person.foot_height_mm
        vx = along * self._rail[0] + h * self._plate[0] - shift * self._trunk[0]
        vy = along * self._rail[1] + h * self._plate[1] - shift * self._trunk[1]
        d = np.hypot(vx, vy)
        psi = np.arctan2(vy, vx)
        l1, l2 = self.l1, self.l2
        cos_knee = np.clip((d * d - l1 * l1 - l2 * l2) / (2 * l1 * l2), -1.0, 1.0)
        knee = np.degrees(np.arccos(cos_knee))
        cos_a = np.clip((l1 * l1 + d * d - l2 * l2) / (2 * l1 * np.maximum(d, 1e-9)), -1.0, 1.0)
        hip = np.degrees(self._beta + psi + np.arccos(cos_a))
        return LegAngles(knee, hip, psi, d)

    def travel_for_knee(self, knee_deg: float, seat_shift_mm: float = 0.0) -> float:
        """Sled travel (mm) at which the knee reaches ``knee_deg`` (bisection)."""
        return self._invert(lambda a: a.knee_deg, knee_deg, seat_shift_mm)

    def max_travel_mm(self, knee_max_deg: float = 140.0) -> float:
        """Deepest reachable travel: the machine's end or a knee flexion of 140 degrees."""
        return min(self.machine.travel_max_mm, self.travel_for_knee(knee_max_deg))

    def _invert(
        self, pick: Callable[[LegAngles], FloatArray], target: float, shift: float
    ) -> float:
        lo, hi = -100.0, self.d0_mm - 50.0
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            a = self.angles(np.array([mid]), shift)
            value = float(pick(a)[0])
            if value < target:
                lo = mid
            else:
                hi = mid
        return 0.5 * (lo + hi)

    def leg_force_to_pad(self, leg_line_rad: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Factors turning the rail force into (leg force, its component into the back pad).

        The legs push along the hip-ankle line; only the rail component of that force moves
        the sled (the bearings take the rest): ``F_leg = F_rail / cos(psi - gamma)``. Its
        component normal to the back pad is ``F_leg * sin(beta + psi)``; the seat takes the
        rest.
        """
        gamma = math.radians(self.machine.rail_angle_deg)
        leg = 1.0 / np.maximum(np.cos(leg_line_rad - gamma), 0.2)
        pad = leg * np.clip(np.sin(self._beta + leg_line_rad), 0.0, 1.0)
        return leg, pad
