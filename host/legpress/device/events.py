"""What a :class:`~legpress.device.Device` hands its reader besides sample blocks.

The link events :class:`Connected` and :class:`Disconnected` are the links' own
(:mod:`legpress.transport.base`): the device passes them on as they came. The others come from
the decoder: lost packets, the device's health, its faults, its ``DEVICE_INFO`` and its log.

Every one but :class:`StatusEvent` has ``to_record()``: its one JSON-ready form, ``{"type": ...}``,
the same in a recording, in ``monitor --json`` and in :attr:`legpress.live.LiveResult.link_events`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from legpress.protocol.decoder import Gap, SampleBlock
from legpress.protocol.messages import DeviceInfo, Status
from legpress.protocol.spec import Fault
from legpress.transport.base import Connected, Disconnected

__all__ = [
    "Connected",
    "DeviceEvent",
    "DeviceItem",
    "Disconnected",
    "FaultEvent",
    "GapEvent",
    "InfoEvent",
    "LogEvent",
    "StatusEvent",
]

_FAULT_TEXT: Final = {
    Fault.CELL: "a pad cell reads at a rail (open or shorted wire)",
    Fault.POSITION: "the position sensor failed to read",
    Fault.TASK_RESTARTED: "a firmware task failed and was restarted",
    Fault.LOW_HEAP: "the device is low on memory",
    Fault.MTU_TOO_SMALL: "the Bluetooth MTU is too small to stream (use another host adapter)",
    Fault.WATCHDOG_RESET: "the device was reset by its watchdog",
    Fault.CONFIG: "the device configuration was unreadable; defaults in use",
    Fault.TARE: "the device could not keep or read back its tare; tare the pad again",
}


@dataclass(frozen=True, slots=True)
class GapEvent:
    """Sample packets that never arrived (the decoder saw ``seq`` jump).

    Attributes:
        gap: where and how much was lost.
        t_host_ns: when the packet after the gap arrived.
    """

    gap: Gap
    t_host_ns: int = 0

    def to_record(self) -> dict[str, Any]:
        """``{"type": "gap", "t_s": ..., "lost_packets": ..., "lost_samples": ...}``."""
        return {
            "type": "gap",
            "t_s": self.gap.t_s,
            "lost_packets": self.gap.lost_packets,
            "lost_samples": self.gap.lost_samples,
        }


@dataclass(frozen=True, slots=True)
class StatusEvent:
    """A ``STATUS`` message (once per second while connected over BLE).

    Attributes:
        status: the device's health counters.
        t_host_ns: when it arrived.
    """

    status: Status
    t_host_ns: int = 0


@dataclass(frozen=True, slots=True)
class FaultEvent:
    """The device's fault bits changed.

    Attributes:
        faults: the faults now active.
        new: faults that appeared.
        cleared: faults that went away.
        status: the status that reported them.
        t_host_ns: when it arrived.
    """

    faults: Fault
    new: Fault
    cleared: Fault
    status: Status
    t_host_ns: int = 0

    def describe(self) -> str:
        """One line naming the new faults and what they mean."""
        if not self.new:
            return "faults cleared: " + _fault_names(self.cleared)
        return _fault_texts(self.new)

    def describe_active(self) -> str:
        """One line naming every fault now active and what it means ("" when none): what a
        view of the device shows, whichever of them came or went last."""
        return _fault_texts(self.faults) if self.faults else ""

    def to_record(self) -> dict[str, Any]:
        """``{"type": "fault", "faults": <bits>, "message": <describe()>}``."""
        return {"type": "fault", "faults": int(self.faults), "message": self.describe()}


@dataclass(frozen=True, slots=True)
class InfoEvent:
    """The device's ``DEVICE_INFO`` changed (sample rate, tare, after a reboot).

    Attributes:
        info: the new info.
        t_host_ns: when it arrived.
    """

    info: DeviceInfo
    t_host_ns: int = 0

    def to_record(self) -> dict[str, Any]:
        """``{"type": "device_info", "rate_hz": ...}``."""
        return {"type": "device_info", "rate_hz": self.info.rate_hz}


@dataclass(frozen=True, slots=True)
class LogEvent:
    """A line of text from the device (serial only: boot report, faults).

    Attributes:
        text: the line.
        t_host_ns: when it arrived.
    """

    text: str
    t_host_ns: int = 0

    def to_record(self) -> dict[str, Any]:
        """``{"type": "log", "text": ...}``."""
        return {"type": "log", "text": self.text}


DeviceEvent = Connected | Disconnected | GapEvent | StatusEvent | FaultEvent | InfoEvent | LogEvent
DeviceItem = SampleBlock | DeviceEvent


def _fault_texts(faults: Fault) -> str:
    return "; ".join(
        f"{f.name}: {_FAULT_TEXT.get(f, 'unknown fault')}" for f in Fault if f & faults
    )


def _fault_names(faults: Fault) -> str:
    return ", ".join(f.name or "?" for f in Fault if f & faults) or "none"
