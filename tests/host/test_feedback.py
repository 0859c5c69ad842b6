"""On-machine feedback (legpress.feedback): BEEP on each alert, a pattern per kind, and the
device's own depth alarm (SET_LIMIT) armed at the person's limit; the commands end to end from
``Device.beep``/``set_limit`` over a serial port to the firmware's own control handler."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import legpress
from legpress.detect import Event, EventType
from legpress.dsp.calibration import Calibration
from legpress.errors import CommandError, TransportError, UsageError
from legpress.feedback import (
    LIFT_OFF_PATTERN,
    ROM_PATTERN,
    WARNING_PATTERN,
    MachineBuzzer,
    limit_counts,
    pattern_for,
)
from legpress.live import LiveSession
from legpress.protocol.spec import Command, Result
from legpress_fw import config as fw_config
from legpress_fw.buzzer import Buzzer
from legpress_fw.control import CommandHandler
from legpress_fw.device import LINK_SERIAL
from legpress_fw.device import Device as FirmwareDevice
from legpress_fw.device import DeviceInfo as FwDeviceInfo
from legpress_fw.pad import DirectPad
from legpress_fw.position import EncoderPosition
from tests.host.transport.fake_legpress import FakeLegPress
from tests.host.transport.pty_device import PtyLegPress


def test_each_kind_of_alert_has_its_own_pattern() -> None:
    kinds = (EventType.LIFT_OFF, EventType.ROM_EXCEEDED, EventType.TILT_WARNING)
    assert [pattern_for(k) for k in kinds] == [LIFT_OFF_PATTERN, ROM_PATTERN, WARNING_PATTERN]
    assert len({LIFT_OFF_PATTERN, ROM_PATTERN, WARNING_PATTERN}) == 3
    for kind in EventType:
        p = pattern_for(kind)
        assert (p is None) == (not kind.loud), kind
        assert p is None or 0 < p <= 0xFFFF


def test_limit_counts_invert_the_calibration() -> None:
    cal = Calibration(counts_per_mm=24.643, zero_counts=-120)
    counts = limit_counts(400.0, cal)
    assert counts == round(-120 + 400 * 24.643)
    assert abs((counts - cal.zero_counts) / cal.counts_per_mm - 400.0) < 0.05


@dataclass
class RecordingDevice:
    """Records what MachineBuzzer sends; `fail` is raised by every command."""

    beeps: list[int] = field(default_factory=list)
    limits: list[tuple[int | None, int, int]] = field(default_factory=list)
    fail: Exception | None = None

    async def beep(self, pattern: int) -> None:
        if self.fail:
            raise self.fail
        self.beeps.append(pattern)

    async def set_limit(
        self, limit_counts: int | None, *, rearm_counts: int, pattern: int
    ) -> None:
        if self.fail:
            raise self.fail
        self.limits.append((limit_counts, rearm_counts, pattern))


def _event(kind: EventType) -> Event:
    return Event(kind, 1.0, 0, "why")


async def test_machine_buzzer_beeps_per_alert_and_arms_the_limit() -> None:
    dev = RecordingDevice()
    buzzer = MachineBuzzer(dev)
    cal = Calibration(counts_per_mm=20.0, zero_counts=0)
    buzzer.arm_limit(450.0, cal)
    for kind in (EventType.LIFT_OFF, EventType.ROM_EXCEEDED, EventType.ROM_WARNING):
        buzzer.alert(_event(kind))
    buzzer.alert(_event(EventType.PAD_UNJUDGED))  # not loud: no sound
    await buzzer.close()
    assert dev.limits == [(9000, 200, ROM_PATTERN)]  # 10 mm dead band
    # The device's own alarm already beeped for ROM_EXCEEDED, in the very sample.
    assert dev.beeps == [LIFT_OFF_PATTERN, WARNING_PATTERN]
    buzzer.arm_limit(None, cal)
    buzzer.alert(_event(EventType.ROM_EXCEEDED))
    await buzzer.close()
    assert dev.limits[-1] == (None, 0, 0) and dev.beeps[-1] == ROM_PATTERN
    assert buzzer.enabled and buzzer.sent == 5


async def test_machine_buzzer_turns_off_when_the_device_cannot_beep() -> None:
    old = RecordingDevice(fail=CommandError("no", int(Command.BEEP), int(Result.UNKNOWN_COMMAND)))
    buzzer = MachineBuzzer(old)
    buzzer.alert(_event(EventType.LIFT_OFF))
    await buzzer.close()
    assert not buzzer.enabled and "no buzzer commands" in buzzer.why_off
    buzzer.alert(_event(EventType.LIFT_OFF))  # nothing more is sent
    await buzzer.close()
    # A dropped link is no reason to stop: the next alert may get through.
    down = RecordingDevice(fail=TransportError("link down"))
    buzzer = MachineBuzzer(down)
    buzzer.alert(_event(EventType.LIFT_OFF))
    await buzzer.close()
    assert buzzer.enabled
    quiet = RecordingDevice()
    buzzer = MachineBuzzer(quiet, enabled=False)
    buzzer.alert(_event(EventType.LIFT_OFF))
    buzzer.arm_limit(400.0, Calibration())
    await buzzer.close()
    assert quiet.beeps == [] and quiet.limits == []


def test_live_session_on_a_device_that_cannot_beep() -> None:
    # The simulator cannot take BEEP: the session runs on, and says why the buzzer is off.
    live = LiveSession("sim:scenario=liftoff,seed=3,realtime=0,duration=10", person="Sim")
    result = asyncio.run(live.run())
    assert result.events and live.buzzer is not None
    assert not live.buzzer.enabled and live.buzzer.why_off


class FirmwareCommands(FakeLegPress):
    """The pty leg press, with BEEP and SET_LIMIT answered by the firmware's own control
    handler on a firmware Device whose buzzer is recorded."""

    def __init__(self) -> None:
        super().__init__()
        cfg = fw_config.validate({"cells": 8})
        info = FwDeviceInfo(cfg, b"\x24\x0a\xc4\x5e\x1e\x92", "LegPress-1E92")
        self.buzz: list[bool] = []
        self.enc = _Encoder()
        self.fw = FirmwareDevice(
            cfg,
            info,
            DirectPad([_ADC() for _ in range(8)]),
            EncoderPosition(self.enc),
            _Clock(),
            buzzer=Buzzer(self.buzz.append),
        )
        self.handler = CommandHandler(self.fw)

    def handle(self, data: bytes) -> bytes | None:
        if data[9] in (Command.BEEP, Command.SET_LIMIT):
            n = self.handler.handle(data, len(data), LINK_SERIAL)
            return bytes(self.handler.reply[:n])
        return super().handle(data)


class _ADC:
    def read_u16(self) -> int:
        return 500 << 4


class _Encoder:
    v = 0

    def value(self) -> int:
        return self.v


class _Clock:
    t = 0

    def __call__(self) -> int:
        self.t += 10_000
        return self.t & ((1 << 30) - 1)


async def test_device_beep_and_limit_reach_the_firmware(tmp_path: Path) -> None:
    pty = PtyLegPress(tmp_path)
    fw = FirmwareCommands()
    pty.dev = fw
    try:
        async with legpress.open_device(f"serial:{pty.port}") as dev:
            await dev.beep(LIFT_OFF_PATTERN)
            assert fw.buzz == [True] and fw.fw.buzzer.plays == 1
            await dev.set_limit(9000, rearm_counts=200, pattern=ROM_PATTERN)
            with pytest.raises(UsageError, match="16 bits"):
                await dev.beep(1 << 16)
            with pytest.raises(UsageError, match="1 to 65535"):
                await dev.set_limit(9000, rearm_counts=200, pattern=0)
    finally:
        pty.close()
    # The firmware beeps by itself in the sample the sled passes 9000 counts.
    s = fw.fw.sampler
    for _ in range(16):  # the BEEP's pattern plays out (housekeeping, every 100 ms)
        fw.fw.buzzer.step()
    fw.buzz.clear()
    fw.fw.start(LINK_SERIAL)
    for pos in (8000, 8990, 9001):
        fw.enc.v = pos
        s.poll()
    assert fw.buzz == [True] and s.limit_beeps == 1
    assert (s._limit_at, s._rearm_at, s._limit_pattern) == (9000, 8800, ROM_PATTERN)
