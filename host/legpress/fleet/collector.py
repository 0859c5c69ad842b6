"""``legpress serve --collect``: every hub of a fleet on one dashboard, into one store.

A :class:`Collector` subscribes to every hub under the broker URL's prefix (docs/mqtt.md) with a
persistent session, so the broker keeps what the hubs publish while the collector is away. It
keeps a tile per machine (named "Leg press 1 · North") from the hubs' retained state and status
and stores each hub's sessions, reps and alerts in its own :class:`SessionStore`, each message
once: a repeat (QoS 1 is at least once) is recognised by its ``id`` in the
:class:`~legpress.fleet.ledger.Ledger` and dropped (:attr:`Collector.duplicates`).

It offers what the dashboard (:func:`legpress.hub.web.make_app`) needs of a site: ``tiles()``,
``station()``, a ``bus`` of live messages, ``store``; ``assign``/``start``/``stop`` are sent to
the machine's hub as commands over MQTT.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
import uuid
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any, Final

from legpress.detect import DetectorConfig
from legpress.errors import (
    AlreadyExistsError,
    ConfigError,
    LegPressError,
    NotFoundError,
    UsageError,
)
from legpress.fleet.config import BrokerConfig, slug
from legpress.fleet.ledger import Ledger
from legpress.fleet.link import BrokerLink
from legpress.fleet.topics import OFFLINE, ONLINE, Route, dumps, parse_topic
from legpress.hub.bus import Broadcast
from legpress.session import event_from_dict, rep_from_dict
from legpress.storage.store import CalibrationRecord, SessionStore

__all__ = ["Collector", "RemoteMachine"]

_log = logging.getLogger(__name__)
_KINDS: Final = ("state", "summary", "event", "rep", "session", "calibration", "reply")


@dataclass(slots=True)
class _RemoteHub:
    id: str
    name: str
    online: bool = False
    info: dict[str, Any] = field(default_factory=dict)


class RemoteMachine:
    """A machine of another hub, as the collector sees it.

    Attributes:
        hub: its hub's id.
        machine_id: its id in that hub.
        name: shown and stored as "MACHINE · HUB NAME".
        id: unique in the fleet, for URLs (``HUB.MACHINE``).
    """

    def __init__(self, collector: Collector, hub: str, machine_id: str, machine: str) -> None:
        self._collector = collector
        self.hub = hub
        self.machine_id = machine_id
        self.machine = machine
        self.id = f"{hub}.{machine_id}"
        self.state: dict[str, Any] = {}
        self.summary: dict[str, Any] = {}
        self.session_id: int | None = None  # ours
        self.last_reply: dict[str, Any] | None = None

    @property
    def name(self) -> str:
        """The name on the dashboard and in the store."""
        return f"{self.machine} · {self._collector.hub_name(self.hub)}"

    @property
    def person(self) -> str | None:
        """Who is on it, as its hub says."""
        p = self.state.get("person")
        return str(p) if p else None

    def tile(self) -> dict[str, Any]:
        """The dashboard tile (the keys of :meth:`legpress.hub.Station.tile`)."""
        s = self.state
        online = self._collector.hub_online(self.hub)
        link = str(s.get("link") or "") if online else "its hub is offline"
        return {
            "type": "tile",
            "machine": self.name,
            "id": self.id,
            "url": f"mqtt:{self.hub}/{self.machine_id}",
            "hub": self.hub,
            "connected": bool(online and s.get("connected")),
            "link": link,
            "error": str(s.get("error") or ""),
            "device": str(s.get("device") or ""),
            "faults": str(s.get("faults") or ""),
            "person": self.person,
            "occupied": bool(s.get("occupied")) and online,
            "session_id": self.session_id,
            "reps": int(s.get("reps") or 0),
            "depth_mm": s.get("depth_mm"),
            "max_depth_mm": s.get("max_depth_mm"),
            "limit_mm": s.get("limit_mm"),
            "warn_mm": s.get("warn_mm"),
            "lift_depth_mm": s.get("lift_depth_mm"),
            "calibration_note": s.get("calibration_note"),
            "calibration": s.get("calibration"),
            "calibrating": bool(s.get("calibrating")),
            "setup": s.get("setup"),
            "phase": str(s.get("phase") or "top"),
            "pad": [],
            "alert": s.get("alert"),
            "samples": int(s.get("samples") or 0),
            "lost_packets": int(s.get("lost_packets") or 0),
        }


class Collector:
    """Every hub under ``broker.prefix``: one view, one store.

    Args:
        broker: the broker (its prefix is the fleet's).
        store: where every hub's sessions go (not closed here).
        ledger: the message ids already stored.
        name: the collector's name (its client id is ``legpress-collector-NAME``: one
            collector per name, so that the broker keeps its queue while it is away).
    """

    def __init__(
        self, broker: BrokerConfig, store: SessionStore, ledger: Ledger, *, name: str = "central"
    ) -> None:
        if not name.strip():
            raise UsageError("the collector needs a name")
        self.broker = broker
        self.store = store
        self.ledger = ledger
        self.name = name.strip()
        self.bus = Broadcast()
        self.store_errors = 0
        self.duplicates = 0
        self.malformed = 0
        self.stored = 0
        self.unplaced = 0
        self.calibration = 0
        self.commands_sent = 0
        self._hubs: dict[str, _RemoteHub] = {}
        self.stations: dict[str, RemoteMachine] = {}
        self._resumed: set[int] = set()  # our sessions this process has written to
        p = broker.prefix
        self.link = BrokerLink(
            broker,
            f"legpress-collector-{slug(self.name)}",
            persistent=True,
            subscriptions=(f"{p}/+/status", f"{p}/+/hub", *(f"{p}/+/+/{k}" for k in _KINDS)),
            on_message=self._on_message,
        )

    # -- what the dashboard asks -------------------------------------------------------------

    def hub_name(self, hub: str) -> str:
        """A hub's name (its id until its own message arrived)."""
        h = self._hubs.get(hub)
        return h.name if h else hub

    def hub_online(self, hub: str) -> bool:
        """Whether the hub's status says online."""
        h = self._hubs.get(hub)
        return bool(h and h.online)

    def hubs(self) -> list[dict[str, Any]]:
        """Each hub: id, name, online, and its own message."""
        return [
            {"id": h.id, "name": h.name, "online": h.online, "info": h.info}
            for h in sorted(self._hubs.values(), key=lambda h: h.name.casefold())
        ]

    def tiles(self) -> list[dict[str, Any]]:
        """Every machine of the fleet, by hub then machine."""
        return [st.tile() for st in self._ordered()]

    def _ordered(self) -> list[RemoteMachine]:
        return sorted(self.stations.values(), key=lambda m: (m.name.casefold(), m.id))

    def station(self, machine: str) -> RemoteMachine:
        """The machine with that fleet id (``HUB.MACHINE``) or name.

        Raises:
            NotFoundError: no such machine.
        """
        found = self.stations.get(machine)
        if found is None:
            key = machine.strip().casefold()
            found = next((m for m in self.stations.values() if m.name.casefold() == key), None)
        if found is None:
            names = ", ".join(m.name for m in self._ordered()) or "none yet"
            raise NotFoundError(f"no machine {machine!r} in the fleet (machines: {names})")
        return found

    def assign(self, machine: str, person: str | None) -> None:
        """Ask the machine's hub to put ``person`` on it."""
        self._send(machine, {"command": "assign", "person": person})

    def start(self, machine: str) -> None:
        """Ask the machine's hub to start a session."""
        self._send(machine, {"command": "start"})

    def stop(self, machine: str) -> None:
        """Ask the machine's hub to end the session."""
        self._send(machine, {"command": "stop"})

    def calibrate(self, machine: str) -> None:
        """Ask the machine's hub to calibrate the person on it."""
        self._send(machine, {"command": "calibrate"})

    def tare(self, machine: str) -> None:
        """Ask the machine's hub to tare its back pad (nobody on it)."""
        self._send(machine, {"command": "tare"})

    def zero(self, machine: str) -> None:
        """Ask the machine's hub to zero its sled (at the top)."""
        self._send(machine, {"command": "zero"})

    def _send(self, machine: str, command: dict[str, Any]) -> None:
        st = self.station(machine)
        if not self.link.connected:
            raise UsageError("not connected to the MQTT broker: the command was not sent")
        if not self.hub_online(st.hub):
            raise UsageError(f"{self.hub_name(st.hub)} is offline: the command was not sent")
        topic = f"{self.broker.prefix}/{st.hub}/{st.machine_id}/cmd"
        payload = dumps({**command, "id": uuid.uuid4().hex})
        self.link.publish(topic, payload, queue=False)
        self.commands_sent += 1

    def figures(self) -> dict[str, Any]:
        """Counters: what was stored, repeated, malformed, not placed in a session, and a
        calibration's messages (its reps belong to the hub's calibration history)."""
        return {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "malformed": self.malformed,
            "unplaced": self.unplaced,
            "calibration": self.calibration,
            "store_errors": self.store_errors,
            "commands_sent": self.commands_sent,
            "broker": self.link.stats().to_dict(),
        }

    def describe(self) -> str:
        """One line for the start-up banner."""
        return f"MQTT: collecting every hub under {self.broker.url}"

    async def run(self) -> None:
        """Collect until cancelled."""
        import asyncio

        self.link.start()
        try:
            while True:
                await asyncio.sleep(3600)
        finally:
            await self.link.stop()

    # -- messages ------------------------------------------------------------------------------

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        route = parse_topic(self.broker.prefix, topic)
        if route is None or route.kind in ("cmd", "person/set"):
            return
        try:
            if route.kind == "status":
                self._status(route, payload)
                return
            if not payload:
                return  # a cleared retained message
            data = json.loads(payload)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            self._message(route, data)
        except (ValueError, TypeError, KeyError, ConfigError) as exc:
            self.malformed += 1
            _log.warning(
                "MQTT: malformed message on %s: %s (%d so far)", topic, exc, self.malformed
            )

    def _hub(self, hub: str) -> _RemoteHub:
        h = self._hubs.get(hub)
        if h is None:
            h = self._hubs[hub] = _RemoteHub(hub, hub)
        return h

    def _status(self, route: Route, payload: bytes) -> None:
        text = payload.decode("utf-8", "replace").strip().lower()
        if not text:
            return  # a cleared retained status
        if text not in (ONLINE, OFFLINE):
            raise ValueError(f"status must be online or offline, not {text[:20]!r}")
        h = self._hub(route.hub)
        h.online = text == ONLINE
        for st in self.stations.values():
            if st.hub == route.hub:
                self.bus.publish(st.tile())

    def _machine(self, route: Route, data: dict[str, Any]) -> RemoteMachine:
        assert route.machine is not None
        key = f"{route.hub}.{route.machine}"
        st = self.stations.get(key)
        name = str(data.get("machine") or route.machine)
        if st is None:
            st = self.stations[key] = RemoteMachine(self, route.hub, route.machine, name)
        st.machine = name
        return st

    def _message(self, route: Route, data: dict[str, Any]) -> None:
        if route.kind == "hub":
            h = self._hub(route.hub)
            h.name = str(data.get("name") or route.hub)
            h.info = data
            return
        st = self._machine(route, data)
        if route.kind == "state":
            st.state = data
            self.bus.publish(st.tile())
        elif route.kind == "summary":
            st.summary = data
        elif route.kind == "reply":
            st.last_reply = data
            self.bus.publish({"type": "reply", "machine": st.name, "reply": data})
        elif route.kind in ("event", "rep", "session", "calibration"):
            self._record(st, route.kind, data)

    # -- into the store --------------------------------------------------------------------------

    def _record(self, st: RemoteMachine, kind: str, data: dict[str, Any]) -> None:
        mid = data.get("id")
        if not isinstance(mid, str) or not mid:
            raise ValueError(f"a {kind} message needs its 'id'")
        if self.ledger.seen(mid):
            self.duplicates += 1
            return
        remote: Any = data.get("session_id")
        if kind != "calibration" and data.get("calibration") is True:
            # A calibration's reps are not a training session on the hub either: what it
            # learned comes on its own topic, into the person's calibration history.
            self.calibration += 1
            self.ledger.mark(mid)
            return
        if kind != "calibration" and remote is None:
            self.unplaced += 1  # the hub could not store that session either
            self.ledger.mark(mid)
            return
        try:
            if kind == "calibration":
                self._calibration(st, data)
            elif kind == "session":
                self._session(st, mid, int(remote), data)
            elif kind == "rep":
                sid = self._session_for(st, int(remote), data)
                rep = rep_from_dict(data["rep"])
                try:
                    self.store.add_rep(sid, rep.rep)
                except AlreadyExistsError:  # its id was not noted (a crash in between)
                    self.duplicates += 1
                self._live(st, {"type": "rep", "machine": st.name, "rep": data["rep"]})
            else:
                sid = self._session_for(st, int(remote), data)
                self.store.add_event(sid, event_from_dict(data))
                self._live(st, {"type": "alert", "machine": st.name, "alert": _alert(data, sid)})
        except (ConfigError, KeyError, TypeError, ValueError):
            raise
        except LegPressError as exc:
            self.store_errors += 1
            _log.error("session store: %s", exc)
            return  # not marked: a repeat may store it
        self.ledger.mark(mid)
        self.stored += 1

    def _calibration(self, st: RemoteMachine, data: dict[str, Any]) -> None:
        """A calibration made on a hub, into this store's history of that person, made on this
        store's name for the machine (so that it holds there)."""
        record = data.get("record")
        if not isinstance(record, dict):
            raise ValueError("a calibration message needs its 'record'")
        made = CalibrationRecord.from_dict(record)
        person = self._ensure(st, made.person) or made.person
        detail = {**made.detail, "machine": st.name, "hub": st.hub}
        self.store.add_calibration(replace(made, person=person, detail=detail))
        self.bus.publish({"type": "calibration", "machine": st.name, "person": person})

    def _live(self, st: RemoteMachine, message: dict[str, Any]) -> None:
        self.bus.publish(message)
        self.bus.publish(st.tile())

    def _ensure(self, st: RemoteMachine, person: str | None) -> str | None:
        with contextlib.suppress(NotFoundError):
            self.store.get_machine(st.name)
            return self.store.ensure_person(person).name if person else None
        self.store.add_machine(st.name, notes=f"hub {st.hub}, machine {st.machine_id} (MQTT)")
        return self.store.ensure_person(person).name if person else None

    def _new_session(
        self,
        st: RemoteMachine,
        remote: int,
        start_id: str,
        person: str | None,
        t_ms: Any,
        config: dict[str, Any] | None,
    ) -> int:
        name = self._ensure(st, person)
        sid = self.store.start_session(
            name,
            st.name,
            started_at=_when(t_ms),
            device_name=str(st.state.get("device") or ""),
            device_url=f"mqtt:{st.hub}/{st.machine_id}",
            config=config,
        )
        self.ledger.link(st.hub, remote, start_id, sid)
        st.session_id = sid
        self._resumed.add(sid)
        return sid

    def _session_for(self, st: RemoteMachine, remote: int, data: dict[str, Any]) -> int:
        known = self.ledger.session(st.hub, remote)
        if known is not None:
            sid = known[1]
            if sid not in self._resumed:
                # Started before this collector did (it restarted): it is ours again.
                self._resumed.add(sid)
                if self.store.resume_session(sid):
                    st.session_id = sid
            return sid
        # Joined in the middle (the start came before this collector existed): the limit is
        # the one its machine's state shows.
        limit = _number(st.state.get("limit_mm"))
        return self._new_session(
            st,
            remote,
            f"joined:{data['id']}",
            st.person,
            data.get("t_wall_ms"),
            None if limit is None else {"rom_limit_mm": limit},
        )

    def _session(self, st: RemoteMachine, mid: str, remote: int, data: dict[str, Any]) -> None:
        event = data.get("event")
        if event == "start":
            known = self.ledger.session(st.hub, remote)
            if known is not None and known[0].startswith("joined:"):
                # Its reps came first (order across topics is not guaranteed): that session.
                self.ledger.link(st.hub, remote, mid, known[1])
                st.session_id = known[1]
            else:
                person = data.get("person")
                name = str(person) if person else None
                config = _config(data.get("config"))
                self._new_session(st, remote, mid, name, data.get("t_wall_ms"), config)
        elif event == "end":
            sid = self._session_for(st, remote, data)
            figures = {
                k: data.get(k)
                for k in ("reps", "alerts", "lift_off_reps", "rom_exceeded_reps", "max_depth_mm")
            }
            summary = {
                "ended_because": data.get("reason"),
                "hub": {"hub": st.hub, "machine": st.machine, "session_id": remote, **figures},
            }
            self.store.end_session(sid, summary, ended_at=_when(data.get("t_wall_ms")))
            if st.session_id == sid:
                st.session_id = None
        else:
            raise ValueError(f"session event must be start or end, not {event!r}")
        self._live(
            st,
            {"type": "session", "event": event, "machine": st.name, "session_id": st.session_id},
        )


_CONFIG_FIELDS: Final = frozenset(f.name for f in fields(DetectorConfig))


def _config(value: Any) -> dict[str, Any] | None:
    """The detector settings a hub's session runs with (its fields only), or None."""
    if not isinstance(value, dict):
        return None
    return {k: v for k, v in value.items() if k in _CONFIG_FIELDS}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _when(t_ms: Any) -> datetime:
    try:
        return datetime.fromtimestamp(float(t_ms) / 1000.0, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return datetime.now(UTC)


def _alert(data: dict[str, Any], sid: int) -> dict[str, Any]:
    return {
        "id": data.get("id"),
        "type": data.get("type"),
        "word": data.get("word") or str(data.get("type", "")).upper(),
        "loud": bool(data.get("loud")),
        "message": data.get("message"),
        "rep": data.get("rep"),
        "t_s": data.get("t_s"),
        "t_wall_ms": data.get("t_wall_ms") or time.time() * 1000,
        "session_id": sid,
    }
