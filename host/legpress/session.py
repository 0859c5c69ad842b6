"""A training session as one typed record, and the arithmetic over it.

:class:`Session` is what :class:`legpress.live.LiveSession` and
:func:`legpress.analysis.analyze_file` produce, what
:class:`legpress.storage.store.SessionStore` keeps and gives back, and what the reports and the
CLI show: who trained (a :class:`Person`, whose limits are a :class:`~legpress.detect.Profile`),
on which :class:`Machine`, the reps grouped in sets, the alerts, the link's quality and the
totals (:class:`SessionStats`). No I/O here.
"""

from __future__ import annotations

import math
import shlex
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from legpress.detect.config import DetectorConfig, Profile
from legpress.detect.events import FORM_EVENT_TYPES, Event, EventType, Rep
from legpress.errors import ConfigError

__all__ = [
    "MACHINE_KINDS",
    "REP_BOOL_METRICS",
    "REP_METRICS",
    "LinkQuality",
    "Machine",
    "PartialRep",
    "Person",
    "Session",
    "SessionRep",
    "SessionSet",
    "SessionStats",
    "assign_sets",
    "calibration_note",
    "clock",
    "compute_stats",
    "counts_text",
    "event_from_dict",
    "finite",
    "now_utc",
    "rep_from_dict",
    "sets_of",
    "summary_items",
]

MACHINE_KINDS: Final = ("incline45", "horizontal")


@dataclass(frozen=True, slots=True)
class Person(Profile):
    """A person who trains: their limits (a :class:`~legpress.detect.Profile`) and their
    identity in the session store.

    Attributes:
        id: database id (None until stored).
        created: when the person was added (ISO 8601, UTC).
    """

    id: int | None = field(default=None, kw_only=True)
    created: str = field(default="", kw_only=True)

    @property
    def name(self) -> str:
        """The person's unique name (case-insensitive), the profile's ``person``."""
        return self.person

    @property
    def profile(self) -> Profile:
        """Just the limits, as a plain :class:`~legpress.detect.Profile`."""
        return Profile(**{f.name: getattr(self, f.name) for f in fields(Profile)})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with the limit in force as ``effective_limit_mm``."""
        return {
            "id": self.id,
            "name": self.person,
            "rom_limit_mm": self.rom_limit_mm,
            "lift_off_depth_mm": self.lift_off_depth_mm,
            "margin_mm": self.margin_mm,
            "max_calibrated_depth_mm": self.max_calibrated_depth_mm,
            "notes": self.notes,
            "created": self.created,
            "effective_limit_mm": self.effective_limit_mm,
        }


@dataclass(frozen=True, slots=True)
class Machine:
    """A leg press.

    Attributes:
        name: unique name (case-insensitive). In a stored session: the name the machine had
            when the session was trained (a later rename or removal does not change it).
        kind: ``"incline45"`` or ``"horizontal"``.
        counts_per_mm: encoder counts per millimetre of sled travel, if measured.
        notes: free text.
        device_url: the device it is bound to (``ble:LegPress-3A7F``, ``serial:/dev/ttyUSB0``,
            ...); empty for none.
        person: who is on it unless someone else is named (None: nobody by default).
        id: database id (None until stored, or once the machine was removed).
    """

    name: str
    kind: str = "incline45"
    counts_per_mm: float | None = None
    notes: str = ""
    device_url: str = field(default="", kw_only=True)
    person: str | None = field(default=None, kw_only=True)
    id: int | None = field(default=None, kw_only=True)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"id": self.id, **{k: v for k, v in asdict(self).items() if k != "id"}}


@dataclass(frozen=True, slots=True)
class SessionRep(Rep):
    """A rep of a session: the detector's :class:`~legpress.detect.Rep` and its set.

    Attributes:
        set: the set it belongs to (0-based).
    """

    set: int = field(default=0, kw_only=True)

    @classmethod
    def of(cls, rep: Rep, set_index: int) -> SessionRep:
        """``rep`` as a rep of set ``set_index``."""
        return cls(**{f.name: getattr(rep, f.name) for f in fields(Rep)}, set=set_index)

    @property
    def rep(self) -> Rep:
        """Just the detector's rep."""
        return Rep(**{f.name: getattr(self, f.name) for f in fields(Rep)})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: ``set``, ``index``, the metrics (unknown ones None) and ``events``."""
        d: dict[str, Any] = {"set": self.set, "index": self.index}
        for name in REP_METRICS:
            value = getattr(self, name)
            d[name] = None if isinstance(value, float) and not math.isfinite(value) else value
        d["events"] = [e.value for e in self.events]
        return d


@dataclass(frozen=True, slots=True)
class PartialRep:
    """The rep a session ended in the middle of (stopped, link lost, program killed): it is
    not a completed rep, so no count includes it, but its alerts fired and are kept; reports
    and the monitor show it as partial.

    Attributes:
        index: its rep number (0-based), the ``rep`` of its events.
        depth_mm: the deepest sled travel it reached, if known.
        events: the types of the alerts it raised, in order.
    """

    index: int
    depth_mm: float | None = None
    events: tuple[EventType, ...] = ()

    @classmethod
    def after(
        cls, reps: Sequence[Rep], events: Sequence[Event], depth_mm: float | None
    ) -> PartialRep:
        """The rep after the last completed one of ``reps``, with its alerts among
        ``events`` (the live session and an offline analysis name it alike)."""
        index = reps[-1].index + 1 if reps else 0
        return cls(index, depth_mm, tuple(e.type for e in events if e.rep == index))

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any]) -> PartialRep | None:
        """The ``partial_rep`` a stored summary keeps, if any (malformed: None)."""
        d = summary.get("partial_rep")
        if not isinstance(d, Mapping):
            return None
        try:
            return cls(
                int(d["index"]),
                finite(d.get("depth_mm")),
                tuple(EventType(str(e)) for e in d.get("events") or ()),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (kept in the session's summary as ``partial_rep``)."""
        return {
            "index": self.index,
            "depth_mm": self.depth_mm,
            "events": [e.value for e in self.events],
        }

    def describe(self) -> str:
        """``rep 12 (partial: the session ended mid-rep; 305 mm, lower back lifted)``."""
        what = [f"{self.depth_mm:.0f} mm"] if self.depth_mm is not None else []
        what += [e.phrase for e in dict.fromkeys(self.events) if e.marks_rep]
        return f"rep {self.index + 1} (partial: the session ended mid-rep" + (
            f"; {', '.join(what)})" if what else ")"
        )


