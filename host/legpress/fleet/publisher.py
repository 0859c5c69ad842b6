"""``legpress serve --mqtt``: a hub's machines on the broker, and commands back (docs/mqtt.md).

:class:`HubPublisher` reads the hub's :class:`~legpress.hub.bus.Broadcast` and publishes per
machine its state and summary (retained, the latest only) and every alert, rep, session
start/end and calibration (QoS 1, queued while the broker is away, each with a unique ``id``).
The hub's status topic says ``online``; the broker's last will turns it ``offline`` if the hub
vanishes.

Commands (``start``, ``stop``, ``assign``, ``calibrate``, ``tare``, ``zero``) are taken only
when the hub connects with broker credentials; each gets a reply; a malformed one is answered
with what was wrong, logged and counted (:attr:`HubPublisher.commands_rejected`), never raised.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from legpress.errors import LegPressError, UsageError
from legpress.fleet.config import BrokerConfig, slug
from legpress.fleet.discovery import DEFAULT_DISCOVERY_PREFIX, discovery_messages
from legpress.fleet.link import BrokerLink
from legpress.fleet.topics import (
    OFFLINE,
    ONLINE,
    VERSION,
    Command,
    Topics,
    dumps,
    parse_command,
    parse_person_text,
    parse_topic,
)
from legpress.hub.hub import Hub
from legpress.version import __version__

__all__ = ["HubPublisher", "PublisherConfig"]

_log = logging.getLogger(__name__)

#: Tile fields whose change is published at once; the others (depth, phase, counters) at most
#: every ``state_period_s``.
_SLOW_FIELDS: Final = (
    "connected",
    "link",
    "error",
    "faults",
    "person",
    "occupied",
    "session_id",
    "reps",
    "limit_mm",
    "warn_mm",
    "lift_depth_mm",
    "calibration_note",
    "calibration",
    "calibrating",
    "setup",
)
_STATE_FIELDS: Final = (
    *_SLOW_FIELDS,
    "device",
    "depth_mm",
    "max_depth_mm",
    "phase",
    "samples",
    "lost_packets",
)


@dataclass(frozen=True, slots=True)
class PublisherConfig:
    """How a hub publishes.

    Attributes:
        name: the hub's name ("North"); its id (a slug of it) is the topic level and the
            client id, so every hub on one broker needs its own name.
        discovery_prefix: Home Assistant's discovery prefix (None: no discovery messages).
        state_period_s: the shortest interval between two state messages of a machine whose
            only change is its depth or counters.
        info_period_s: the hub's own message is refreshed this often (its counters).
    """

    name: str
    discovery_prefix: str | None = DEFAULT_DISCOVERY_PREFIX
    state_period_s: float = 1.0
    info_period_s: float = 30.0

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise UsageError("the hub needs a name for MQTT (--hub-name)")
        if not self.state_period_s > 0 or not self.info_period_s > 0:
            raise UsageError("MQTT periods must be positive")

    @property
    def hub_id(self) -> str:
        """The hub's topic level."""
        return slug(self.name)


@dataclass(slots=True)
class _Figures:
    """Summary figures of one machine since the hub started."""

    sessions: int = 0
    reps: int = 0
    alerts: int = 0
    lift_off_reps: int = 0
    rom_exceeded_reps: int = 0
    last_session: dict[str, Any] | None = None
    open: dict[str, Any] = field(default_factory=dict)
    calibrations: int = 0
    last_calibration: dict[str, Any] | None = None


