"""The site hub: every configured machine kept connected, detected, stored and published.

One :class:`Station` per machine runs the library's device loop (:func:`legpress.open_device`,
which reconnects a dropped BLE or serial link by itself) and reopens the device with backoff
when it fails or ends. Samples go through :class:`~legpress.hub.presence.Presence` (someone
sat down, someone left) and, while a session is open, a :class:`~legpress.detect.Pipeline`
configured with that person's limit. Sessions, reps and alerts go into the
:class:`~legpress.storage.store.SessionStore`; every change is published on a
:class:`~legpress.hub.bus.Broadcast` as JSON-ready messages for the dashboard (and MQTT):

- ``{"type": "tile", "machine": NAME, ...}``: a machine's state (see :meth:`Station.tile`),
  at most every ``push_period_s`` per machine;
- ``{"type": "alert", "machine": NAME, "alert": {...}}``: at once, when it fires;
- ``{"type": "rep", "machine": NAME, "rep": {...}}`` and ``{"type": "session", ...}``.

Everything runs on one asyncio loop, except the store's slow part: a session is started on the
loop (its id is needed at once), and its reps, alerts and end are written in order by a thread
of the hub's own (:class:`StoreWriter`), because each commit waits for the disk (``fsync``,
milliseconds on a busy one) and the loop decodes every machine.
"""

from __future__ import annotations

import asyncio
import logging
import math
import queue
import re
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import numpy as np

from legpress.closing import stop_task
from legpress.detect import DetectorConfig, Event, Pipeline, Rep, learn_profile
from legpress.detect.events import EventType
from legpress.device import (
    Connected,
    Device,
    Disconnected,
    FaultEvent,
    InfoEvent,
    open_device,
)
from legpress.dsp.calibration import CalibratedBlock, Calibration, tare_check
from legpress.errors import ConfigError, LegPressError, NotFoundError, UsageError
from legpress.hub.bus import Broadcast
from legpress.hub.presence import Presence, PresenceConfig, Transition
from legpress.protocol.decoder import SampleBlock
from legpress.protocol.messages import DeviceInfo
from legpress.session import calibration_note, calibration_result, uncalibrated_note
from legpress.storage.store import CalibrationRecord, SessionStore
from legpress.storage.store.queued import call_waiting_out_busy

__all__ = ["Hub", "HubConfig", "MachineSpec", "Station", "StoreWriter"]

_log = logging.getLogger(__name__)
_CONTACT_SCALE_COUNTS: Final = 1500.0  # pad strip scale without a baseline


@dataclass(frozen=True, slots=True)
class MachineSpec:
    """One machine of the site.

    Attributes:
        name: what people call it ("Leg press 2"); unique, case-insensitive.
        url: its device URL (``ble:…``, ``serial:…``, ``sim:…``, ``replay:…``).
        person: who is on it unless someone else is picked (None: anonymous).
    """

    name: str
    url: str
    person: str | None = None

    def __post_init__(self) -> None:
        if not self.name.strip():
            raise ConfigError("a machine needs a name")
        if not self.url.strip():
            raise ConfigError(f"machine {self.name!r} needs a device URL")


@dataclass(frozen=True, slots=True)
class HubConfig:
    """How the hub runs.

    Attributes:
        machines: the site's machines.
        record_dir: each connection's raw stream is recorded here (reports draw from it);
            None records nothing.
        presence: when sessions start and end.
        reconnect_min_s: the first wait before reopening a failed or ended device.
        reconnect_max_s: the longest wait (it doubles after each failure).
        push_period_s: the shortest interval between two tile updates of one machine.
    """

    machines: tuple[MachineSpec, ...] = ()
    record_dir: Path | None = None
    presence: PresenceConfig = field(default_factory=PresenceConfig)
    reconnect_min_s: float = 1.0
    reconnect_max_s: float = 30.0
    push_period_s: float = 0.1

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for m in self.machines:
            key = m.name.strip().casefold()
            if key in seen:
                raise ConfigError(f"two machines are named {m.name!r}: give each its own name")
            seen.add(key)
        if not 0 < self.reconnect_min_s <= self.reconnect_max_s:
            raise ConfigError("reconnect_min_s must be positive and at most reconnect_max_s")
        if not self.push_period_s > 0:
            raise ConfigError("push_period_s must be positive")


@dataclass(slots=True)
class _CalibrationRun:
    """A calibration asked for on a machine: whose, how many slow reps, the learned limit's
    margin; ``started`` once its session is open."""

    person: str
    reps: int
    margin_mm: float
    started: bool = False


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "machine"


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