@dataclass(frozen=True, slots=True)
class SessionSet:
    """A set: reps without a long rest between them.

    Attributes:
        index: 0-based set number.
        t_start_s: its first rep's start.
        t_end_s: its last rep's end.
        reps: how many reps it has.
    """

    index: int
    t_start_s: float
    t_end_s: float
    reps: int

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class LinkQuality:
    """How well the samples arrived.

    Attributes:
        lost_packets: sample packets lost on the link.
        received_packets: sample packets that arrived, if known.
        samples: samples received, if known.
    """

    lost_packets: int
    received_packets: int | None = None
    samples: int | None = None

    @classmethod
    def from_summary(cls, summary: Mapping[str, Any]) -> LinkQuality | None:
        """The packet-loss numbers a stored summary has, wherever they are nested (``lost``
        or ``lost_packets``; ``packets`` or ``received``; ``samples``); None without any."""
        flat = dict(summary_items(summary))

        def first(*names: str) -> int | None:
            for key, value in flat.items():
                if key.split(".")[-1] in names:
                    f = finite(value)
                    if f is not None:
                        return int(f)
            return None

        lost = first("lost_packets", "lost")
        if lost is None:
            return None
        return cls(lost, first("packets", "received"), first("samples"))

    def to_dict(self) -> dict[str, int]:
        """JSON-ready form (the known numbers only)."""
        d = {"samples": self.samples, "lost_packets": self.lost_packets}
        if self.received_packets is not None:
            d["packets"] = self.received_packets
        return {k: v for k, v in d.items() if v is not None}


