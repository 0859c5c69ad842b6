"""What the detectors report: reps and alert events, each able to say why."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any, Final


class Severity(IntEnum):
    """Which alert wins the screen when two overlap (higher wins)."""

    CUE = 1
    """A coaching cue: form, tempo."""
    WARNING = 2
    """Something is about to go wrong (the sled is approaching the limit)."""
    SAFETY = 3
    """What legpress exists to catch happened: the lower back lifted, the sled went too deep."""


@dataclass(frozen=True, slots=True)
class EventSpec:
    """How one :class:`EventType` is shown and counted (see its attributes)."""

    label: str
    phrase: str
    alert: str
    flag: str
    severity: Severity
    form: bool = False
    loud: bool = False


class EventType(StrEnum):
    """Every kind of event the detectors raise, with everything the layers above need to know.

    The value is the wire/storage name (``"lift_off"``); the attributes say how to show it. To
    add a type, add one member here: storage, reports, the CLI and the live view derive their
    tables from these attributes.

    Attributes:
        label: plain-language name, capitalised, for report headings and tables.
        phrase: lower-case phrase for running text (``sessions show``).
        alert: the big word the live view shows.
        flag: the short mark in a rep list; empty if the event does not mark the rep as faulty
            (a heads-up such as ``rom_warning``).
        severity: which alert wins the screen when two overlap.
        form: a form check (counted together as "form alerts").
        loud: rings the bell or plays the alert sound.
    """

    label: str
    phrase: str
    alert: str
    flag: str
    severity: Severity
    form: bool
    loud: bool

    def __new__(cls, value: str, spec: EventSpec | None = None) -> EventType:
        member = str.__new__(cls, value)
        member._value_ = value
        if spec is not None:  # always given in the definitions below; lookups never get here
            member.label, member.phrase, member.alert = spec.label, spec.phrase, spec.alert
            member.flag, member.severity = spec.flag, spec.severity
            member.form, member.loud = spec.form, spec.loud
        return member

    LIFT_OFF = (
        "lift_off",
        EventSpec(
            label="Lower back lifted",
            phrase="lower back lifted",
            alert="BACK LIFT",
            flag="BACK LIFT",
            severity=Severity.SAFETY,
            loud=True,
        ),
    )
    TILT_WARNING = (
        "tilt_warning",
        EventSpec(
            label="Lower back starting to lift",
            phrase="lower back starting to lift",
            alert="STOP HERE",
            flag="",
            severity=Severity.WARNING,
            loud=True,
        ),
    )
    ROM_WARNING = (
        "rom_warning",
        EventSpec(
            label="Approaching the limit",
            phrase="approaching the limit",
            alert="SLOW DOWN",
            flag="",
            severity=Severity.WARNING,
            loud=True,
        ),
    )
    ROM_EXCEEDED = (
        "rom_exceeded",
        EventSpec(
            label="Past the ROM limit",
            phrase="past the limit",
            alert="TOO DEEP",
            flag="TOO DEEP",
            severity=Severity.SAFETY,
            loud=True,
        ),
    )
    FAST_LOWERING = (
        "fast_lowering",
        EventSpec(
            label="Lowered too fast",
            phrase="lowered too fast",
            alert="SLOWER",
            flag="FAST",
            severity=Severity.CUE,
            form=True,
        ),
    )
    BOUNCE = (
        "bounce",
        EventSpec(
            label="Bounced at the bottom",
            phrase="bounced",
            alert="NO BOUNCE",
            flag="BOUNCE",
            severity=Severity.CUE,
            form=True,
        ),
    )
    KNEE_LOCK = (
        "knee_lock",
        EventSpec(
            label="Knees locked",
            phrase="knees locked",
            alert="SOFT KNEES",
            flag="LOCKED",
            severity=Severity.CUE,
            form=True,
        ),
    )

    PAD_UNJUDGED = (
        "pad_unjudged",
        EventSpec(
            label="Pad could not be judged",
            phrase="pad could not be judged",
            alert="CHECK PAD",
            flag="NO PAD",
            severity=Severity.CUE,
        ),
    )
    CELL_FAULT = (
        "cell_fault",
        EventSpec(
            label="Pad cell not working",
            phrase="a pad cell not working",
            alert="CHECK CELL",
            flag="",
            severity=Severity.CUE,
        ),
    )
    REP_NOT_COUNTED = (
        "rep_not_counted",
        EventSpec(
            label="Rep not counted (too long)",
            phrase="a rep not counted because it took too long",
            alert="NOT COUNTED",
            flag="",
            severity=Severity.CUE,
        ),
    )

    @property
    def marks_rep(self) -> bool:
        """The event marks its rep as faulty (a flag in rep lists, a warning in reports)."""
        return bool(self.flag)


#: Every event type's name, in the order the detectors document them.
EVENT_TYPES: Final = tuple(t.value for t in EventType)
#: The form checks, counted together as "form alerts".
FORM_EVENT_TYPES: Final = tuple(t for t in EventType if t.form)


def mm_text(value: float) -> str:
    """Millimetres for a message: whole mm, never ``-0``. A value compared with a limit:
    :func:`mm_texts`."""
    return _mm(value, 0)


def mm_texts(value: float, beside: float) -> tuple[str, str]:
    """A value and the limit it is compared with, to the same decimals (up to 2), as many as
    it takes for the two not to read the same: ``83.9`` past ``83.6``, not ``83.9`` past
    ``84``."""
    for decimals in range(3):
        text, other = _mm(value, decimals), _mm(beside, decimals)
        if text != other:
            break
    return text, other


def _mm(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


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
        type: what kind of event (a plain name such as ``"lift_off"`` is accepted and
            converted; an unknown name raises ``ValueError``).
        t_s: when it fired, seconds on the stream's clock (only data up to then was used).
        rep: the rep it belongs to (0-based).
        message: one line saying why it fired, for a person.
        evidence: the numbers behind it (measured values, thresholds, baselines, cells).
    """

    type: EventType
    t_s: float
    rep: int
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", EventType(self.type))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``legpress analyze`` prints one per line)."""
        return {
            "type": self.type.value,
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
        lumbar_contact_min: the lowest lower-back position during the rep, the quantity the
            lift-off rule decides on: the lower back's share of the pad load placed between
            this person's floor (0: as off the pad) and their clean reps at the same depth (1:
            usual); None if the pad could not be judged.
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
    events: tuple[EventType, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with ``"type": "rep"``."""
        d: dict[str, Any] = {"type": "rep"}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            d[name] = _clean(list(value) if isinstance(value, tuple) else value)
        return d