class Station:
    """One machine in the hub: its connection, its detection, its open session.

    Use through :class:`Hub`.
    """

    def __init__(self, hub: Hub, spec: MachineSpec) -> None:
        self.hub = hub
        self.spec = spec
        self.name = spec.name.strip()
        self.id = _slug(self.name)
        self.url = spec.url.strip()
        self.person: str | None = spec.person
        self.connected = False
        self.link = "not connected yet"
        self._played = False  # a replay: reached the end of its recording
        self.error = ""
        self.device_name = ""
        self.faults = ""
        self.session_id: int | None = None
        self.session_reason = ""
        self.reps = 0
        self.depth_mm: float | None = None
        self.max_depth_mm: float | None = None
        self.limit_mm: float | None = None
        self.warn_mm: float | None = None
        self.lift_depth_mm: float | None = None
        # Said when this session's person has no calibration, or one made on another machine.
        self.calibration_note: str | None = None
        # A calibration on this machine, in words: running, what it learned, or why it stopped.
        self.calibration: str | None = None
        self._calibrating: _CalibrationRun | None = None
        # Taring the pad or zeroing the sled from the hub, in words: asked, done, or failed.
        self.setup: str | None = None
        self._setup_task: asyncio.Task[None] | None = None
        self._device: Device | None = None  # the open device, while connected
        self._still_mm = math.nan  # where the sled came to rest, and since when (stream time)
        self._still_since_s = math.inf
        self.phase = "top"
        self._last_load: np.ndarray | None = None  # the latest sample's cells (the tile's pad)
        self.alert: dict[str, Any] | None = None
        self.samples = 0
        self.lost_packets = 0
        self.connections = 0
        self.attempts = 0
        self.presence = Presence(hub.config.presence)
        self._pipeline: Pipeline | None = None
        self._config = DetectorConfig()
        self._info: DeviceInfo | None = None
        self._calibration: Calibration | None = None
        self._recording: Path | None = None
        self._t_s = 0.0
        self._dirty = True
        self._last_push = 0.0
        self._session_reps: list[Rep] = []
        self._session_events: list[Event] = []
        self._force: str | None = None  # "start" / "stop" asked by hand

    # -- state -------------------------------------------------------------------------------

    def tile(self) -> dict[str, Any]:
        """The machine's state for a dashboard tile, JSON-ready.

        Keys: ``machine`` (its name), ``id`` (a slug of the name, for URLs and topics),
        ``url``, ``connected``, ``link``, ``error``, ``device``, ``faults``,
        ``person``, ``occupied``, ``session_id``, ``reps``, ``depth_mm``, ``max_depth_mm``,
        ``limit_mm``, ``warn_mm``, ``lift_depth_mm`` (the sled depth at which this person's
        lower back lifted off the pad: the shallowest of their last 5 lift-offs in this session
        and their calibration, None before any), ``calibration_note`` (set when this person
        has never been calibrated, or their calibration in force was made on another machine,
        whose sled depths differ), ``calibration`` (a calibration on this machine, in words:
        the rep it is at, what it learned, or why it stopped; None when there is none),
        ``calibrating`` (True from the moment one is asked for until it ends), ``setup``
        (taring the pad or zeroing the sled from the hub, in words; None before either),
        ``phase``,
        ``pad`` (per cell, 1.0 = the rep's
        baseline load, None for an unloaded or dead cell), ``alert`` (the last one, or None),
        ``samples``, ``lost_packets``.
        """
        return {
            "type": "tile",
            "machine": self.name,
            "id": self.id,
            "url": self.url,
            "connected": self.connected,
            "link": self.link,
            "error": self.error,
            "device": self.device_name,
            "faults": self.faults,
            "person": self.person,
            "occupied": self.presence.occupied,
            "session_id": self.session_id,
            "reps": self.reps,
            "depth_mm": self.depth_mm,
            "max_depth_mm": self.max_depth_mm,
            "limit_mm": self.limit_mm,
            "warn_mm": self.warn_mm,
            "lift_depth_mm": self.lift_depth_mm,
            "calibration_note": self.calibration_note,
            "calibration": self.calibration,
            "calibrating": self._calibrating is not None,
            "setup": self.setup,
            "phase": self.phase,
            "pad": self._pad(),
            "alert": self.alert,
            "samples": self.samples,
            "lost_packets": self.lost_packets,
        }

    def _pad(self) -> list[float | None]:
        """The pad strip of the latest sample, per cell: 1.0 = the rep's baseline load, None
        for an unloaded or dead cell (made when a tile is, not for every packet)."""
        last = self._last_load
        if last is None:
            return []
        base = self._pipeline.analyzer.baseline if self._pipeline is not None else None
        pad: list[float | None] = []
        for c in range(len(last)):
            if base is not None and c < len(base):
                pad.append(round(float(last[c] / base[c]), 3) if base[c] > 1.0 else None)
            else:
                pad.append(round(min(float(last[c]) / _CONTACT_SCALE_COUNTS, 2.0), 3))
        return pad

    def _changed(self) -> None:
        self._dirty = True

    def push(self) -> None:
        """Publish the tile now (a rep, a session starting or ending)."""
        self._dirty = False
        self._last_push = time.monotonic()
        self.hub.bus.publish(self.tile())

    def maybe_push(self, now_s: float) -> None:
        """Publish the tile if it changed and the push period has passed."""
        if self._dirty and now_s - self._last_push >= self.hub.config.push_period_s:
            self._dirty = False
            self._last_push = now_s
            self.hub.bus.publish(self.tile())

    # -- the connection loop -------------------------------------------------------------------

    async def run(self) -> None:
        """Keep the machine connected until cancelled."""
        try:
            await self._keep_connected()
        except asyncio.CancelledError:
            if self._setup_task is not None:
                await stop_task(self._setup_task)
            self._end_session("hub stopped")
            # The last word of a stopped hub (MQTT keeps it retained): nothing is live.
            self.connected = False
            self.presence.reset()
            self.link = "hub stopped"
            self.push()
            raise

    async def _keep_connected(self) -> None:
        cfg = self.hub.config
        delay = cfg.reconnect_min_s
        while True:
            got_data = False
            try:
                got_data = await self._connection()
            except LegPressError as exc:
                self.error = str(exc)
                _log.warning("%s: %s", self.name, exc)
            except Exception as exc:  # a bug must not take the other machines down
                self.error = f"internal error: {type(exc).__name__}: {exc}"
                _log.exception("%s: internal error", self.name)
            self._end_session("device closed")
            self.connected = False
            if self._played:
                # A recording is played once: reopening it would store it again and again.
                self.presence.reset()
                self.link = "finished: the recording has been played"
                self.push()
                return
            if got_data:
                delay = cfg.reconnect_min_s
            self.link = f"reconnecting in {delay:g} s"
            self._changed()
            self.maybe_push(time.monotonic())
            await asyncio.sleep(delay)
            if not got_data:
                delay = min(delay * 2, cfg.reconnect_max_s)

    def _record_path(self) -> Path | None:
        folder = self.hub.config.record_dir
        if folder is None:
            return None
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"{self.id}-{time.strftime('%Y%m%d-%H%M%S')}"  # unique: names may slug alike
        path = folder / f"{stem}.lprec"
        n = 1
        while path.exists():
            n += 1
            path = folder / f"{stem}-{n}.lprec"
        return path

    async def _connection(self) -> bool:
        self.attempts += 1
        record = self._record_path()
        self.link = "connecting"
        self._changed()
        async with open_device(
            self.url,
            record=record,
            header={"machine": self.name},
            **self.hub.device_options(self.url),
        ) as dev:
            self._device = dev
            try:
                return await self._stream(dev, record)
            finally:
                self._device = None

    async def _stream(self, dev: Device, record: Path | None) -> bool:
        """Take the open device's samples and events until it ends; whether any sample came."""
        got_data = False
        self._recording = record
        self._info = dev.info
        self.device_name = dev.info.name
        self._calibration = self.hub.calibration_for(self.name, dev.calibration())
        self.connections += 1
        self.connected = True
        self.error = ""
        self.link = "connected"
        self.presence.reset()
        self._changed()
        async for item in dev:
            if isinstance(item, SampleBlock):
                got_data = True
                self._samples(item, time.time())
            else:
                self._device_event(item)
            self.lost_packets = dev.stats.decoder.lost_packets
            self.maybe_push(time.monotonic())
        self._played = dev.ended and dev.link.scheme == "replay"
        return got_data

    def _device_event(self, item: object) -> None:
        if isinstance(item, Connected):
            self.connected = True
            self.link = "connected" + (f" (MTU {item.mtu})" if item.mtu else "")
        elif isinstance(item, Disconnected):
            self.connected = False
            self.link = f"lost ({item.reason}), reconnecting"
        elif isinstance(item, FaultEvent):
            self.faults = item.describe_active()
        elif isinstance(item, InfoEvent):
            self._info = item.info
            if self.session_id is not None:  # new rate or cells: detection restarts
                self._pipeline = self._make_pipeline()
        else:
            return
        self._changed()

    # -- samples -------------------------------------------------------------------------------

    def _samples(self, block: SampleBlock, t_wall_s: float) -> None:
        assert self._calibration is not None
        n = len(block)
        if not n:
            return
        cal = self._calibration.apply(block)
        self.samples += n
        start = 0
        if self._force is not None:
            force, self._force = self._force, None
            t0 = float(cal.t_s[0])
            if force == "start" and self.session_id is None:
                self.presence.reset(occupied=True, t_s=t0)
                self._start_session("started by hand", t0)
            elif force == "stop" and self.session_id is not None:
                self._analyze(cal, t_wall_s)
                self.presence.reset(occupied=False, t_s=t0, hold=True)
                self._end_session("stopped by hand")
                start = n
            elif force == "calibrate" and self._pipeline is not None:
                # The open session ends with this block; the calibration opens at the next.
                self._analyze(cal, t_wall_s)
                person = self.person
                self._end_session("calibration started")
                self.person, self._force, start = person, "calibrate", n
            elif force == "calibrate":
                self.presence.reset(occupied=True, t_s=t0)
                self._start_session("calibration", t0, calibrating=True)
        for tr in self.presence.feed(cal):
            if tr.kind == "sit":
                self._start_session(tr.reason, tr.t_s)
                start = tr.index
            else:
                self._analyze(cal.slice(start, tr.index + 1), t_wall_s)
                self._end_session(f"left ({tr.reason})", tr)
                start = tr.index + 1
        if start < n:
            self._analyze(cal.slice(start, n) if start else cal, t_wall_s)
        run = self._calibrating
        if run is not None and run.started and len(self._session_reps) >= run.reps:
            person = self.person
            self._end_session("calibration done")
            self.person = person
            # Their own session opens at once, with what was just learned.
            self._start_session("after calibration", float(cal.t_s[-1]))
        self._view(cal)

    def _analyze(self, cal: CalibratedBlock, t_wall_s: float) -> None:
        if self._pipeline is None or not len(cal):
            return
        for item in self._pipeline.analyzer.update(cal):
            if isinstance(item, Event):
                self._on_event(item, t_wall_s)
            else:
                self._on_rep(item)

    def _view(self, cal: CalibratedBlock) -> None:
        self._t_s = float(cal.t_s[-1])
        depth = float(cal.depth_mm[-1])
        self.depth_mm = _finite(depth)
        moved = np.abs(cal.depth_mm - self._still_mm) > _STILL_MM
        if moved.any() or not math.isfinite(self._still_mm):
            # At rest since the last sample that left the band (this one, if none is left).
            last = int(np.flatnonzero(moved)[-1]) if moved.any() else len(cal) - 1
            self._still_mm = depth
            self._still_since_s = float(cal.t_s[last])
        if self.session_id is not None:
            deepest = float(np.max(cal.depth_mm))
            if self.max_depth_mm is None or deepest > self.max_depth_mm:
                self.max_depth_mm = _finite(deepest)
        self._last_load = cal.load[-1]
        if self._pipeline is not None:
            self.phase = self._pipeline.analyzer.phase
        self._changed()

    def _on_event(self, ev: Event, t_wall_s: float) -> None:
        self._session_events.append(ev)
        try:
            kind = EventType(ev.type)
            word, loud = kind.alert, kind.loud
        except ValueError:
            word, loud = str(ev.type).upper(), False
        self.alert = {
            "id": uuid.uuid4().hex,
            "type": ev.type,
            "word": word,
            "loud": loud,
            "message": ev.message,
            "rep": ev.rep,
            "t_s": ev.t_s,
            "t_wall_ms": round(t_wall_s * 1000, 1),
            "session_id": self.session_id,
            "calibration": self._in_calibration,
        }
        # Published before it is stored: the person on the machine comes first.
        self.hub.bus.publish({"type": "alert", "machine": self.name, "alert": self.alert})
        self._changed()
        if self.session_id is not None:
            self.hub.store_later("add_event", self.session_id, ev)

    def _on_rep(self, rep: Rep) -> None:
        self._session_reps.append(rep)
        self.reps = len(self._session_reps)
        run = self._calibrating
        if run is not None and run.started and self.reps < run.reps:
            self.calibration = _calibration_running(run, self.reps)
        self._update_lift_depth()  # a rep's lift-off counts once the rep is over
        self.hub.bus.publish(
            {
                "type": "rep",
                "machine": self.name,
                "id": uuid.uuid4().hex,
                "session_id": self.session_id,
                "calibration": self._in_calibration,
                "rep": rep.to_dict(),
            }
        )
        self.push()
        if self.session_id is not None:
            self.hub.store_later("add_rep", self.session_id, rep)

    # -- sessions ------------------------------------------------------------------------------

    @property
    def _in_calibration(self) -> bool:
        """Whether the open session is a calibration's (its reps are not training)."""
        run = self._calibrating
        return run is not None and run.started and self._pipeline is not None

    def _make_pipeline(self) -> Pipeline:
        assert self._info is not None
        return Pipeline(self._info, self._calibration, self._config)

    def _update_lift_depth(self) -> None:
        lifted = self._pipeline.analyzer.lift_off_depth_mm if self._pipeline else None
        self.lift_depth_mm = None if lifted is None else _finite(round(lifted, 1))

    def _start_session(self, reason: str, t_s: float, calibrating: bool = False) -> None:
        self._config = self.hub.detector_config(self.person, self.name)
        run = self._calibrating
        if calibrating and run is not None:
            # What an earlier calibration learned helps this one see the lift-off; no ROM
            # alerts while the person is asked to go down to where the back lifts.
            self._config = replace(self._config, rom_limit_mm=None)
            run.started = True
            self.calibration = _calibration_running(run, 0)
            _log.info("%s: %s", self.name, self.calibration)
        self.calibration_note = None
        if self.person and not calibrating:
            self.calibration_note = (
                calibration_note(
                    self.person, self.name, self.hub.calibrated_on(self.person, self.name)
                )
                if self.hub.has_calibration(self.person)
                else uncalibrated_note(self.person, self.name, on_hub=True)
            )
            if self.calibration_note:
                _log.warning("%s: %s", self.name, self.calibration_note)
        self.limit_mm = self._config.rom_limit_mm
        self.warn_mm = (
            self.limit_mm - self._config.rom_warning_min_mm if self.limit_mm is not None else None
        )
        self._pipeline = self._make_pipeline()
        self._update_lift_depth()  # the calibrated one, if any
        self._session_reps = []
        self._session_events = []
        self.reps = 0
        self.max_depth_mm = None
        self.alert = None
        self.session_reason = reason
        # A calibration's reps go to the person's calibration history, not among their training
        # sessions (as with `legpress calibrate`; the raw stream is in the recording).
        sid = (
            None
            if calibrating
            else self.hub.store_call(
                self.hub.store.start_session,
                self.person,
                self.name,
                device_name=self.device_name,
                device_url=self.url,
                recording_path=self._recording,
                config=self._config,
                calibration=self._calibration,
            )
        )
        self.session_id = sid if isinstance(sid, int) else None
        self.hub.bus.publish(
            {
                "type": "session",
                "event": "start",
                "machine": self.name,
                "session_id": self.session_id,
                "calibration": calibrating,
                "person": self.person,
                "reason": reason,
                "t_s": t_s,
                "config": asdict(self._config),  # the limit and thresholds it runs with
            }
        )
        self.push()

    def _end_session(self, reason: str, tr: Transition | None = None) -> None:
        if self._pipeline is None:
            return
        run = self._calibrating
        calibrating = self._in_calibration  # read before it ends
        if run is not None and run.started:
            self._calibrating = None
            self.calibration = self._end_calibration(run, reason)
        elif run is None:
            self.calibration = None  # said until the session after it ends
        sid = self.session_id
        self._pipeline = None
        self.session_id = None
        self.phase = "top"
        summary = {
            "reps": len(self._session_reps),
            "ended_because": reason,
            "started_because": self.session_reason,
            "hub": {"machine": self.name},
            "link": {"samples": self.samples, "lost_packets": self.lost_packets},
        }
        if sid is not None:
            self.hub.store_later("end_session", sid, summary)
        self.hub.bus.publish(
            {
                "type": "session",
                "event": "end",
                "machine": self.name,
                "session_id": sid,
                "calibration": calibrating,
                "person": self.person,
                "reason": reason,
                "reps": len(self._session_reps),
                "alerts": len(self._session_events),
                "t_s": tr.t_s if tr is not None else self._t_s,
            }
        )
        self.person = self.hub.default_person(self.name)  # the next one is someone else
        self.limit_mm = self.warn_mm = self.lift_depth_mm = None
        self.calibration_note = None
        self.push()

    # -- commands ------------------------------------------------------------------------------

    def assign(self, person: str | None) -> None:
        """Put ``person`` (None: nobody known) on the machine; an open session ends and the
        person's own session starts at the next sample, with their limit (a calibration
        asked for and not yet begun is called off)."""
        self._call_off_calibration()
        self.person = person
        if self.session_id is not None or self._pipeline is not None:
            self._end_session("person changed")
            self.person = person
            self._force = "start"
        self._changed()

    def start(self) -> None:
        """Start a session at the next sample, whether or not someone was seen sitting."""
        self._force = "start"

    def calibrate(self, reps: int = 3, margin_mm: float = 20.0) -> None:
        """Calibrate the person on the machine from the next sample: an open session ends, and
        ``reps`` slow reps, each down to where the lower back starts to leave the pad, teach
        their lift-off depth, the limit ``margin_mm`` short of it, their floor and their clean
        share per depth (as ``legpress calibrate`` does), kept in their calibration history
        with this machine's name (the reps are not stored as a training session). Their own
        session then opens at once, with what was learned. Leaving the machine, ending the
        session or putting someone else on it stops the calibration, and nothing is learned.

        Raises:
            ConfigError: nobody named is on the machine, or ``reps``/``margin_mm`` out of range.
        """
        if not self.person:
            raise ConfigError(
                f"pick who is on {self.name} first: a calibration learns one person's lift-off "
                "depth"
            )
        if not 1 <= reps <= 20:
            raise ConfigError(f"a calibration takes 1 to 20 reps, not {reps}")
        if not 0 <= margin_mm < 200:
            raise ConfigError(f"the calibration margin must be 0 to 200 mm, not {margin_mm:g}")
        self._calibrating = _CalibrationRun(self.person, reps, margin_mm)
        self.calibration = (
            f"calibration of {self.person} starts at the next sample: {reps} slow reps, each "
            "down to where the lower back starts to leave the pad"
        )
        self._force = "calibrate"
        self._changed()

    def _end_calibration(self, run: _CalibrationRun, reason: str) -> str:
        """Learn and keep what the calibration session showed; the result in words."""
        reps = self._session_reps[: run.reps]
        if len(reps) < run.reps:
            text = (
                f"calibration of {run.person} stopped after {len(reps)} of {run.reps} reps "
                f"({reason}); nothing was learned"
            )
            _log.warning("%s: %s", self.name, text)
            return text
        assert self._pipeline is not None  # called by _end_session, before it drops it
        analyzer = self._pipeline.analyzer
        floors = list(analyzer.floors)
        # One per rep of this session's fresh analyzer: the calibration reps come first.
        shares = list(analyzer.rep_shares)[: run.reps]
        learned = learn_profile(
            run.person,
            reps,
            margin_mm=run.margin_mm,
            floors=floors,
            shares=shares,
            bin_mm=self._config.reference_bin_mm,
        )
        record = CalibrationRecord.learned(
            learned,
            reps,
            floors,
            machine=self.name,
            by="hub",
            recording=str(self._recording or ""),
        )
        if self.hub.store_call(self.hub.store.add_calibration, record) is None:
            text = f"calibration of {run.person} could not be stored (see the hub's log)"
            _log.error("%s: %s", self.name, text)
            return text
        text = f"calibrated {run.person}: {calibration_result(learned)}"
        _log.info("%s: %s", self.name, text)
        self.hub.bus.publish(
            {
                "type": "calibration",
                "machine": self.name,
                "id": uuid.uuid4().hex,
                "person": run.person,
                "lift_off_depth_mm": learned.lift_off_depth_mm,
                "learned_limit_mm": learned.learned_limit_mm,
                "message": text,
                "record": record.to_dict(),
            }
        )
        return text

    def tare(self) -> None:
        """Tare the back pad from the hub: with nobody on it, each cell's reading now becomes
        its zero (on the device, which keeps it, and here). An open session ends first. The
        tile's ``setup`` says when it is done, with the readings, or why it failed.

        Raises:
            UsageError: the machine is not connected, the sled is away from the top (someone is
                on the machine), or a tare or zero is already under way.
        """
        away = self.depth_mm is not None and self.depth_mm > _TOP_MM
        self._begin_setup(
            "tare the pad",
            f"{self.name}'s sled is at {self.depth_mm or 0:.0f} mm, not at the top: someone is "
            "on the machine. Tare the pad with nobody on it"
            if away
            else "",
            f"taring {self.name}'s pad: keep everyone off it",
            self._tare,
        )

    def zero(self) -> None:
        """Zero the sled from the hub: where it rests now becomes the top (0 mm), on the device
        (which keeps it). Someone sits with the sled at the top, knees slightly bent. An open
        session ends first. The tile's ``setup`` says when it is done, or why it failed.

        Raises:
            UsageError: the machine is not connected, the sled has not been still for
                half a second, or a tare or zero is already under way.
        """
        moving = not self._t_s - self._still_since_s >= _STILL_S
        self._begin_setup(
            "zero the sled",
            f"{self.name}'s sled is moving: hold it still at the top (knees slightly bent) "
            "and zero it again"
            if moving
            else "",
            f"zeroing {self.name}'s sled: hold it still at the top",
            self._zero,
        )

    def _begin_setup(
        self, what: str, refused: str, doing: str, run: Callable[[Device], Awaitable[None]]
    ) -> None:
        """Start ``run`` on the open device, saying ``doing``; refused (the reason in
        ``refused``, if any) when not connected or when one is under way."""
        dev = self._device
        if dev is None or not self.connected:
            raise UsageError(f"{self.name} is not connected: it cannot {what} now")
        if self._setup_task is not None and not self._setup_task.done():
            raise UsageError(f"{self.name} is busy with {self.setup}; try again in a moment")
        if refused:
            raise UsageError(refused)
        self.setup = doing
        self._setup_task = asyncio.ensure_future(run(dev))
        self._changed()

    async def _tare(self, dev: Device) -> None:
        async def act() -> tuple[str, bool]:
            tare = await dev.tare()
            if self._calibration is not None:
                self._calibration = self._calibration.with_tare(tare)
            text = (
                f"{self.name}'s pad tared: each cell's unloaded reading, seat first, "
                f"{list(tare)} (ADC counts)"
            )
            warning = tare_check(tare)
            return (f"{text}; but {warning}", False) if warning else (text, True)

        await self._set_up("pad tared", f"{self.name}'s pad was not tared", act)

    async def _zero(self, dev: Device) -> None:
        async def act() -> tuple[str, bool]:
            before = await dev.zero()
            self._still_mm = math.nan
            return (
                f"{self.name}'s sled zeroed: the top is now 0 mm (it read {before} counts)",
                True,
            )

        await self._set_up("sled zeroed", f"{self.name}'s sled was not zeroed", act)

    async def _set_up(
        self, reason: str, failed: str, act: Callable[[], Awaitable[tuple[str, bool]]]
    ) -> None:
        """End the open session for ``reason``, run ``act`` (its outcome in words, and whether
        all is well) and say how it went in :attr:`setup`."""
        self._end_for_setup(reason)
        try:
            self.setup, fine = await act()
        except LegPressError as exc:
            self.setup, fine = f"{failed}: {exc}", False
        else:
            self.presence.reset(t_s=self._t_s)  # an untared pad may have looked loaded
        _log.log(logging.INFO if fine else logging.WARNING, "%s", self.setup)
        self._changed()

    def _end_for_setup(self, reason: str) -> None:
        """End the open session (and a calibration) before the pad or sled changes under it:
        its depths or loads would not compare across the change."""
        self._call_off_calibration()
        if self._pipeline is not None:
            person = self.person
            self._end_session(reason)
            self.person = person
        self.presence.reset(t_s=self._t_s, hold=True)  # none starts until it is done

    def stop(self) -> None:
        """End the open session at the next sample; none starts until the pad empties (a
        calibration asked for and not yet begun is called off)."""
        self._call_off_calibration()
        self._force = "stop"

    def _call_off_calibration(self) -> None:
        run = self._calibrating
        if run is not None and not run.started:
            self._calibrating = None
            self.calibration = None
            if self._force == "calibrate":
                self._force = None