@dataclass(frozen=True, slots=True)
class SessionStats:
    """Totals of a session (see :func:`compute_stats`).

    Attributes:
        reps: completed reps.
        sets: sets.
        lift_offs: reps in which the lower back lifted.
        rom_exceeded: reps that went past the ROM limit.
        rom_warnings: "approaching the limit" alerts.
        form_events: form alerts (:data:`~legpress.detect.FORM_EVENT_TYPES`).
        events_by_type: alerts of each type.
        max_depth_mm: the deepest rep (None without reps).
        mean_depth_mm: mean rep depth.
        mean_lowering_s: mean lowering duration.
        mean_pushing_s: mean pushing duration.
        mean_tut_s: mean time under tension.
        min_lumbar_contact: the lowest lower-back position of any rep (``Rep.lumbar_contact_min``).
        active_s: first rep start to last rep end.
    """

    reps: int
    sets: int
    lift_offs: int
    rom_exceeded: int
    rom_warnings: int
    form_events: int
    events_by_type: dict[str, int]
    max_depth_mm: float | None
    mean_depth_mm: float | None
    mean_lowering_s: float | None
    mean_pushing_s: float | None
    mean_tut_s: float | None
    min_lumbar_contact: float | None
    active_s: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class Session:
    """One training session, from end to end.

    Attributes:
        id: the session's id in the store (None until stored).
        person: who trained (None: anonymous), with their limits as they are now.
        machine: which leg press, if known.
        started_at: ISO 8601, UTC.
        ended_at: ISO 8601, UTC; None while running (or if the program stopped).
        device_name: the device's name.
        device_url: how it was opened (``ble:…``, ``serial:…``, ``sim:…``).
        recording_path: the raw recording of this session, if any.
        config: the detector settings in force, as recorded (see :attr:`detector_config`).
        calibration: counts to millimetres and tare, as recorded.
        summary: anything kept with the session that reps and events do not say (link
            quality, the analysed file, ...).
        sets: the sets, in order.
        reps: the reps, in the order they started.
        events: the alerts, in the order they fired.
        link: how well the samples arrived, if known.
        interrupted: the program recording it stopped without ending it (killed, crashed,
            power lost): ``ended_at`` is None and nothing more will be added.
        notes: free text kept with the session (a therapist's observations).
    """

    id: int | None = None
    person: Person | None = None
    machine: Machine | None = None
    started_at: str | None = None
    ended_at: str | None = None
    device_name: str = ""
    device_url: str = ""
    recording_path: str | None = None
    config: dict[str, Any] | None = None
    calibration: dict[str, Any] | None = None
    summary: dict[str, Any] = field(default_factory=dict)
    sets: tuple[SessionSet, ...] = ()
    reps: tuple[SessionRep, ...] = ()
    events: tuple[Event, ...] = ()
    link: LinkQuality | None = None
    interrupted: bool = False
    notes: str = ""

    @property
    def status(self) -> str:
        """``"ended"``, ``"interrupted"`` (see :attr:`interrupted`) or ``"running"``."""
        if self.interrupted:
            return "interrupted"
        return "ended" if self.ended_at else "running"

    @property
    def partial_rep(self) -> PartialRep | None:
        """The rep the session ended in the middle of, if it did (see :class:`PartialRep`)."""
        return PartialRep.from_summary(self.summary)

    @property
    def stats(self) -> SessionStats:
        """The totals, computed from the reps and events."""
        return compute_stats(self.reps, self.events)

    @property
    def detector_config(self) -> DetectorConfig:
        """The detector settings used (defaults for missing or unknown fields)."""
        raw = self.config
        if not isinstance(raw, Mapping):
            return DetectorConfig()
        known = set(DetectorConfig.__dataclass_fields__)
        try:
            return DetectorConfig(**{k: v for k, v in raw.items() if k in known})
        except (TypeError, ValueError):
            return DetectorConfig()

    @property
    def rom_limit_mm(self) -> float | None:
        """The ROM limit the detectors used, if any."""
        return finite(self.config.get("rom_limit_mm")) if self.config else None

    def set_reps(self, index: int) -> list[SessionRep]:
        """The reps of one set."""
        return [r for r in self.reps if r.set == index]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Session:
        """A session from its :meth:`to_dict` form (e.g. an export from another computer).

        The person and machine keep only their names (and the machine its kind): limits
        belong to the store they are kept in. Sets are rebuilt from the reps' ``set``.

        Raises:
            ConfigError: a rep or event is malformed.
        """
        reps = tuple(
            sorted(
                (rep_from_dict(r) for r in d.get("reps") or ()),
                key=lambda r: (r.t_start_s, r.index),
            )
        )
        events = tuple(event_from_dict(e) for e in d.get("events") or ())
        person = str(d["person"]) if d.get("person") else None
        machine = str(d["machine"]) if d.get("machine") else None
        kind = d.get("machine_kind")
        config, calibration = d.get("config"), d.get("calibration")
        summary = d.get("summary")
        return cls(
            person=Person(person) if person else None,
            machine=Machine(machine, kind if kind in MACHINE_KINDS else "incline45")
            if machine
            else None,
            started_at=str(d["started_at"]) if d.get("started_at") else None,
            ended_at=str(d["ended_at"]) if d.get("ended_at") else None,
            device_name=str(d.get("device_name") or ""),
            device_url=str(d.get("device_url") or ""),
            recording_path=str(d["recording_path"]) if d.get("recording_path") else None,
            config=dict(config) if isinstance(config, Mapping) else None,
            calibration=dict(calibration) if isinstance(calibration, Mapping) else None,
            summary=dict(summary) if isinstance(summary, Mapping) else {},
            sets=sets_of(reps),
            reps=reps,
            events=events,
            link=LinkQuality.from_summary(summary) if isinstance(summary, Mapping) else None,
            interrupted=bool(d.get("interrupted")),
            notes=str(d.get("notes") or ""),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``legpress sessions show --json`` and export shape)."""
        return {
            "id": self.id,
            "person": self.person.name if self.person else None,
            "machine": self.machine.name if self.machine else None,
            "machine_kind": self.machine.kind if self.machine else None,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
            "status": self.status,
            "interrupted": self.interrupted,
            "notes": self.notes,
            "device_name": self.device_name,
            "device_url": self.device_url,
            "recording_path": self.recording_path,
            "config": self.config,
            "calibration": self.calibration,
            "summary": self.summary,
            "person_profile": self.person.to_dict() if self.person else None,
            "sets": [s.to_dict() for s in self.sets],
            "reps": [r.to_dict() for r in self.reps],
            "events": [
                {
                    "type": e.type.value,
                    "t_s": e.t_s,
                    "rep": e.rep,
                    "message": e.message,
                    "evidence": jsonable(e.evidence),
                }
                for e in self.events
            ],
            "stats": self.stats.to_dict(),
        }


# -- conversions ---------------------------------------------------------------------------

#: A rep's metrics: its fields but ``index`` and ``events`` (the store keeps one column each).
REP_METRICS: Final = tuple(f.name for f in fields(Rep) if f.name not in ("index", "events"))
#: The metrics that are yes/no.
REP_BOOL_METRICS: Final = frozenset(f.name for f in fields(Rep) if str(f.type) == "bool")
_REP_OPTIONAL: Final = frozenset(
    f.name for f in fields(Rep) if "None" in str(f.type) and f.name != "index"
)


def _count(value: Any, name: str) -> int:
    """A rep or set number: a whole number from 0 to 2**31 - 1 (else ValueError)."""
    number = int(value)
    if number != value or not 0 <= number < 2**31:
        raise ValueError(f"{name} must be a whole number from 0, got {value!r}")
    return number


#: The times every rep has (when it started, was deepest, ended).
_REP_TIMES: Final = ("t_start_s", "t_bottom_s", "t_end_s")


def jsonable(value: Any) -> Any:
    """Plain JSON types; non-finite floats become None, numpy scalars become Python ones."""
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    item = getattr(value, "item", None)  # numpy scalar
    if callable(item):
        return jsonable(item())
    tolist = getattr(value, "tolist", None)  # numpy array
    if callable(tolist):
        return jsonable(tolist())
    return str(value)


def finite(value: Any) -> float | None:
    """``value`` as a finite float, or None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def summary_items(d: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """A (nested) summary as ``(dotted.key, value)`` pairs, in order."""
    out: list[tuple[str, Any]] = []
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, Mapping):
            out.extend(summary_items(v, key + "."))
        else:
            out.append((key, v))
    return out


