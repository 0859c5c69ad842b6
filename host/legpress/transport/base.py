"""What every link delivers, and the base class of the links.

A link moves device packets (one protocol message each) between the host and one leg press. It
does no decoding: it timestamps what arrives (``time.monotonic_ns()``), copies it and hands it
to a :class:`LinkSink` (the :class:`~legpress.device.Device`), together with a few link events.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from legpress.errors import LegPressError
from legpress.protocol.framing import FramingStats


@dataclass(frozen=True, slots=True)
class RawPacket:
    """One message from the device, as it arrived.

    Attributes:
        t_host_ns: host receive time, ``time.monotonic_ns()`` (recorded time on a replay).
        data: the message bytes (header included, serial framing removed).
    """

    t_host_ns: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Connected:
    """The link to the device is up (first connection, or again after :class:`Disconnected`).

    A link event: links deliver it and :class:`~legpress.device.Device` hands the same object
    to its reader; :meth:`to_record` is its one dict form, in recordings and live output alike.

    Attributes:
        t_host_ns: when, on ``time.monotonic_ns()``.
        address: BLE address, serial port or file.
        mtu: the ATT MTU on BLE, 0 elsewhere.
        reconnect: True after a loss.
    """

    t_host_ns: int
    address: str = ""
    mtu: int = 0
    reconnect: bool = False

    def to_record(self) -> dict[str, Any]:
        """``{"type": "connected", "address": ..., "mtu": ..., "reconnect": ...}``."""
        return {
            "type": "connected",
            "address": self.address,
            "mtu": self.mtu,
            "reconnect": self.reconnect,
        }


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The link was lost. The link reconnects by itself if it can; a :class:`Connected` follows.

    Attributes:
        t_host_ns: when the loss was noticed.
        reason: a short human description.
    """

    t_host_ns: int
    reason: str = ""

    def to_record(self) -> dict[str, Any]:
        """``{"type": "disconnected", "reason": ...}``."""
        return {"type": "disconnected", "reason": self.reason}


def link_event_from_record(
    t_host_ns: int, record: Mapping[str, Any]
) -> Connected | Disconnected | None:
    """The link event a :meth:`Connected.to_record` / :meth:`Disconnected.to_record` dict
    stands for (None for any other or a malformed one): the way back from a recording.

    Recordings made before link events took the ``"type"`` key name it ``"event"``; both read.
    """
    name = record.get("type", record.get("event"))
    if name == "disconnected":
        return Disconnected(t_host_ns, str(record.get("reason", "")))
    if name == "connected":
        try:
            mtu = int(record.get("mtu", 0) or 0)
        except (TypeError, ValueError):
            mtu = 0
        return Connected(
            t_host_ns, str(record.get("address", "")), mtu, bool(record.get("reconnect"))
        )
    return None


@dataclass(frozen=True, slots=True)
class LinkEnd:
    """A finite source (recording, simulation) has no more packets."""

    t_host_ns: int


@dataclass(frozen=True, slots=True)
class LinkFailed:
    """The link is lost for good (it gave up reconnecting); the session ends with ``error``."""

    error: LegPressError


LinkItem = RawPacket | Connected | Disconnected | LinkEnd | LinkFailed


class LinkSink(Protocol):
    """Where a link delivers. Implemented by :class:`~legpress.device.Device`."""

    def put(self, item: LinkItem) -> None:
        """Take one item. Never blocks; call it from the event loop thread only."""

    async def wait_writable(self) -> None:
        """Return when the consumer has room (flow control for finite sources only)."""


@dataclass(slots=True)
class LinkStats:
    """Counters of a link. All only grow, except ``mtu`` and ``connected``.

    Attributes:
        packets: packets received.
        bytes: bytes received (packet bytes, without serial framing).
        sent: packets (commands) sent.
        connects: successful connections, the first one included.
        reconnects: connections after a loss.
        disconnects: losses of the link.
        downtime_s: total time spent disconnected after a loss.
        mtu: current ATT MTU on BLE (0 elsewhere).
        connected: whether the link is up now.
        last_error: the last link error, as text.
        framing: serial framing counters (bad frames, skipped bytes), None on other links.
    """

    packets: int = 0
    bytes: int = 0
    sent: int = 0
    connects: int = 0
    reconnects: int = 0
    disconnects: int = 0
    downtime_s: float = 0.0
    mtu: int = 0
    connected: bool = False
    last_error: str = ""
    framing: FramingStats | None = field(default=None)


class Link(abc.ABC):
    """One connection to one leg press (or to a stand-in: simulator, recording).

    Subclasses deliver through the sink given to :meth:`open`: a :class:`RawPacket` per message,
    :class:`Connected` once connected, :class:`Disconnected`/:class:`Connected` around a loss, and
    :class:`LinkEnd` at the end of a finite source.

    Attributes:
        url: the URL the link was opened with.
        stats: link counters.
    """

    scheme: ClassVar[str] = ""
    #: True for live devices (their replies come in-band and may be lost); False for
    #: stand-ins that answer commands themselves.
    live: ClassVar[bool] = True
    #: True when the link delivers a DEVICE_INFO packet itself on every (re)connection (else
    #: the device is asked with ``GET_INFO``).
    reads_info: ClassVar[bool] = False
    #: True when packets can be paused (finite sources honour ``wait_writable``).
    finite: ClassVar[bool] = False

    def __init__(self, url: str) -> None:
        self.url = url
        self.stats = LinkStats()

    @abc.abstractmethod
    async def open(self, sink: LinkSink) -> None:
        """Connect and start delivering to ``sink``.

        Raises:
            TransportError: the link cannot be opened (with what to do about it).
            DeviceNotFoundError: no device matched.
            RecordingError: a recording cannot be read.
        """

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop delivering and release the connection. Safe to call twice."""

    @abc.abstractmethod
    async def send(self, packet: bytes) -> None:
        """Send one ``COMMAND`` message to the device.

        Raises:
            TransportError: the link is down or the write failed.
            UsageError: the source cannot take this command (a recording).
        """

    def now_ns(self) -> int:
        """The link's clock, the one its packets are stamped with: ``time.monotonic_ns()``
        for a device. A stand-in that runs faster than real time (``sim:…,realtime=0``, a
        replay) has its own, so commands and events recorded beside its packets share it."""
        return time.monotonic_ns()

    def describe(self) -> str:
        """A short name for messages, e.g. ``LegPress-3A7F (C4:DE:E2:11:3A:7F)``."""
        return self.url