_TOP_MM: Final = 30.0  # a sled this deep or deeper is not at the top: someone is on it
_STILL_MM: Final = 2.0  # a sled within this of where it came to rest is still
_STILL_S: Final = 0.5  # ... for this long, before it may be zeroed


def _calibration_running(run: _CalibrationRun, done: int) -> str:
    return (
        f"calibrating {run.person}: rep {done + 1} of {run.reps}, slowly down to where the "
        "lower back starts to leave the pad, then back up"
    )


class StoreWriter:
    """Writes to the hub's store from a thread of its own, in the order asked, on a
    connection of its own (the same database file).

    Args:
        hub: the hub (its store's file; failures counted in its ``store_errors``).

    Use :meth:`submit` from the event loop; :meth:`close` waits until everything submitted is
    written.
    """

    def __init__(self, hub: Hub) -> None:
        self._hub = hub
        self._queue: queue.SimpleQueue[tuple[str, tuple[Any, ...]] | None] = queue.SimpleQueue()
        self._closing_at: float | None = None  # when close() was called
        self._thread = threading.Thread(target=self._run, name="legpress-hub-store", daemon=True)
        self._thread.start()

    def submit(self, method: str, args: tuple[Any, ...]) -> None:
        """Call ``SessionStore.<method>(*args)`` on the writer's thread (never blocks)."""
        self._queue.put((method, args))

    def close(self) -> None:
        """Write what is queued (waiting at most ``BUSY_CLOSE_S`` more for a database another
        program holds), then stop the thread."""
        self._closing_at = time.monotonic()
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        hub = self._hub
        try:
            store = SessionStore(hub.store.path, set_rest_s=hub.store.set_rest_s)
        except LegPressError as exc:
            _log.error("session store: %s", exc)
            store = None
        try:
            while (item := self._queue.get()) is not None:
                method, args = item
                if store is None:
                    hub.store_errors += 1
                    continue
                try:
                    self._call(store, method, args)
                except LegPressError as exc:
                    hub.store_errors += 1
                    _log.error("session store: %s", exc)
                except Exception:  # a bug must not stop the writes that follow
                    hub.store_errors += 1
                    _log.exception("session store: internal error")
        finally:
            if store is not None:
                store.close()

    def _call(self, store: SessionStore, method: str, args: tuple[Any, ...]) -> None:
        """One write; while another program holds the database, tried again (said once per
        write), so that no rep or alert is dropped for it; once the hub is stopping, for at
        most ``BUSY_CLOSE_S`` more."""
        told = False

        def on_busy(message: str) -> None:
            nonlocal told
            if not told:
                told = True
                _log.warning("session store: %s; the write is tried again", message)

        def stopping_long() -> bool:
            closing = self._closing_at
            return closing is not None and time.monotonic() - closing > BUSY_CLOSE_S

        call_waiting_out_busy(store, method, args, on_busy, stopping_long)