class HubPublisher:
    """Publish ``hub`` on the broker and take commands for it.

    Args:
        hub: the site's hub (its bus is read; commands call its methods).
        broker: the broker.
        config: the hub's name and periods.
    """

    def __init__(self, hub: Hub, broker: BrokerConfig, config: PublisherConfig) -> None:
        self.hub = hub
        self.broker = broker
        self.config = config
        self.topics = Topics(broker.prefix, config.hub_id)
        self.accepts_commands = bool(broker.username)
        self.commands_accepted = 0
        self.commands_rejected = 0
        self.bus_dropped = 0
        self._started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self._state: dict[str, dict[str, Any]] = {}  # machine id -> last tile
        self._sent_state: dict[str, tuple[tuple[Any, ...], tuple[Any, ...]]] = {}
        self._sent_at: dict[str, float] = {}
        self._figures: dict[str, _Figures] = {st.id: _Figures() for st in hub.stations.values()}
        subs: list[str] = []
        if self.accepts_commands:
            subs += [self.topics.commands, self.topics.person_set]
        if config.discovery_prefix:
            subs.append(f"{config.discovery_prefix}/status")
        self.link = BrokerLink(
            broker,
            f"legpress-hub-{config.hub_id}",
            will=(self.topics.status, OFFLINE.encode()),
            subscriptions=tuple(subs),
            on_connect=self._on_connect,
            on_message=self._on_message,
        )

    # -- running ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Publish until cancelled; then say ``offline`` and disconnect cleanly."""
        if not self.accepts_commands:
            _log.warning(
                "MQTT: no broker user in the URL, so this hub takes no commands over MQTT "
                "(give mqtt://USER:PASSWORD@HOST/... to allow them)"
            )
        with self.hub.bus.subscribe() as sub:
            self.link.start()
            last_info = time.monotonic()
            try:
                while True:
                    # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancel.
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(self.config.state_period_s):
                            message = await sub.get()
                        self._handle(message)
                    self.bus_dropped = sub.dropped
                    now = time.monotonic()
                    self._flush_states(now)
                    if now - last_info >= self.config.info_period_s:
                        last_info = now
                        self._publish_info()
            finally:
                # What the hub said while stopping (sessions ended) goes out before "offline".
                while sub.pending():
                    self._handle(await sub.get())
                await self.link.stop(last=(self.topics.status, OFFLINE.encode()))

    def describe(self) -> str:
        """One line for the start-up banner."""
        takes = "takes commands" if self.accepts_commands else "no commands (no broker user)"
        return f"MQTT: hub {self.config.hub_id!r} on {self.broker.url} ({takes})"

    def info(self) -> dict[str, Any]:
        """The hub's own message (``P/H/hub``): machines, broker link and command counters."""
        return {
            "v": VERSION,
            "hub": self.config.hub_id,
            "name": self.config.name,
            "legpress": __version__,
            "started_at": self._started_at,
            "machines": [{"id": st.id, "name": st.name} for st in self.hub.stations.values()],
            "accepts_commands": self.accepts_commands,
            "commands": {"accepted": self.commands_accepted, "rejected": self.commands_rejected},
            "broker": self.link.stats().to_dict(),
            "bus_dropped": self.bus_dropped,
            "store_errors": self.hub.store_errors,
            "t_wall_ms": _now_ms(),
        }

    # -- out ----------------------------------------------------------------------------------

    def _on_connect(self) -> None:
        """(Re)connected: say online, then the latest of everything that is not queued."""
        self.link.publish(self.topics.status, ONLINE.encode(), retain=True)
        self._publish_info()
        self._publish_discovery()
        for st in self.hub.stations.values():
            self._state[st.id] = st.tile()
            self._publish_state(st.id, time.monotonic())
            self._publish_summary(st.id)

    def _publish_info(self) -> None:
        self.link.publish(self.topics.info, dumps(self.info()), retain=True, queue=False)

    def _publish_discovery(self) -> None:
        prefix = self.config.discovery_prefix
        if not prefix:
            return
        for topic, payload in discovery_messages(
            prefix, self.topics, self.config.name, list(self.hub.stations.values())
        ):
            self.link.publish(topic, dumps(payload), retain=True, queue=False)

    def _base(self, machine_id: str) -> dict[str, Any]:
        st = self.hub.station(machine_id)
        return {"v": VERSION, "hub": self.config.hub_id, "machine": st.name, "machine_id": st.id}

    def _handle(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        try:
            st = self.hub.station(str(message.get("machine", "")))
        except LegPressError:
            return
        mid = st.id
        if kind == "tile":
            self._state[mid] = message
            self._flush_state(mid, time.monotonic())
        elif kind == "alert":
            self._alert(mid, message["alert"])
        elif kind == "rep":
            self._rep(mid, message)
        elif kind == "session":
            self._session(mid, message)
        elif kind == "calibration":
            self._calibration(mid, message)

    @staticmethod
    def _keys(tile: dict[str, Any]) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
        alert = tile.get("alert") or {}
        slow = (*(tile.get(f) for f in _SLOW_FIELDS), alert.get("id"))
        return slow, tuple(tile.get(f) for f in _STATE_FIELDS)

    def _flush_state(self, mid: str, now: float) -> None:
        tile = self._state.get(mid)
        if tile is None:
            return
        slow, full = self._keys(tile)
        sent = self._sent_state.get(mid)
        recent = now - self._sent_at.get(mid, 0.0) < self.config.state_period_s
        if sent is not None and sent[0] == slow and (full == sent[1] or recent):
            return
        self._publish_state(mid, now)

    def _flush_states(self, now: float) -> None:
        for mid in self._state:
            self._flush_state(mid, now)

    def _publish_state(self, mid: str, now: float) -> None:
        tile = self._state.get(mid)
        if tile is None:
            return
        payload = self._base(mid)
        for f in _STATE_FIELDS:
            payload[f] = tile.get(f)
        if isinstance(payload["depth_mm"], float):
            payload["depth_mm"] = round(payload["depth_mm"], 1)
        payload["alert"] = tile.get("alert")
        payload["t_wall_ms"] = _now_ms()
        if self.link.publish(
            self.topics.machine(mid, "state"), dumps(payload), retain=True, queue=False
        ):
            self._sent_state[mid] = self._keys(tile)
            self._sent_at[mid] = now

    def _publish_summary(self, mid: str) -> None:
        fig = self._figures.setdefault(mid, _Figures())
        payload = self._base(mid) | {
            "since": self._started_at,
            "sessions": fig.sessions,
            "reps": fig.reps,
            "alerts": fig.alerts,
            "lift_off_reps": fig.lift_off_reps,
            "rom_exceeded_reps": fig.rom_exceeded_reps,
            "last_session": fig.last_session,
            "calibrations": fig.calibrations,
            "last_calibration": fig.last_calibration,
            "t_wall_ms": _now_ms(),
        }
        self.link.publish(
            self.topics.machine(mid, "summary"), dumps(payload), retain=True, queue=False
        )

    def _alert(self, mid: str, alert: dict[str, Any]) -> None:
        fig = self._figures.setdefault(mid, _Figures())
        if not alert.get("calibration"):  # a calibration's alerts are asked for, not training
            fig.alerts += 1
            if fig.open:
                fig.open["alerts"] = fig.open.get("alerts", 0) + 1
        payload = self._base(mid) | {
            "id": alert.get("id") or uuid.uuid4().hex,
            "session_id": alert.get("session_id"),
            "type": alert.get("type"),
            "word": alert.get("word"),
            "loud": alert.get("loud"),
            "message": alert.get("message"),
            "rep": alert.get("rep"),
            "t_s": alert.get("t_s"),
            "t_wall_ms": alert.get("t_wall_ms") or _now_ms(),
            "calibration": bool(alert.get("calibration")),
        }
        self.link.publish(self.topics.machine(mid, "event"), dumps(payload))

    def _rep(self, mid: str, message: dict[str, Any]) -> None:
        rep = dict(message.get("rep") or {})
        fig = self._figures.setdefault(mid, _Figures())
        calibration = bool(message.get("calibration"))
        if not calibration:
            self._count_rep(fig, rep)
        payload = self._base(mid) | {
            "id": message.get("id") or uuid.uuid4().hex,
            "session_id": message.get("session_id"),
            "calibration": calibration,
            "rep": rep,
            "t_wall_ms": _now_ms(),
        }
        self.link.publish(self.topics.machine(mid, "rep"), dumps(payload))
        self._publish_summary(mid)

    @staticmethod
    def _count_rep(fig: _Figures, rep: dict[str, Any]) -> None:
        fig.reps += 1
        fig.lift_off_reps += bool(rep.get("lift_off"))
        fig.rom_exceeded_reps += bool(rep.get("rom_exceeded"))
        if fig.open:
            fig.open["reps"] = fig.open.get("reps", 0) + 1
            fig.open["lift_off_reps"] = fig.open.get("lift_off_reps", 0) + bool(
                rep.get("lift_off")
            )
            fig.open["rom_exceeded_reps"] = fig.open.get("rom_exceeded_reps", 0) + bool(
                rep.get("rom_exceeded")
            )
            depth = rep.get("depth_mm")
            if isinstance(depth, (int, float)) and depth > (fig.open.get("max_depth_mm") or 0):
                fig.open["max_depth_mm"] = round(float(depth), 1)

    def _session(self, mid: str, message: dict[str, Any]) -> None:
        fig = self._figures.setdefault(mid, _Figures())
        event = message.get("event")
        now = _now_ms()
        calibration = bool(message.get("calibration"))
        payload = self._base(mid) | {
            "id": uuid.uuid4().hex,
            "event": event,
            "session_id": message.get("session_id"),
            "calibration": calibration,
            "person": message.get("person"),
            "reason": message.get("reason"),
            "t_s": message.get("t_s"),
            "t_wall_ms": now,
        }
        if calibration:
            # Published, but not a training session: the figures leave it out.
            if event == "end":
                payload["reps"] = message.get("reps")
        elif event == "start":
            payload["config"] = message.get("config")  # the collector keeps the limit
            fig.sessions += 1
            fig.open = {
                "session_id": message.get("session_id"),
                "person": message.get("person"),
                "started_wall_ms": now,
                "reps": 0,
                "alerts": 0,
                "lift_off_reps": 0,
                "rom_exceeded_reps": 0,
                "max_depth_mm": None,
            }
        elif event == "end":
            figures = {
                "reps": message.get("reps", fig.open.get("reps", 0)),
                "alerts": message.get("alerts", fig.open.get("alerts", 0)),
                "lift_off_reps": fig.open.get("lift_off_reps", 0),
                "rom_exceeded_reps": fig.open.get("rom_exceeded_reps", 0),
                "max_depth_mm": fig.open.get("max_depth_mm"),
            }
            payload |= figures
            fig.last_session = {
                "session_id": message.get("session_id"),
                "person": message.get("person"),
                "started_wall_ms": fig.open.get("started_wall_ms"),
                "ended_wall_ms": now,
                "ended_because": message.get("reason"),
                **figures,
            }
            fig.open = {}
        self.link.publish(self.topics.machine(mid, "session"), dumps(payload))
        self._publish_summary(mid)

    def _calibration(self, mid: str, message: dict[str, Any]) -> None:
        fig = self._figures.setdefault(mid, _Figures())
        fig.calibrations += 1
        now = _now_ms()
        fig.last_calibration = {
            k: message.get(k)
            for k in ("person", "lift_off_depth_mm", "learned_limit_mm", "message")
        } | {"t_wall_ms": now}
        payload = self._base(mid) | {
            "id": message.get("id") or uuid.uuid4().hex,
            "person": message.get("person"),
            "message": message.get("message"),
            "record": message.get("record"),
            "t_wall_ms": now,
        }
        self.link.publish(self.topics.machine(mid, "calibration"), dumps(payload))
        self._publish_summary(mid)

    # -- in -----------------------------------------------------------------------------------

    def _on_message(self, topic: str, payload: bytes, retained: bool) -> None:
        prefix = self.config.discovery_prefix
        if prefix and topic == f"{prefix}/status":
            if payload.strip().lower() == ONLINE.encode():
                self._publish_discovery()  # Home Assistant (re)started: tell it again
                for mid in self._state:
                    self._publish_state(mid, time.monotonic())
            return
        route = parse_topic(self.broker.prefix, topic)
        if route is None or route.hub != self.config.hub_id or route.machine is None:
            return
        if route.kind not in ("cmd", "person/set"):
            return
        if not self.accepts_commands or not payload:
            return  # an empty message only clears a retained one
        self._command(route.machine, route.kind, payload, retained)

    def _command(self, machine_id: str, kind: str, payload: bytes, retained: bool) -> None:
        command: Command | None = None
        reply: dict[str, Any] = {"v": VERSION, "hub": self.config.hub_id, "machine_id": machine_id}
        try:
            if retained:
                raise UsageError(
                    "retained commands are ignored (they would run again on every reconnect): "
                    "publish the command without the retain flag"
                )
            command = parse_command(payload) if kind == "cmd" else parse_person_text(payload)
            reply |= {"id": command.id, "command": command.command}
            st = self.hub.station(machine_id)
            reply["machine"] = st.name
            if command.command == "start":
                self.hub.start(st.name)
            elif command.command == "stop":
                self.hub.stop(st.name)
            elif command.command == "calibrate":
                self.hub.calibrate(st.name)
            elif command.command == "tare":
                self.hub.tare(st.name)
            elif command.command == "zero":
                self.hub.zero(st.name)
            else:
                self.hub.assign(st.name, command.person)
                reply["person"] = self.hub.station(st.name).person
        except LegPressError as exc:
            self.commands_rejected += 1
            reply |= {"ok": False, "error": str(exc)}
            reply.setdefault("id", command.id if command else None)
            _log.warning(
                "MQTT: command for %s/%s refused: %s (%d refused so far)",
                self.config.hub_id,
                machine_id,
                exc,
                self.commands_rejected,
            )
        else:
            self.commands_accepted += 1
            reply["ok"] = True
            _log.info("MQTT: %s on %s", command.command, machine_id)
        reply["t_wall_ms"] = _now_ms()
        self.link.publish(self.topics.machine(machine_id, "reply"), dumps(reply))
        self._publish_info()


def _now_ms() -> int:
    return int(time.time() * 1000)