def summary_figures(d: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The :func:`summary_items` worth listing as figures: without what a session shows in its
    own place (the partial rep, interrupted, the rep count) or that is bookkeeping (the
    process that owns a running session)."""
    return [
        (k, v)
        for k, v in summary_items(d)
        if not k.startswith(("owner.", "partial_rep.")) and k not in ("reps", "interrupted")
    ]


def rep_from_dict(d: Mapping[str, Any]) -> SessionRep:
    """A rep from its stored or exported form (``None`` metrics become NaN; no ``set``
    means set 0).

    Raises:
        ConfigError: a field is missing or malformed.
    """
    try:
        kwargs: dict[str, Any] = {
            "index": _count(d["index"], "index"),
            "set": _count(d.get("set") or 0, "set"),
        }
        for name in REP_METRICS:
            value = d.get(name)
            if name in REP_BOOL_METRICS:
                kwargs[name] = bool(value)
            elif value is None:
                kwargs[name] = None if name in _REP_OPTIONAL else math.nan
            else:
                kwargs[name] = float(value)
        kwargs["events"] = tuple(EventType(str(e)) for e in d.get("events") or ())
        for name in _REP_TIMES:
            if not math.isfinite(kwargs[name]):
                raise ValueError(f"{name} must be a time in seconds, got {d.get(name)!r}")
        return SessionRep(**kwargs)
    except KeyError as exc:
        raise ConfigError(f"a rep has no {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"the rep with index {d.get('index')!r} is malformed: {exc}") from None


def event_from_dict(d: Mapping[str, Any]) -> Event:
    """An :class:`~legpress.detect.Event` from its stored or exported form.

    Raises:
        ConfigError: a field is missing or malformed.
    """
    try:
        evidence = d.get("evidence") or {}
        return Event(
            type=EventType(str(d["type"])),
            t_s=float(d["t_s"]),
            rep=_count(d["rep"], "rep"),
            message=str(d.get("message", "")),
            evidence=dict(evidence),
        )
    except KeyError as exc:
        raise ConfigError(f"an event has no {exc}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"the event of type {d.get('type')!r} is malformed: {exc}") from None


# -- arithmetic ----------------------------------------------------------------------------


def now_utc() -> str:
    """The time now, ISO 8601 in UTC to the second (how sessions keep their times)."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def _start_order(rep: Rep) -> tuple[float, int]:
    return rep.t_start_s, rep.index


def sets_of(reps: Iterable[SessionRep]) -> tuple[SessionSet, ...]:
    """The sets that reps already assigned to sets make up, by set index."""
    by_set: dict[int, list[SessionRep]] = {}
    for r in reps:
        by_set.setdefault(r.set, []).append(r)
    return tuple(
        SessionSet(
            i,
            min(r.t_start_s for r in rs),
            max(r.t_end_s for r in rs),
            len(rs),
        )
        for i, rs in sorted(by_set.items())
    )


def assign_sets(
    reps: Iterable[Rep], config: DetectorConfig | None = None
) -> tuple[tuple[SessionRep, ...], tuple[SessionSet, ...]]:
    """Group reps into sets by the detector's own rule
    (:meth:`~legpress.detect.DetectorConfig.starts_new_set` of ``config``, default settings
    without one); the reps come back in start order."""
    rule = config or DetectorConfig()
    out: list[SessionRep] = []
    set_index, set_end_s = -1, -math.inf
    for rep in sorted(reps, key=_start_order):
        if set_index < 0 or rule.starts_new_set(set_end_s, rep.t_start_s):
            set_index += 1
            set_end_s = rep.t_end_s
        set_end_s = max(set_end_s, rep.t_end_s)
        out.append(
            SessionRep(**{f.name: getattr(rep, f.name) for f in fields(Rep)}, set=set_index)
        )
    return tuple(out), sets_of(out)


def _mean(values: Iterable[float | None]) -> float | None:
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return sum(xs) / len(xs) if xs else None


def compute_stats(reps: Sequence[SessionRep], events: Sequence[Event]) -> SessionStats:
    """Totals of a session from its reps (in start order) and events; means are None without
    reps, non-finite metrics are left out."""
    by_type = Counter(e.type.value for e in events)
    depths = [d for d in (finite(r.depth_mm) for r in reps) if d is not None]
    contacts = [r.lumbar_contact_min for r in reps if r.lumbar_contact_min is not None]
    return SessionStats(
        reps=len(reps),
        sets=len({r.set for r in reps}),
        lift_offs=sum(1 for r in reps if r.lift_off),
        rom_exceeded=sum(1 for r in reps if r.rom_exceeded),
        rom_warnings=by_type.get(EventType.ROM_WARNING.value, 0),
        form_events=sum(by_type.get(t.value, 0) for t in FORM_EVENT_TYPES),
        events_by_type=dict(sorted(by_type.items())),
        max_depth_mm=max(depths) if depths else None,
        mean_depth_mm=_mean(depths),
        mean_lowering_s=_mean(r.lowering_s for r in reps),
        mean_pushing_s=_mean(r.pushing_s for r in reps),
        mean_tut_s=_mean(r.tut_s for r in reps),
        min_lumbar_contact=min(contacts) if contacts else None,
        active_s=float(reps[-1].t_end_s) - float(reps[0].t_start_s) if reps else 0.0,
    )


def clock(t_s: Any, decimals: int = 0) -> str:
    """Seconds as ``m:ss`` (``h:mm:ss`` past an hour; ``m:ss.s`` with ``decimals=1``), rounded
    half up: the one way every report and command writes a time in a session."""
    f = finite(t_s)
    if f is None:
        return "–"
    scale = 10**decimals
    # Half up on the decimal digits a person reads (5.45 s is 0:05.5, as f"{5.45:.1f}").
    exact = Decimal(repr(max(f, 0.0))) * scale
    ticks = int(exact.to_integral_value(rounding=ROUND_HALF_UP))
    whole, frac = divmod(ticks, scale)
    h, rest = divmod(whole, 3600)
    m, sec = divmod(rest, 60)
    text = f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"
    return text + (f".{frac:0{decimals}d}" if decimals else "")


def counts_text(session: Session) -> str:
    """The session's counts in one line, by the one rule every command and report uses:
    completed reps are counted (:func:`compute_stats`); a rep the session ended in the middle
    of is named as partial and counted nowhere.

    ``11 reps in 2 sets; lower back lifted in 5, past the limit in 9, other form alerts 0;
    rep 12 (partial: the session ended mid-rep; 305 mm, lower back lifted)``
    """
    st = session.stats
    text = (
        f"{st.reps} rep{'' if st.reps == 1 else 's'} in {st.sets} set"
        f"{'' if st.sets == 1 else 's'}; lower back lifted in {st.lift_offs}, past the limit in "
        f"{st.rom_exceeded}, other form alerts {st.form_events}"
    )
    partial = session.partial_rep
    return text + (f"; {partial.describe()}" if partial is not None else "")


def calibration_result(learned: Profile) -> str:
    """What a calibration learned, in words: where the lower back left the pad and the limit
    learned from it (or, when no rep lifted off, how deep the reps went)."""
    limit = learned.learned_limit_mm
    limit_text = f"learned limit {limit:.0f} mm" if limit is not None else "no limit learned"
    if learned.lift_off_depth_mm is not None:
        return f"lower back leaves the pad at {learned.lift_off_depth_mm:.0f} mm; {limit_text}"
    deepest = learned.max_calibrated_depth_mm or 0.0
    return (
        f"no lift-off seen down to {deepest:.0f} mm; {limit_text}, the margin short of it "
        "(asked to go to where the back starts to leave the pad, the likelier reason for none "
        "is a lift-off the pad did not show)"
    )


def uncalibrated_note(person: str, machine: str = "", on_hub: bool = False) -> str:
    """The note for a named person who has never been calibrated: their session's first
    reps at each depth have only each rep's own top and their clean reps so far to be
    compared with, which is where false lift-off alerts come from. ``on_hub``: said on the
    hub, where the machine's page calibrates them too."""
    where = f"--machine {shlex.quote(machine)}" if machine else "URL"
    command = f"`legpress calibrate {where} --person {shlex.quote(person)}`"
    how = f"Calibrate on the machine's page, or {command}" if on_hub else command
    return (
        f"note: {person} has no calibration yet: each depth is judged against their clean reps "
        "so far, or the rep's own top, until one is seen there; calibrating first cuts false "
        f"lift-off alerts ({how})"
    )


def calibration_note(person: str, machine: str, calibrated_on: str | None) -> str | None:
    """A note when ``person``'s newest calibration was made on another named machine than
    ``machine`` (sled depths, and so the lift-off depth and the clean share per depth, are a
    machine's own), or None."""
    if not person or not machine or not calibrated_on:
        return None
    if calibrated_on.casefold() == machine.casefold():
        return None
    return (
        f"note: {person} was calibrated on machine {calibrated_on!r}, not {machine!r}: the "
        "depth where their back lifted may differ here; calibrate them on this machine "
        f"(`legpress calibrate --machine {shlex.quote(machine)} --person {shlex.quote(person)}`)"
    )
