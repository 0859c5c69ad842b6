"""The store's record types and how they map to SQLite rows and JSON columns.

The records of a session themselves (:class:`~legpress.session.Person`,
:class:`~legpress.session.Machine`, :class:`~legpress.session.Session`, ...) are the domain's,
in :mod:`legpress.session`; here are the store's own :class:`SessionRow` and the conversions.
"""

from __future__ import annotations

import json
import math
import os
import socket
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from legpress.detect.config import DetectorConfig, Profile, check_shares
from legpress.detect.events import Event, Rep
from legpress.dsp.calibration import Calibration
from legpress.errors import ConfigError, UsageError
from legpress.session import (
    REP_BOOL_METRICS,
    REP_METRICS,
    Machine,
    Person,
    SessionRep,
    event_from_dict,
    finite,
    jsonable,
    now_utc,
    rep_from_dict,
)


@dataclass(frozen=True, slots=True)
class SessionRow:
    """One line of :meth:`SessionStore.list_sessions`: a session and its totals.

    Attributes:
        id: session id.
        person: the person's name, if the session has one.
        machine: the machine's name, if known.
        started_at: ISO 8601, UTC.
        ended_at: ISO 8601, UTC; None while running (or if the program stopped).
        device_name: the device's name.
        rom_limit_mm: the ROM limit the detectors used.
        reps: completed reps.
        sets: sets.
        lift_offs: reps in which the lower back lifted.
        rom_exceeded: reps that went past the ROM limit.
        form_events: fast lowering, bounce and knee-lock events.
        max_depth_mm: the deepest rep.
        mean_lowering_s: mean lowering duration.
        mean_pushing_s: mean pushing duration.
        status: ``"ended"``, ``"running"`` or ``"interrupted"`` (the program recording it
            stopped without ending it; see :func:`interrupted`).
        lift_off_depth_mm: the shallowest sled depth at which the lower back lifted (None
            without a lift-off).
    """

    id: int
    person: str | None
    machine: str | None
    started_at: str
    ended_at: str | None
    device_name: str
    rom_limit_mm: float | None
    reps: int
    sets: int
    lift_offs: int
    rom_exceeded: int
    form_events: int
    max_depth_mm: float | None
    mean_lowering_s: float | None
    mean_pushing_s: float | None
    status: str = "ended"
    lift_off_depth_mm: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def owner() -> dict[str, Any]:
    """Who is recording a session now (kept in its summary until it ends): this process."""
    return {"pid": os.getpid(), "host": socket.gethostname()}