#: Once the hub is stopping, how long writes that find the database busy are still tried.
BUSY_CLOSE_S = 30.0


class Hub:
    """Every machine of one site.

    Args:
        config: the machines and how to run them.
        store: where sessions go (the hub does not close it).
        device_options: extra :func:`legpress.open_device` options per URL scheme
            (e.g. ``{"ble": {"ble_backend": ...}}``).
    """

    def __init__(
        self,
        config: HubConfig,
        store: SessionStore,
        *,
        device_options: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.bus = Broadcast()
        self.store_errors = 0
        self._device_options = device_options or {}
        self.stations: dict[str, Station] = {}
        ids: set[str] = set()
        for spec in config.machines:
            st = Station(self, spec)
            base, n = st.id, 1
            while st.id in ids:
                n += 1
                st.id = f"{base}-{n}"
            ids.add(st.id)
            self.stations[spec.name.strip().casefold()] = st
        for st in self.stations.values():
            self._ensure_machine(st.name)
        self._tasks: list[asyncio.Task[None]] = []
        self._writer: StoreWriter | None = None

    # -- helpers for the stations ------------------------------------------------------------

    def device_options(self, url: str) -> dict[str, Any]:
        """Options for ``open_device`` on ``url``."""
        scheme = url.partition(":")[0].lower()
        return dict(self._device_options.get(scheme, {}))

    def store_call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call a store method; a failure is logged and counted, never fatal to the stream."""
        try:
            return fn(*args, **kwargs)
        except LegPressError as exc:
            self.store_errors += 1
            _log.error("session store: %s", exc)
            return None

    def store_later(self, method: str, *args: Any) -> None:
        """``SessionStore.<method>(*args)`` off the event loop, in order: by the hub's
        :class:`StoreWriter` while the hub runs (on a file database), at once otherwise."""
        writer = self._writer
        if writer is None:
            self.store_call(getattr(self.store, method), *args)
        else:
            writer.submit(method, args)

    def _ensure_machine(self, name: str) -> None:
        try:
            self.store.get_machine(name)
        except NotFoundError:
            self.store.add_machine(name)

    def calibration_for(self, machine: str, device: Calibration) -> Calibration:
        """The device's calibration, with the machine's measured counts per mm if stored."""
        try:
            m = self.store.get_machine(machine)
        except LegPressError:
            return device
        if m.counts_per_mm:
            return replace(device, counts_per_mm=float(m.counts_per_mm), source="measured")
        return device

    def detector_config(self, person: str | None, machine: str | None = None) -> DetectorConfig:
        """Thresholds for ``person``: their limit in force and what their calibration learned
        of their lift-off (depth, floor, clean share; on ``machine`` when they were calibrated
        there), if any."""
        if person is None:
            return DetectorConfig()
        try:
            return self.store.get_profile(person, machine).detector_config()
        except LegPressError:
            return DetectorConfig()

    def calibrated_on(self, person: str, machine: str) -> str | None:
        """The machine whose calibration of ``person`` is in force on ``machine``, if known."""
        try:
            return self.store.calibrated_on(person, machine)
        except LegPressError:
            return None

    def has_calibration(self, person: str) -> bool:
        """Whether ``person`` has ever been calibrated (True for someone the store does not
        know: there is nothing to say about them)."""
        try:
            return bool(self.store.calibrations(person))
        except LegPressError:
            return True

    def default_person(self, machine: str) -> str | None:
        """Who is on ``machine`` unless someone else is picked."""
        return self.station(machine).spec.person

    # -- public ------------------------------------------------------------------------------

    def station(self, machine: str) -> Station:
        """The machine with that name (or id).

        Raises:
            NotFoundError: no such machine in this hub.
        """
        st = self.stations.get(machine.strip().casefold())
        if st is None:
            st = next((s for s in self.stations.values() if s.id == machine), None)
        if st is None:
            names = ", ".join(s.name for s in self.stations.values()) or "none"
            raise NotFoundError(f"no machine named {machine!r} in this hub (machines: {names})")
        return st

    def tiles(self) -> list[dict[str, Any]]:
        """Every machine's tile, in configuration order."""
        return [st.tile() for st in self.stations.values()]

    def assign(self, machine: str, person: str | None) -> None:
        """Put ``person`` on ``machine`` (added to the store if new; None: anonymous).

        Raises:
            NotFoundError: unknown machine.
            ConfigError: empty name.
        """
        st = self.station(machine)
        if person is not None:
            person = person.strip()
            if not person:
                raise ConfigError("pick a person by name, or nobody")
            person = self.store.ensure_person(person).name
        st.assign(person)
        st.maybe_push(time.monotonic() + self.config.push_period_s)

    def start(self, machine: str) -> None:
        """Start a session on ``machine`` now."""
        self.station(machine).start()

    def stop(self, machine: str) -> None:
        """End the session on ``machine`` now."""
        self.station(machine).stop()

    def calibrate(self, machine: str, reps: int = 3, margin_mm: float = 20.0) -> None:
        """Calibrate the person on ``machine`` (see :meth:`Station.calibrate`).

        Raises:
            NotFoundError: unknown machine.
            ConfigError: nobody named is on it, or a value out of range.
        """
        self.station(machine).calibrate(reps, margin_mm)

    def tare(self, machine: str) -> None:
        """Tare ``machine``'s back pad, nobody on it (see :meth:`Station.tare`).

        Raises:
            NotFoundError: unknown machine. UsageError: it cannot be tared now, and why.
        """
        self.station(machine).tare()

    def zero(self, machine: str) -> None:
        """Zero ``machine``'s sled at the top (see :meth:`Station.zero`).

        Raises:
            NotFoundError: unknown machine. UsageError: it cannot be zeroed now, and why.
        """
        self.station(machine).zero()

    async def run(self) -> None:
        """Run every machine until cancelled (then open sessions are ended, and everything is
        stored before it returns)."""
        if self._tasks:
            raise UsageError("the hub is already running")
        if str(self.store.path) != ":memory:":  # a second connection sees the same database
            self._writer = StoreWriter(self)
        self._tasks = [
            asyncio.create_task(st.run(), name=f"legpress-hub:{st.name}")
            for st in self.stations.values()
        ]
        try:
            while True:
                await asyncio.sleep(self.config.push_period_s)
                now = time.monotonic()
                for st in self.stations.values():
                    st.maybe_push(now)
        finally:
            for t in self._tasks:
                t.cancel()
            for t in self._tasks:
                await stop_task(t, errors=True)
            self._tasks = []
            writer, self._writer = self._writer, None
            if writer is not None:
                writer.close()
