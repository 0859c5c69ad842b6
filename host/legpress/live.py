"""Live monitoring: a device stream through detection into a view, alerts, a recording and
the session store. Used by ``legpress monitor``, ``legpress demo`` and ``legpress calibrate``;
no terminal code here: :class:`ViewState` is what a view shows, :mod:`legpress.cli.view`
renders it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import numpy as np

from legpress.detect import DetectorConfig, Event, EventType, Pipeline, Rep
from legpress.device import (
    Connected,
    DeviceEvent,
    Disconnected,
    FaultEvent,
    InfoEvent,
    StatusEvent,
    open_device,
)
from legpress.dsp.calibration import Calibration
from legpress.feedback import MachineBuzzer
from legpress.protocol.decoder import SampleBlock
from legpress.protocol.messages import DeviceInfo
from legpress.session import (
    LinkQuality,
    Machine,
    PartialRep,
    Person,
    Session,
    assign_sets,
    now_utc,
)

#: How long an alert stays on screen (s); each event type says what it shows (EventType.alert).
ALERT_HOLD_S = 2.5


@dataclass
class RepLine:
    """One finished rep in the rep list."""

    index: int
    depth_mm: float
    lowering_s: float
    pushing_s: float
    flags: str = ""


_PAD_REASONS: Final = {
    "no_load": "every cell reads 0 (nobody on the pad, or the strip unplugged)",
    "load_low": "the pad carries much less than earlier in the session (nobody leaning on it)",
    "too_few_cells": "too few cells in contact",
}


@dataclass
class ViewState:
    """Everything the live view shows; the monitor command keeps it up to date."""

    title: str = "legpress"
    person: str = ""
    depth_mm: float = 0.0
    limit_mm: float | None = None
    warn_mm: float | None = None
    max_depth_mm: float = 0.0
    lift_depth_mm: float | None = None  # where their back lifted (recent reps, calibration)
    contact: list[float] = field(default_factory=list)  # per cell, seat first, 1.0 = baseline
    lower_back: float = math.nan  # the lift-off rule's position (1: usual rep, 0: floor)
    front: float = math.nan  # its second signal, the contact front (see detection.md)
    lift_off_below: float = 0.1  # the thresholds, to show beside them
    warn_below: float = 0.5
    front_below: float = 0.3
    pad_note: str = ""  # why the pad cannot be judged in this rep ("" when it can)
    phase: str = "top"
    reps: list[RepLine] = field(default_factory=list)
    alert_type: EventType | None = None
    alert_message: str = ""
    alert_t_s: float = -math.inf
    t_s: float = 0.0
    link: str = "connecting"
    loss_pct: float = 0.0
    faults: str = ""
    counts: dict[EventType, int] = field(default_factory=dict)

    def raise_alert(self, etype: EventType | str, message: str, t_s: float) -> bool:
        """Show an event unless a more severe one is still showing. True if shown."""
        kind = EventType(etype)
        showing = self.alert_type
        if showing is not None and self.alert_active() and kind.severity < showing.severity:
            return False
        self.alert_type, self.alert_message, self.alert_t_s = kind, message, t_s
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return True

    def alert_active(self) -> bool:
        """True while the last alert is still within its display time."""
        return self.t_s - self.alert_t_s < ALERT_HOLD_S


@dataclass(slots=True)
class LiveResult:
    """What a live session produced.

    Attributes:
        reps: completed reps.
        events: alerts, in order.
        link_events: connection losses, gaps and faults as JSON-ready dicts.
        samples: samples received.
        lost_packets: sample packets lost on the link.
        recording: the recording file, if one was written.
    """

    reps: list[Rep] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    link_events: list[dict[str, Any]] = field(default_factory=list)
    samples: int = 0
    lost_packets: int = 0
    recording: str | None = None


class LiveSession:
    """Runs one device through the detectors and keeps a :class:`ViewState` current.

    Args:
        url: the device (``ble:``, ``serial:``, ``sim:``, ``replay:``).
        config: detector thresholds (with the person's ROM limit).
        calibration: overrides the device's own calibration (counts/mm, tare).
        person: shown in the view and stored with the session.
        machine: the machine's name (shown, written in the recording's header, kept with the
            session), or empty.
        counts_per_mm: the machine's measured encoder counts per mm, used over the device's
            own figure (unless ``calibration`` is given).
        record: write the raw stream to this recording file.
        on_event: called for each alert as it fires (sound, JSON output).
        on_rep: called for each completed rep.
        on_link: called with a JSON-ready dict for link events (connected, lost, gap, fault).
        on_start: called once, when the first samples arrive (before they are analysed): a
            session exists only once data arrived, so this is where a caller stores it.
        device_options: more options for :func:`legpress.open_device`.
        beep: sound the machine's buzzer on alerts and arm its own depth alarm at the ROM
            limit (:mod:`legpress.feedback`).
    """

    def __init__(
        self,
        url: str,
        *,
        config: DetectorConfig | None = None,
        calibration: Calibration | None = None,
        person: str = "",
        machine: str = "",
        counts_per_mm: float | None = None,
        record: str | Path | None = None,
        on_event: Callable[[Event], None] | None = None,
        on_rep: Callable[[Rep], None] | None = None,
        on_link: Callable[[dict[str, Any]], None] | None = None,
        on_start: Callable[[LiveSession], None] | None = None,
        device_options: dict[str, Any] | None = None,
        beep: bool = True,
    ) -> None:
        self.url = url
        self.config = config or DetectorConfig()
        self.calibration = calibration
        self.person = person
        self.machine = machine
        self.counts_per_mm = counts_per_mm
        self.record = record
        self.view = ViewState(person=person, limit_mm=self.config.rom_limit_mm)
        self.result = LiveResult(recording=str(record) if record else None)
        self.pipeline: Pipeline | None = None
        self._on_event = on_event
        self._on_rep = on_rep
        self._on_link = on_link
        self._on_start = on_start
        self._partial_depth_mm = -math.inf  # deepest since the last completed rep ended
        self._rep_offset = 0  # added to rep numbers after detection restarted
        self._options = device_options or {}
        self._stop = False
        self._baseline: np.ndarray | None = None
        self._info: DeviceInfo | None = None
        self._calibration = calibration or Calibration()
        self._started_at: str | None = None
        self._ended_at: str | None = None
        self._beep = beep
        self.buzzer: MachineBuzzer | None = None

    def stop(self) -> None:
        """Ask :meth:`run` to finish after the current item."""
        self._stop = True

    async def run(self, duration_s: float | None = None) -> LiveResult:
        """Stream until the device ends (recording, simulation), ``duration_s`` of stream time
        passes, or :meth:`stop` is called."""
        self._started_at = now_utc()
        header: dict[str, Any] = {"person": self.person} if self.person else {}
        if self.machine:
            header["machine"] = self.machine
        if self.calibration is not None:
            header["calibration"] = self.calibration.to_dict()
        async with open_device(
            self.url, record=self.record, header=header or None, **self._options
        ) as dev:
            self._info = dev.info
            device = dev.info.name or self.url
            self.view.title = (
                f"legpress  {self.machine} ({device})" if self.machine else f"legpress  {device}"
            )
            self._calibration = self.calibration or dev.calibration()
            if self.calibration is None and self.counts_per_mm:
                self._calibration = replace(
                    self._calibration, counts_per_mm=self.counts_per_mm, source="measured"
                )
            self.buzzer = MachineBuzzer(dev, enabled=self._beep)
            self.buzzer.arm_limit(self.config.rom_limit_mm, self._calibration)
            async for item in dev:
                if isinstance(item, SampleBlock):
                    self._samples(item)
                    if duration_s is not None and self.view.t_s >= duration_s:
                        break
                else:
                    self._device_event(item)
                stats = dev.stats.decoder
                self.view.loss_pct = 100 * stats.loss_fraction()
                self.result.lost_packets = stats.lost_packets
                if self._stop:
                    break
            await self.buzzer.close()
        self._ended_at = now_utc()
        return self.result

    @property
    def started(self) -> bool:
        """True once samples arrived (the session exists)."""
        return self.result.samples > 0

    @property
    def partial_rep(self) -> PartialRep | None:
        """The rep in progress, if the sled is not at the top: the rep the session ends in the
        middle of if it ends now."""
        pipe = self.pipeline
        if pipe is None or pipe.analyzer.phase == "top":
            return None
        depth = self._partial_depth_mm
        return PartialRep.after(
            self.result.reps, self.result.events, depth if math.isfinite(depth) else None
        )

    def summary(self) -> dict[str, Any]:
        """What the store keeps beside reps and events: link quality and the partial rep."""
        r = self.result
        out: dict[str, Any] = {
            "reps": len(r.reps),
            "link": LinkQuality(r.lost_packets, samples=r.samples).to_dict(),
        }
        partial = self.partial_rep
        if partial is not None:
            out["partial_rep"] = partial.to_dict()
        return out

    @property
    def session(self) -> Session:
        """What the session produced so far, as a :class:`~legpress.session.Session` record
        (sets split by :func:`~legpress.session.assign_sets`; not stored)."""
        r = self.result
        reps, sets = assign_sets(r.reps, self.config)
        return Session(
            person=Person(self.person) if self.person else None,
            machine=Machine(self.machine) if self.machine else None,
            started_at=self._started_at,
            ended_at=self._ended_at,
            device_name=self._info.name if self._info is not None else "",
            device_url=self.url,
            recording_path=r.recording,
            config=asdict(self.config),
            calibration=self._calibration.to_dict(),
            summary=self.summary(),
            sets=sets,
            reps=reps,
            events=tuple(r.events),
            link=LinkQuality(r.lost_packets, samples=r.samples),
        )

    def _samples(self, block: SampleBlock) -> None:
        if self.pipeline is None:
            assert self._info is not None
            self.pipeline = Pipeline(self._info, self._calibration, self.config)
            # Detection restarted (new DEVICE_INFO): its reps count from 0 again, so they are
            # numbered on after the reps (and the partial rep's alerts) this session already has.
            seen = [r.index for r in self.result.reps] + [e.rep for e in self.result.events]
            self._rep_offset = max(seen) + 1 if seen else 0
        if self.result.samples == 0 and len(block) and self._on_start is not None:
            self._on_start(self)
        cal, out = self.pipeline.feed(block)
        n = len(cal)
        self.result.samples += n
        if not n:
            return
        v = self.view
        v.t_s = float(cal.t_s[-1])
        v.depth_mm = float(cal.depth_mm[-1])
        v.max_depth_mm = max(v.max_depth_mm, float(cal.depth_mm.max()))
        last_end = next((float(x.t_end_s) for x in reversed(out) if isinstance(x, Rep)), None)
        since = cal.depth_mm if last_end is None else cal.depth_mm[cal.t_s > last_end]
        since = since[np.isfinite(since)]
        if last_end is not None:
            self._partial_depth_mm = -math.inf
        if since.size:
            self._partial_depth_mm = max(self._partial_depth_mm, float(since.max()))
        v.phase = {"top": "top", "lowering": "lowering", "pushing": "pushing"}[
            self.pipeline.analyzer.phase
        ]
        limit = self.config.rom_limit_mm
        if limit is not None:
            v.limit_mm = limit
            v.warn_mm = limit - self.config.rom_warning_min_mm
        base = self.pipeline.analyzer.baseline
        if base is None:
            base = self._baseline = (
                cal.load.mean(axis=0) if self._baseline is None else self._baseline
            )
        last = cal.load[-1]
        # Relative to the data, never in counts: a cell is shown when its baseline is a fair
        # share of the most loaded one's.
        floor = self.config.contact_fraction * float(np.max(base)) if base.size else 0.0
        v.contact = [
            float(last[c] / base[c]) if base[c] > max(floor, 0.0) else math.nan
            for c in range(len(last))
        ]
        analyzer = self.pipeline.analyzer
        v.lower_back, v.front = analyzer.last_position, analyzer.last_front
        v.lift_depth_mm = analyzer.lift_off_depth_mm
        # The levels in force at the last sample (higher where the load moved up the back, or
        # past the depth where this person's back lifted).
        v.lift_off_below = (
            analyzer.last_threshold
            if math.isfinite(analyzer.last_threshold)
            else self.config.liftoff_position
        )
        v.warn_below = (
            analyzer.last_warn_below
            if math.isfinite(analyzer.last_warn_below)
            else self.config.tilt_warning_position
        )
        v.front_below = self.config.liftoff_front_share
        reason = analyzer.unjudged_reason
        v.pad_note = _PAD_REASONS.get(reason, reason) if reason else ""
        if self._rep_offset:
            off = self._rep_offset
            out = [
                replace(x, rep=x.rep + off)
                if isinstance(x, Event)
                else replace(x, index=x.index + off)
                for x in out
            ]
        for item in out:
            if isinstance(item, Event):
                self.result.events.append(item)
                v.raise_alert(item.type, item.message, item.t_s)
                if self.buzzer is not None:
                    self.buzzer.alert(item)
                if self._on_event:
                    self._on_event(item)
            else:
                self.result.reps.append(item)
                flags = " ".join(e.flag for e in dict.fromkeys(item.events) if e.marks_rep)
                v.reps.append(
                    RepLine(item.index, item.depth_mm, item.lowering_s, item.pushing_s, flags)
                )
                if self._on_rep:
                    self._on_rep(item)

    def _device_event(self, item: DeviceEvent) -> None:
        v = self.view
        if isinstance(item, StatusEvent):
            return  # its counters reach the view through the device's stats
        if isinstance(item, Connected):
            v.link = f"connected {item.address}".strip() + (
                f" (MTU {item.mtu})" if item.mtu else ""
            )
            if item.reconnect and self.buzzer is not None:  # the device may have reset
                self.buzzer.arm_limit(self.config.rom_limit_mm, self._calibration)
        elif isinstance(item, Disconnected):
            v.link = f"LOST ({item.reason}), reconnecting"
        elif isinstance(item, FaultEvent):
            v.faults = item.describe_active()
        elif isinstance(item, InfoEvent):
            self._info = item.info
            self.pipeline = None  # new rate or cells: detection restarts on the next block
        record = item.to_record()
        record["t_host_s"] = time.monotonic()
        self.result.link_events.append(record)
        if self._on_link:
            self._on_link(record)