def interrupted(ended_at: str | None, summary: Any) -> bool:
    """True for a session that will never end: not ended, and the process that recorded it
    (its summary's ``owner``) is gone from this computer, or it was already marked
    ``interrupted``. A session owned on another computer is taken as running; one without an
    owner (an older legpress, an imported export) as interrupted."""
    if ended_at:
        return False
    if not isinstance(summary, dict):
        return True
    if summary.get("interrupted"):
        return True
    who = summary.get("owner")
    if not isinstance(who, dict):
        return True
    if who.get("host") != socket.gethostname():
        return False
    try:
        pid = int(who.get("pid", -1))
    except (TypeError, ValueError):
        return True
    if pid <= 0:
        return True
    return not process_alive(pid)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this computer (True when it cannot be told)."""
    if os.name != "posix":
        # Windows' os.kill(pid, 0) would terminate the process: never call it there.
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether it exists
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, as another user
        return True
    return True


def timestamp(value: datetime | str | None) -> str:
    """ISO 8601 in UTC (naive datetimes are local time)."""
    if value is None:
        return now_utc()
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise UsageError(f"not an ISO 8601 date and time: {value!r}") from None
    return value.astimezone(UTC).isoformat(timespec="seconds")


def dumps(value: Any) -> str:
    return json.dumps(jsonable(value), separators=(",", ":"), allow_nan=False)


def loads(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def config_dict(config: DetectorConfig | Mapping[str, Any] | None) -> dict[str, Any] | None:
    if config is None:
        return None
    if isinstance(config, DetectorConfig):
        return asdict(config)
    return dict(config)


def calibration_dict(cal: Calibration | Mapping[str, Any] | None) -> dict[str, Any] | None:
    if cal is None:
        return None
    if isinstance(cal, Calibration):
        return cal.to_dict()
    return dict(cal)


def check_limit(rom_limit_mm: float | None) -> float | None:
    if rom_limit_mm is None:
        return None
    try:
        value = float(rom_limit_mm)
    except (TypeError, ValueError):
        raise ConfigError(
            f"the ROM limit must be a number of millimetres, got {rom_limit_mm!r}"
        ) from None
    if not (math.isfinite(value) and 0 < value < 2000):
        raise ConfigError(
            f"the ROM limit must be more than 0 and less than 2000 mm, got {value:g}"
        )
    return value


@dataclass(frozen=True, slots=True)
class CalibrationRecord:
    """One calibration of a person (``legpress calibrate``), as kept in their history.

    Attributes:
        person: whose.
        reps: calibration reps recorded.
        lift_off_reps: how many of them lifted off.
        lift_off_depth_mm: the shallowest depth where the lower back lifted (None: none did).
        lift_off_floor: the lower-back share the back kept while off the pad (None: unknown).
        max_depth_mm: the deepest calibration rep.
        margin_mm: the learned limit's margin before the lift-off depth.
        at: when (ISO 8601, UTC; empty: now, when stored).
        detail: anything else worth keeping (each rep's depth and lift-off depth).
        id: database id (None until stored).
        clean_share_by_depth: the lower-back share of the calibration reps per 10 mm of depth,
            over the depths found safe (None: not learned).
    """

    person: str
    reps: int
    lift_off_reps: int
    lift_off_depth_mm: float | None
    lift_off_floor: float | None
    max_depth_mm: float | None
    margin_mm: float
    at: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)
    id: int | None = None
    clean_share_by_depth: tuple[float | None, ...] | None = None

    @classmethod
    def learned(
        cls,
        learned: Profile,
        reps: Sequence[Rep],
        floors: Sequence[float],
        machine: str = "",
        **detail: Any,
    ) -> CalibrationRecord:
        """The record of a calibration that learned ``learned`` from ``reps``
        (:func:`legpress.detect.learn_profile`), with the floors the analyzer saw and the
        machine it was made on (sled depths are a machine's own: a calibration holds on the
        machine it was made on); ``detail`` adds to what is kept (e.g. ``by="hub"``)."""
        return cls(
            person=learned.person,
            reps=len(reps),
            lift_off_reps=sum(1 for r in reps if r.lift_off),
            lift_off_depth_mm=learned.lift_off_depth_mm,
            lift_off_floor=learned.lift_off_floor,
            max_depth_mm=learned.max_calibrated_depth_mm,
            margin_mm=learned.margin_mm,
            clean_share_by_depth=learned.clean_share_by_depth,
            detail={
                "depth_mm": [round(r.depth_mm, 1) for r in reps],
                "lift_off_depth_mm": [r.lift_off_depth_mm for r in reps],
                "floors": list(floors),
                "machine": machine,
                **detail,
            },
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: every field but the database ``id`` (``at`` filled in if empty)."""
        return {
            "person": self.person,
            "reps": self.reps,
            "lift_off_reps": self.lift_off_reps,
            "lift_off_depth_mm": self.lift_off_depth_mm,
            "lift_off_floor": self.lift_off_floor,
            "max_depth_mm": self.max_depth_mm,
            "margin_mm": self.margin_mm,
            "at": self.at or datetime.now(UTC).isoformat(timespec="seconds"),
            "detail": dict(self.detail),
            "clean_share_by_depth": (
                None if self.clean_share_by_depth is None else list(self.clean_share_by_depth)
            ),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CalibrationRecord:
        """Inverse of :meth:`to_dict`.

        Raises:
            ValueError: a field is missing or of the wrong type.
        """

        def number(key: str) -> float | None:
            v = data.get(key)
            if v is None:
                return None
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise ValueError(f"calibration {key!r} must be a number or null, not {v!r}")
            return float(v)

        person = data.get("person")
        if not isinstance(person, str) or not person.strip():
            raise ValueError("a calibration needs its 'person'")
        reps, lifted = data.get("reps"), data.get("lift_off_reps")
        if not isinstance(reps, int) or not isinstance(lifted, int) or not 0 <= lifted <= reps:
            raise ValueError("calibration 'reps' and 'lift_off_reps' must be counts")
        margin = number("margin_mm")
        raw = data.get("clean_share_by_depth")
        try:
            shares = None if raw is None else check_shares("clean_share_by_depth", raw)
        except ConfigError as exc:
            raise ValueError(f"calibration {exc}") from None
        detail = data.get("detail") or {}
        if not isinstance(detail, dict):
            raise ValueError("calibration 'detail' must be an object")
        return cls(
            person=person,
            reps=reps,
            lift_off_reps=lifted,
            lift_off_depth_mm=number("lift_off_depth_mm"),
            lift_off_floor=number("lift_off_floor"),
            max_depth_mm=number("max_depth_mm"),
            margin_mm=20.0 if margin is None else margin,
            at=str(data.get("at") or ""),
            detail=detail,
            clean_share_by_depth=shares,
        )

    @property
    def learned_limit_mm(self) -> float | None:
        """The limit this calibration learned (see :attr:`Profile.learned_limit_mm`)."""
        return Profile(
            self.person,
            lift_off_depth_mm=self.lift_off_depth_mm,
            margin_mm=self.margin_mm,
            max_calibrated_depth_mm=self.max_depth_mm,
        ).learned_limit_mm


def where_in_force(history: list[CalibrationRecord]) -> list[str]:
    """Where each calibration of a history (oldest first) is in force, in words; empty where
    a newer one replaced it. On each machine, the newest calibration made on it is in force
    (machine names compared without case); on a machine without one, the newest of all."""
    newest: dict[str, int] = {}
    for i, c in enumerate(history):
        machine = str(c.detail.get("machine") or "")
        if machine:
            newest[machine.casefold()] = i
    out: list[str] = []
    for i, c in enumerate(history):
        machine = str(c.detail.get("machine") or "")
        parts = [f"on {machine}"] if machine and newest[machine.casefold()] == i else []
        if i == len(history) - 1:
            if set(newest) - {machine.casefold()}:
                parts.append("on machines without one of their own")
            else:
                parts.append("on every other machine" if machine else "on every machine")
        out.append(", and ".join(parts))
    return out


def shares_to_text(shares: tuple[float | None, ...] | None) -> str | None:
    """A clean share per depth as stored (JSON; None: not learned)."""
    return None if shares is None else dumps(list(shares))


def shares_from_text(text: str | None) -> tuple[float | None, ...] | None:
    """Inverse of :func:`shares_to_text`; a damaged value reads as not learned."""
    if text is None:
        return None
    try:
        return check_shares("clean_share_by_depth", loads(text))
    except ConfigError:
        return None


def calibration_from_row(person: str, row: sqlite3.Row) -> CalibrationRecord:
    """A ``calibrations`` row as a :class:`CalibrationRecord`."""
    detail = loads(row["detail"])
    return CalibrationRecord(
        person=person,
        reps=int(row["reps"]),
        lift_off_reps=int(row["lift_off_reps"]),
        lift_off_depth_mm=row["lift_off_depth_mm"],
        lift_off_floor=row["lift_off_floor"],
        max_depth_mm=row["max_depth_mm"],
        margin_mm=float(row["margin_mm"]),
        at=str(row["at"]),
        detail=detail if isinstance(detail, dict) else {},
        id=int(row["id"]),
        clean_share_by_depth=shares_from_text(row["clean_share_by_depth"]),
    )


def person_from_row(row: sqlite3.Row) -> Person:
    """A ``people`` row as a :class:`~legpress.session.Person`."""
    return Person(
        person=str(row["name"]),
        rom_limit_mm=row["rom_limit_mm"],
        lift_off_depth_mm=row["lift_off_depth_mm"],
        margin_mm=float(row["margin_mm"]),
        max_calibrated_depth_mm=row["max_calibrated_depth_mm"],
        notes=str(row["notes"]),
        lift_off_floor=row["lift_off_floor"],
        clean_share_by_depth=shares_from_text(row["clean_share_by_depth"]),
        id=int(row["id"]),
        created=str(row["created"]),
    )


def machine_from_row(row: sqlite3.Row) -> Machine:
    """A ``machines`` row, joined with its default person's name as ``person``, as a
    :class:`~legpress.session.Machine`."""
    return Machine(
        name=str(row["name"]),
        kind=str(row["kind"]),
        counts_per_mm=row["counts_per_mm"],
        notes=str(row["notes"]),
        device_url=str(row["device_url"]),
        person=row["person"],
        id=int(row["id"]),
    )


def rep_from_row(row: sqlite3.Row) -> SessionRep:
    """A ``reps`` row as a :class:`~legpress.session.SessionRep` (NULL metrics become NaN).

    Raises:
        ConfigError: the row holds an event type this legpress does not know.
    """
    d: dict[str, Any] = {"set": int(row["set_index"]), "index": int(row["rep_index"])}
    for name in REP_METRICS:
        value = row[name]
        d[name] = bool(value) if name in REP_BOOL_METRICS else value
    d["events"] = loads(row["events"]) or []
    return rep_from_dict(d)


def event_from_row(row: sqlite3.Row) -> Event:
    """An ``events`` row as an :class:`~legpress.detect.Event`.

    Raises:
        ConfigError: an event type this legpress does not know.
    """
    return event_from_dict(
        {
            "type": row["type"],
            "t_s": row["t_s"],
            "rep": row["rep_index"],
            "message": row["message"],
            "evidence": loads(row["evidence"]) or {},
        }
    )


def session_row_from_row(row: sqlite3.Row) -> SessionRow:
    """A row of the :meth:`SessionStore.list_sessions` query as a :class:`SessionRow`."""
    cfg = loads(row["config_json"])
    limit = cfg.get("rom_limit_mm") if isinstance(cfg, dict) else None
    return SessionRow(
        id=int(row["id"]),
        person=row["person"],
        machine=row["machine"],
        started_at=str(row["started_at"]),
        ended_at=row["ended_at"],
        device_name=str(row["device_name"]),
        rom_limit_mm=finite(limit),
        reps=int(row["reps"]),
        sets=int(row["sets"]),
        lift_offs=int(row["lift_offs"]),
        rom_exceeded=int(row["rom_exceeded"]),
        form_events=int(row["form_events"]),
        max_depth_mm=row["max_depth"],
        mean_lowering_s=row["mean_lowering"],
        mean_pushing_s=row["mean_pushing"],
        status="interrupted"
        if interrupted(row["ended_at"], loads(row["summary_json"]))
        else ("ended" if row["ended_at"] else "running"),
        lift_off_depth_mm=finite(row["lift_off_depth"]),
    )
