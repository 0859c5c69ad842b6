"""What the detectors report: reps and alert events, each able to say why."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

EVENT_TYPES = (
    "lift_off",
    "rom_warning",
    "rom_exceeded",
    "fast_lowering",
    "bounce",
    "knee_lock",
)


def _clean(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4) if math.isfinite(value) else None
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    return value


@dataclass(frozen=True, slots=True)
class Event:
    """An alert, at the instant the live system would have raised it.

    Attributes:
        type: one of :data:`EVENT_TYPES`.
        t_s: when it fired, seconds on the stream's clock (only data up to then was used).
        rep: the rep it belongs to (0-based).
        message: one line saying why it fired, for a person.
        evidence: the numbers behind it (measured values, thresholds, baselines, cells).
    """

    type: str
    t_s: float
    rep: int
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``legpress analyze`` prints one per line)."""
        return {
            "type": self.type,
            "t_s": _clean(self.t_s),
            "rep": self.rep,
            "message": self.message,
            "evidence": _clean(self.evidence),
        }


@dataclass(frozen=True, slots=True)
class Rep:
    """One completed rep and its metrics.

    Attributes:
        index: 0-based rep number in the stream.
        t_start_s: the sled left the top.
        t_bottom_s: deepest point.
        t_end_s: the sled was back near the top.
        depth_mm: deepest sled travel from the zeroed top.
        rom_mm: travel from this rep's top to its bottom.
        lowering_s: duration of the lowering (eccentric) phase.
        pushing_s: duration of the pushing (concentric) phase.
        lowering_mean_mm_s: mean lowering speed.
        lowering_peak_mm_s: peak lowering speed.
        pushing_mean_mm_s: mean pushing speed.
        pushing_peak_mm_s: peak pushing speed.
        tut_s: time under tension (start to end).
        lumbar_contact_min: the lowest load of the lower-back cells during the rep, as a
            fraction of their baseline (1 = unchanged, 0 = off the pad); None if unknown.
        cop_shift_mm: how far the centre of pressure moved up the strip from its baseline.
        lift_off: the lower back left the pad in this rep.
        lift_off_depth_mm: sled depth when lift-off was detected.
        lift_off_s: how long the lower back was off the pad.
        rom_exceeded: the sled passed the ROM limit.
        events: types of the events raised in this rep.
    """

    index: int
    t_start_s: float
    t_bottom_s: float
    t_end_s: float
    depth_mm: float
    rom_mm: float
    lowering_s: float
    pushing_s: float
    lowering_mean_mm_s: float
    lowering_peak_mm_s: float
    pushing_mean_mm_s: float
    pushing_peak_mm_s: float
    tut_s: float
    lumbar_contact_min: float | None
    cop_shift_mm: float | None
    lift_off: bool
    lift_off_depth_mm: float | None
    lift_off_s: float
    rom_exceeded: bool
    events: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with ``"type": "rep"``."""
        d: dict[str, Any] = {"type": "rep"}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            d[name] = _clean(list(value) if isinstance(value, tuple) else value)
        return d
