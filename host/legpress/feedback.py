"""On-machine feedback: the leg press's buzzer tells the person on it what the host saw.

A person on the machine can't watch a laptop. :class:`MachineBuzzer` sends ``BEEP`` for each
loud alert, with a pattern per kind that can be told apart by ear, and arms the device's own
depth alarm (``SET_LIMIT``) at the person's range-of-motion limit, so that the device beeps in
the very sample the sled passes it, with no round trip to the host and also while the link is
down. Commands go out in the background: feedback never holds up detection, and a device that
can't beep (firmware without the buzzer commands, a recording, the simulator) only turns it off.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, Protocol

from legpress.detect import Event, EventType, Severity
from legpress.dsp.calibration import Calibration
from legpress.errors import CommandError, TransportError, UsageError
from legpress.protocol.spec import Result

_log = logging.getLogger(__name__)

#: Buzzer patterns (PROTOCOL.md "Buzzer patterns": 100 ms slots, bit 0 first).
LIFT_OFF_PATTERN = 0b10101  # three short beeps: the lower back lifted
ROM_PATTERN = 0b0111  # one long beep (300 ms): the sled went past the limit
WARNING_PATTERN = 0b101  # two short beeps: about to lift, or approaching the limit
CUE_PATTERN = 0b1  # one short beep: a form cue (tempo, bounce, locked knees)

#: The pattern for each kind of alert; loud events not listed beep by severity.
PATTERNS: dict[EventType, int] = {
    EventType.LIFT_OFF: LIFT_OFF_PATTERN,
    EventType.ROM_EXCEEDED: ROM_PATTERN,
    EventType.TILT_WARNING: WARNING_PATTERN,
    EventType.ROM_WARNING: WARNING_PATTERN,
}
_BY_SEVERITY = {
    Severity.SAFETY: LIFT_OFF_PATTERN,
    Severity.WARNING: WARNING_PATTERN,
    Severity.CUE: CUE_PATTERN,
}
#: The device's own alarm re-arms once the sled is back this far above the limit.
REARM_MM = 10.0


def pattern_for(kind: EventType) -> int | None:
    """The buzzer pattern for an alert of this kind, or None for one that makes no sound."""
    if not kind.loud:
        return None
    return PATTERNS.get(kind, _BY_SEVERITY.get(kind.severity, CUE_PATTERN))


def limit_counts(limit_mm: float, calibration: Calibration) -> int:
    """The encoder reading at ``limit_mm`` of sled travel from the top (the inverse of the
    calibration's depth)."""
    return round(calibration.zero_counts + limit_mm * calibration.counts_per_mm)


class BuzzerDevice(Protocol):
    """What :class:`MachineBuzzer` needs of a device (:class:`legpress.device.Device`)."""

    async def beep(self, pattern: int) -> None: ...

    async def set_limit(
        self, limit_counts: int | None, *, rearm_counts: int, pattern: int
    ) -> None: ...


class MachineBuzzer:
    """Beeps the machine's buzzer for a live session.

    Args:
        device: the open device.
        enabled: False sends nothing (``--no-beep``).
    """

    def __init__(self, device: BuzzerDevice, *, enabled: bool = True) -> None:
        self._device = device
        self.enabled = enabled
        self.limit_armed = False
        self.sent = 0
        self.why_off = ""
        self._tasks: set[asyncio.Task[None]] = set()

    def arm_limit(self, limit_mm: float | None, calibration: Calibration) -> None:
        """Set the device's own alarm at the person's limit (None: turn it off). Call when a
        session starts and after every reconnect (a reset clears it on the device)."""
        if limit_mm is None:
            self.limit_armed = False
            self._send(self._device.set_limit(None, rearm_counts=0, pattern=0))
            return
        rearm = max(1, min(0xFFFF, round(REARM_MM * calibration.counts_per_mm)))
        self.limit_armed = True
        self._send(
            self._device.set_limit(
                limit_counts(limit_mm, calibration), rearm_counts=rearm, pattern=ROM_PATTERN
            )
        )

    def alert(self, event: Event) -> None:
        """Beep for one alert as it fires (the device's own alarm already covers the limit)."""
        kind = EventType(event.type)
        pattern = pattern_for(kind)
        if pattern is None or (kind is EventType.ROM_EXCEEDED and self.limit_armed):
            return
        self._send(self._device.beep(pattern))

    async def close(self) -> None:
        """Wait for the commands still in flight (at most their reply timeout)."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _send(self, command: Coroutine[Any, Any, None]) -> None:
        if not self.enabled:
            command.close()
            return
        task = asyncio.get_running_loop().create_task(self._run(command))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, command: Coroutine[Any, Any, None]) -> None:
        try:
            await command
            self.sent += 1
        except CommandError as exc:
            if exc.result == Result.UNKNOWN_COMMAND:
                self._off("the device's firmware has no buzzer commands")
            else:
                _log.warning("buzzer: %s", exc)
        except UsageError as exc:  # a recording or the simulator
            self._off(str(exc))
        except TransportError as exc:  # the link is down: the device's own alarm still works
            _log.info("buzzer: %s", exc)

    def _off(self, why: str) -> None:
        if self.enabled:
            self.enabled = False
            self.why_off = why
            _log.info("buzzer off: %s", why)
