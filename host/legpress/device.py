"""The public device API: open a leg press by URL, iterate what it sends, command it.

.. code-block:: python

    import legpress

    async with legpress.open_device("ble:LegPress-3A7F", record="set1.lprec") as dev:
        print(dev.info.name, dev.info.rate_hz)
        await dev.tare()
        async for item in dev:
            if isinstance(item, legpress.SampleBlock):
                ...  # item.cells (n, K) ADC counts, item.position (n,) encoder counts
            elif isinstance(item, legpress.Disconnected):
                print("link lost, reconnecting")

The same code runs against ``serial:/dev/ttyUSB0``, ``sim:scenario=liftoff`` and
``replay:set1.lprec``. :func:`open_blocking` gives the same device to plain (non-async) scripts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import struct
import threading
import time
from collections import deque
from collections.abc import Awaitable, Coroutine, Iterator, Mapping
from concurrent.futures import Future as _ThreadFuture
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, Self, TypeVar

from legpress.dsp.calibration import Calibration
from legpress.errors import (
    CommandError,
    LegPressError,
    ProtocolError,
    RecordingError,
    TransportError,
    UsageError,
)
from legpress.protocol.decoder import Decoder, DecoderStats, Gap, SampleBlock
from legpress.protocol.messages import DeviceInfo, Log, Reply, Status, encode_command
from legpress.protocol.spec import VERSION, Command, Fault, MsgType, Result
from legpress.storage.recording import RecordingWriter, RecordKind, make_header
from legpress.transport import make_link
from legpress.transport.base import (
    Link,
    LinkDown,
    LinkEnd,
    LinkItem,
    LinkStats,
    LinkUp,
    RawPacket,
)

__all__ = [
    "BlockingDevice",
    "Connected",
    "Device",
    "DeviceEvent",
    "DeviceItem",
    "DeviceStats",
    "Disconnected",
    "FaultEvent",
    "GapEvent",
    "InfoEvent",
    "LogEvent",
    "StatusEvent",
    "open_blocking",
    "open_device",
]

_log = logging.getLogger(__name__)
_T = TypeVar("_T")

_HIGH_WATER: Final = 64  # finite sources pause when this many items wait
_LOW_WATER: Final = 16
_INFO_TIMEOUT_S: Final = 5.0
_INFO_ATTEMPTS: Final = 3
_STOP_TIMEOUT_S: Final = 1.0

_RESULT_TEXT: Final = {
    Result.UNKNOWN_COMMAND: "the firmware does not know this command (update the firmware)",
    Result.BAD_LENGTH: "the command was malformed",
    Result.BAD_ARGUMENT: "an argument is out of range",
    Result.BAD_VERSION: "the firmware speaks another protocol version (update legpress and "
    "the firmware together)",
    Result.BAD_TYPE: "the message was not a command",
    Result.BUSY: "the device is busy; try again in a moment",
    Result.INTERNAL: "the command failed on the device (see `legpress monitor` status or the "
    "serial log)",
}

_FAULT_TEXT: Final = {
    Fault.CELL: "a pad cell reads at a rail (open or shorted wire)",
    Fault.POSITION: "the position sensor failed to read",
    Fault.TASK_RESTARTED: "a firmware task failed and was restarted",
    Fault.LOW_HEAP: "the device is low on memory",
    Fault.MTU_TOO_SMALL: "the Bluetooth MTU is too small to stream (use another host adapter)",
    Fault.WATCHDOG_RESET: "the device was reset by its watchdog",
    Fault.CONFIG: "the device configuration was unreadable; defaults in use",
}


# -- events -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Connected:
    """The link to the device is up (first connection, or again after :class:`Disconnected`).

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


@dataclass(frozen=True, slots=True)
class Disconnected:
    """The link was lost. The device reconnects by itself; a :class:`Connected` follows.

    Attributes:
        t_host_ns: when the loss was noticed.
        reason: a short human description.
    """

    t_host_ns: int
    reason: str = ""


@dataclass(frozen=True, slots=True)
class GapEvent:
    """Sample packets that never arrived (the decoder saw ``seq`` jump).

    Attributes:
        gap: where and how much was lost.
        t_host_ns: when the packet after the gap arrived.
    """

    gap: Gap
    t_host_ns: int = 0


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
        return "; ".join(
            f"{f.name}: {_FAULT_TEXT.get(f, 'unknown fault')}" for f in Fault if f & self.new
        )


@dataclass(frozen=True, slots=True)
class InfoEvent:
    """The device's ``DEVICE_INFO`` changed (sample rate, tare, after a reboot).

    Attributes:
        info: the new info.
        t_host_ns: when it arrived.
    """

    info: DeviceInfo
    t_host_ns: int = 0


@dataclass(frozen=True, slots=True)
class LogEvent:
    """A line of text from the device (serial only: boot report, faults).

    Attributes:
        text: the line.
        t_host_ns: when it arrived.
    """

    text: str
    t_host_ns: int = 0


DeviceEvent = Connected | Disconnected | GapEvent | StatusEvent | FaultEvent | InfoEvent | LogEvent
DeviceItem = SampleBlock | DeviceEvent


def _fault_names(faults: Fault) -> str:
    return ", ".join(f.name or "?" for f in Fault if f & faults) or "none"


@dataclass(slots=True)
class DeviceStats:
    """Counters of one device session.

    Attributes:
        decoder: what the decoder saw (samples, lost packets, corrupt packets, ...).
        link: the link's counters (reconnects, MTU, serial framing, ...).
        commands: commands sent.
        command_errors: commands the device refused.
        command_timeouts: commands that got no reply in time.
        unmatched_replies: replies to no pending command (late after a timeout).
        items_dropped: items thrown away because nobody read them (``max_backlog``).
        recorded_records: records written to the recording.
    """

    decoder: DecoderStats
    link: LinkStats
    commands: int = 0
    command_errors: int = 0
    command_timeouts: int = 0
    unmatched_replies: int = 0
    items_dropped: int = 0
    recorded_records: int = 0

    @property
    def reconnects(self) -> int:
        """Reconnections after a loss of the link."""
        return self.link.reconnects


@dataclass(slots=True)
class _Pending:
    command: int
    future: asyncio.Future[Reply]
    args: bytes = b""
    sent_ns: int = field(default_factory=time.monotonic_ns)


# -- the device -----------------------------------------------------------------------------


class Device:
    """One leg press (or simulator, or recording), opened by URL.

    Use :func:`open_device` to create one. Open it with ``async with`` (or :meth:`open` /
    :meth:`close`); iterate it with ``async for`` to get :class:`SampleBlock` items and events
    (:class:`Connected`, :class:`Disconnected`, :class:`GapEvent`, :class:`StatusEvent`,
    :class:`FaultEvent`, :class:`InfoEvent`, :class:`LogEvent`). The iteration survives link
    losses: the link reconnects by itself. It ends at the end of a recording or simulation, or
    raises :class:`~legpress.errors.TransportError` if the link is lost for good.

    Items are decoded in a background task as they arrive, so commands work whether or not
    anyone iterates. A live device's items wait for a reader up to ``max_backlog`` (then the
    oldest are dropped and counted); recordings and simulations are paused instead.

    Args:
        url: ``ble:NAME-or-ADDRESS``, ``serial:PORT``, ``sim:OPTIONS`` or ``replay:FILE``.
        record: write every raw packet to this new recording file.
        header: more recording header fields: ``person``, ``machine``, ``calibration``
            (a :class:`~legpress.dsp.calibration.Calibration` or dict), anything JSON.
        autostart: send ``START`` once connected (and again after a reconnection if the
            device stopped streaming).
        stop_on_close: send ``STOP`` when closing if this session started the stream.
        command_timeout_s: how long to wait for a command's reply.
        max_backlog: most items kept for a reader that does not read.
        overwrite: allow ``record`` to replace an existing file.
        link: use this link instead of making one from ``url`` (tests, custom transports).
        **link_options: options of the link (see :mod:`legpress.transport.url`), e.g.
            ``realtime=True`` for ``replay:``, ``ble_backend=(ScannerCls, ClientCls)``.

    Raises:
        UsageError: bad URL or option.
    """

    def __init__(
        self,
        url: str,
        *,
        record: str | os.PathLike[str] | None = None,
        header: Mapping[str, Any] | None = None,
        autostart: bool = True,
        stop_on_close: bool = True,
        command_timeout_s: float = 2.0,
        max_backlog: int = 100_000,
        overwrite: bool = False,
        link: Link | None = None,
        **link_options: Any,
    ) -> None:
        self.url = url
        self._link: Link = link if link is not None else make_link(url, **link_options)
        self._record_path = record
        self._header = dict(header or {})
        self._overwrite = overwrite
        self._autostart = autostart
        self._stop_on_close = stop_on_close
        self._command_timeout_s = command_timeout_s
        self._max_backlog = max(1, max_backlog)
        self._decoder = Decoder()
        self._stats = DeviceStats(self._decoder.stats, self._link.stats)
        self._info: DeviceInfo | None = None
        self._status: Status | None = None
        self._faults = Fault(0)
        self._seq = int.from_bytes(os.urandom(2), "little") or 1
        self._pending: dict[int, _Pending] = {}
        self._inbox: deque[LinkItem] = deque()
        self._out: deque[DeviceItem] = deque()
        self._held: list[RawPacket] = []
        self._prerecord: list[tuple[RecordKind, int, bytes]] = []
        self._recorder: RecordingWriter | None = None
        self._want_streaming = False
        self._started_here = False
        self._ended = False
        self._failure: LegPressError | None = None
        self._opened = False
        self._closed = False
        self._connected = False
        self._inbox_ready: asyncio.Event | None = None
        self._out_ready: asyncio.Event | None = None
        self._writable: asyncio.Event | None = None
        self._info_ready: asyncio.Event | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- properties ---------------------------------------------------------------------------

    @property
    def info(self) -> DeviceInfo:
        """The device's ``DEVICE_INFO`` (cells, sample period, name, ...).

        Raises:
            UsageError: the device is not open yet.
        """
        if self._info is None:
            raise UsageError("the device is not open: use `async with open_device(url) as dev`")
        return self._info

    @property
    def stats(self) -> DeviceStats:
        """Counters: decoder (samples, gaps, corrupt), link (reconnects, MTU), commands."""
        if self._recorder is not None:
            self._stats.recorded_records = self._recorder.records
        return self._stats

    @property
    def last_status(self) -> Status | None:
        """The most recent ``STATUS`` received, if any."""
        return self._status

    @property
    def link(self) -> Link:
        """The link underneath (for its URL-specific details)."""
        return self._link

    @property
    def connected(self) -> bool:
        """True while the link is up."""
        return self._connected

    @property
    def ended(self) -> bool:
        """True once a finite source is exhausted and every item has been read."""
        return self._ended and not self._out

    @property
    def recording_path(self) -> str | None:
        """The recording being written, if any."""
        return None if self._record_path is None else os.fspath(self._record_path)

    def calibration(self) -> Calibration:
        """The calibration the device itself suggests (its counts per metre and last tare)."""
        return Calibration.from_info(self.info)

    def describe(self) -> str:
        """A short name for messages, e.g. ``LegPress-3A7F (C4:DE:E2:11:3A:7F)``."""
        return self._link.describe()

    # -- open / close ---------------------------------------------------------------------------

    async def open(self) -> Self:
        """Connect, learn ``DEVICE_INFO``, start recording and (``autostart``) streaming.

        Raises:
            TransportError: the link cannot be opened or the device does not answer.
            DeviceNotFoundError: no device matched the URL.
            RecordingError: a recording cannot be read or written.
        """
        if self._opened:
            return self
        if self._closed:
            raise UsageError("a closed device cannot be opened again: call open_device again")
        if self._record_path is not None:
            _check_new_file(self._record_path, self._overwrite)
        self._opened = True
        self._inbox_ready = asyncio.Event()
        self._out_ready = asyncio.Event()
        self._writable = asyncio.Event()
        self._writable.set()
        self._info_ready = asyncio.Event()
        self._pump_task = asyncio.create_task(self._pump(), name=f"legpress-pump:{self.url}")
        try:
            await self._link.open(self)
            if self._link.reads_info:
                await self._wait_info()
            else:
                await self._ask_info()
            if self._record_path is not None:
                self._open_recorder()
            if self._autostart:
                await self.start()
        except BaseException:
            await self._shutdown(send_stop=False)
            raise
        return self

    async def _ask_info(self) -> None:
        """GET_INFO, a few times: a board that is still booting misses the first request."""
        for attempt in range(_INFO_ATTEMPTS):
            try:
                await self.get_info()
                return
            except TransportError:
                if attempt == _INFO_ATTEMPTS - 1 or self._failure is not None:
                    raise

    async def _wait_info(self) -> None:
        assert self._info_ready is not None
        try:
            async with asyncio.timeout(_INFO_TIMEOUT_S):
                while self._info is None:
                    if self._failure is not None:
                        raise self._failure
                    if self._ended:
                        raise TransportError(f"{self.describe()} ended before sending DEVICE_INFO")
                    self._info_ready.clear()
                    await self._info_ready.wait()
        except TimeoutError:
            raise TransportError(
                f"{self.describe()} sent no DEVICE_INFO within {_INFO_TIMEOUT_S:g} s"
            ) from None

    async def close(self) -> None:
        """Stop streaming (if this session started it), close the link and the recording.

        Safe to call twice.

        Raises:
            RecordingError: the last write to the recording failed.
        """
        await self._shutdown(send_stop=self._stop_on_close)

    async def _shutdown(self, send_stop: bool) -> None:
        if self._closed:
            return
        cancelled = False
        if send_stop and self._started_here and self._link.live and self._connected:
            try:
                await self.command(Command.STOP, timeout_s=_STOP_TIMEOUT_S)
            except LegPressError:
                pass
            except asyncio.CancelledError:
                cancelled = True  # close the link and the recording first, then re-raise
        self._closed = True
        for task in list(self._tasks):
            task.cancel()
        try:
            await self._link.close()
        finally:
            if self._pump_task is not None:
                self._pump_task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._pump_task
            self._fail_pending(TransportError(f"{self.describe()} was closed"))
            self._wake_readers()
            recorder, self._recorder = self._recorder, None
            if recorder is not None:
                recorder.close()
        if cancelled:
            raise asyncio.CancelledError

    async def __aenter__(self) -> Self:
        return await self.open()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- reading -----------------------------------------------------------------------------

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> DeviceItem:
        while True:
            if self._out:
                return self._take()
            if self._failure is not None:
                raise self._failure
            if self._ended or self._closed:
                raise StopAsyncIteration
            if not self._opened or self._out_ready is None:
                raise UsageError("open the device first: `async with open_device(url) as dev`")
            self._out_ready.clear()
            await self._out_ready.wait()

    async def read(self, timeout_s: float | None = None) -> list[DeviceItem]:
        """Everything decoded so far, waiting up to ``timeout_s`` for at least one item.

        Returns:
            The items, oldest first; empty on timeout or at the end (see :attr:`ended`).

        Raises:
            TransportError: the link is lost for good.
        """
        try:
            async with asyncio.timeout(timeout_s):
                first = await self.__anext__()
        except (TimeoutError, StopAsyncIteration):
            return []
        items: list[DeviceItem] = [first]
        while self._out:
            items.append(self._take())
        return items

    def _take(self) -> DeviceItem:
        item = self._out.popleft()
        if self._link.finite and len(self._out) < _LOW_WATER and self._writable is not None:
            self._writable.set()
        return item

    # -- LinkSink -----------------------------------------------------------------------------

    def put(self, item: LinkItem) -> None:
        """Take one item from the link (event loop thread; never blocks)."""
        self._inbox.append(item)
        if self._inbox_ready is not None:
            self._inbox_ready.set()

    async def wait_writable(self) -> None:
        """Pause a finite source while its items wait for a reader."""
        writable = self._writable
        assert writable is not None
        while len(self._out) + len(self._inbox) >= _HIGH_WATER and not self._closed:
            writable.clear()
            await writable.wait()

    # -- the pump ------------------------------------------------------------------------------

    async def _pump(self) -> None:
        ready = self._inbox_ready
        assert ready is not None
        inbox = self._inbox
        while True:
            await ready.wait()
            ready.clear()
            produced = False
            while inbox:
                try:
                    produced |= self._handle(inbox.popleft())
                except LegPressError as exc:
                    self._fail(exc)
                except Exception as exc:
                    _log.exception("legpress: internal error while decoding")
                    self._fail(TransportError(f"internal error while decoding: {exc!r}"))
            if produced or self._ended or self._failure is not None:
                self._wake_readers()
            if len(self._out) < _LOW_WATER and self._writable is not None:
                self._writable.set()

    def _wake_readers(self) -> None:
        if self._out_ready is not None:
            self._out_ready.set()
        if self._info_ready is not None:
            self._info_ready.set()

    def _emit(self, item: DeviceItem) -> None:
        out = self._out
        out.append(item)
        if len(out) > self._max_backlog:
            out.popleft()
            self._stats.items_dropped += 1

    def _handle(self, item: LinkItem) -> bool:
        """Process one link item; True if it produced output."""
        if isinstance(item, RawPacket):
            self._record(RecordKind.DEVICE, item.t_host_ns, item.data)
            if self._decoder.info is None and _is_samples(item.data):
                if len(self._held) < 10_000:
                    self._held.append(item)
                return False
            return self._decode(item)
        if isinstance(item, LinkUp):
            self._connected = True
            self._record_event(
                item.t_host_ns,
                {
                    "event": "connected",
                    "address": item.address,
                    "mtu": item.mtu,
                    "reconnect": item.reconnect,
                },
            )
            self._emit(Connected(item.t_host_ns, item.address, item.mtu, item.reconnect))
            if item.reconnect and self._link.live and self._opened and not self._closed:
                self._spawn(self._resume())
            return True
        if isinstance(item, LinkDown):
            self._connected = False
            self._record_event(item.t_host_ns, {"event": "disconnected", "reason": item.reason})
            self._fail_pending(
                TransportError(f"lost the link to {self.describe()} while waiting for a reply")
            )
            self._emit(Disconnected(item.t_host_ns, item.reason))
            return True
        if isinstance(item, LinkEnd):
            self._connected = False
            self._ended = True
            self._fail_pending(TransportError(f"{self.describe()} ended"))
            return True
        self._fail(item.error)
        return True

    def _decode(self, packet: RawPacket) -> bool:
        produced = False
        t = packet.t_host_ns
        info: DeviceInfo | None = None  # decoded from this packet
        outs = self._decoder.feed(packet.data, t)
        if not outs and self._info is None and self._link.reads_info and _is_info(packet.data):
            self._fail(
                TransportError(
                    f"{self.describe()} is not a leg press speaking protocol {VERSION} (its "
                    "DEVICE_INFO cannot be read): update legpress and the firmware together"
                )
            )
            return True
        for out in outs:
            if isinstance(out, SampleBlock):
                self._emit(out)
                produced = True
            elif isinstance(out, Gap):
                self._emit(GapEvent(out, t))
                produced = True
            elif isinstance(out, DeviceInfo):
                info = out
                produced |= self._set_info(out, t)
            elif isinstance(out, Status):
                self._status = out
                self._emit(StatusEvent(out, t))
                if out.faults != self._faults:
                    old, self._faults = self._faults, out.faults
                    self._emit(
                        FaultEvent(out.faults, out.faults & ~old, old & ~out.faults, out, t)
                    )
                produced = True
            elif isinstance(out, Reply):
                self._on_reply(out, info)
            elif isinstance(out, Log):
                self._emit(LogEvent(out.text, t))
                produced = True
        return produced

    def _set_info(self, info: DeviceInfo, t_host_ns: int) -> bool:
        """The decoder has a new DEVICE_INFO: keep it, decode held packets, announce a change."""
        changed = info != self._info
        first = self._info is None
        self._info = info
        if self._info_ready is not None:
            self._info_ready.set()
        if self._held:
            held, self._held = self._held, []
            for packet in held:
                self._decode(packet)
            self._wake_readers()
        if changed and not first:
            self._emit(InfoEvent(info, t_host_ns))
            return True
        return False

    def _on_reply(self, reply: Reply, info: DeviceInfo | None) -> None:
        """Hand a reply to the command waiting for it (the decoder applied it to DEVICE_INFO)."""
        pending = self._pending.get(reply.request_seq)
        if pending is None or reply.command not in (pending.command, 0):
            self._stats.unmatched_replies += 1
            return
        del self._pending[reply.request_seq]
        if pending.future.done():
            return
        if reply.ok and reply.command == Command.GET_INFO and info is None:
            pending.future.set_exception(
                CommandError("GET_INFO: the reply carried no readable DEVICE_INFO", reply.command)
            )
            pending.future.exception()  # mark retrieved: the waiter may have gone
        else:
            pending.future.set_result(reply)

    def _fail(self, error: LegPressError) -> None:
        if self._failure is None:
            self._failure = error
        self._fail_pending(error)
        self._wake_readers()

    def _fail_pending(self, error: LegPressError) -> None:
        pending, self._pending = self._pending, {}
        for p in pending.values():
            if not p.future.done():
                p.future.set_exception(error)
                p.future.exception()  # mark retrieved: the waiter may have gone

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resume(self) -> None:
        """After a reconnection: refresh DEVICE_INFO and restart the stream if it stopped."""
        try:
            if not self._link.reads_info:
                await self.get_info()
            if self._want_streaming:
                status = await self.status()
                if not status.streaming:
                    await self.command(Command.START)
        except LegPressError as exc:
            _log.info("legpress: resuming %s after reconnection failed: %s", self.url, exc)

    # -- recording ----------------------------------------------------------------------------

    def _record(self, kind: RecordKind, t_host_ns: int, payload: bytes) -> None:
        if self._recorder is not None:
            self._recorder.write_packet(t_host_ns, payload, kind)
        elif self._record_path is not None:
            self._prerecord.append((kind, t_host_ns, payload))

    def _record_event(self, t_host_ns: int, event: dict[str, Any]) -> None:
        if self._record_path is not None:
            import json

            self._record(RecordKind.EVENT, t_host_ns, json.dumps(event).encode())

    def _open_recorder(self) -> None:
        assert self._record_path is not None and self._info is not None
        header = dict(self._header)
        known = {k: header.pop(k, None) for k in ("person", "machine", "calibration")}
        calibration = known["calibration"]
        if calibration is not None and not isinstance(calibration, Calibration | Mapping):
            raise UsageError("header calibration must be a Calibration or a dict")
        self._recorder = RecordingWriter(
            self._record_path,
            make_header(
                self._info,
                url=self.url,
                calibration=calibration,
                person=None if known["person"] is None else str(known["person"]),
                machine=None if known["machine"] is None else str(known["machine"]),
                extra=header,
                t0_host_ns=self._link.now_ns(),
            ),
            overwrite=self._overwrite,
        )
        pre, self._prerecord = self._prerecord, []
        for kind, t, payload in pre:
            self._recorder.write_packet(t, payload, kind)

    # -- commands ------------------------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFFFF
        while self._seq in self._pending:
            self._seq = (self._seq + 1) & 0xFFFF
        return self._seq

    async def command(
        self, command: Command | int, args: bytes = b"", *, timeout_s: float | None = None
    ) -> Reply:
        """Send a command and wait for its reply (matched by sequence number).

        Args:
            command: the command code.
            args: its argument bytes (PROTOCOL.md).
            timeout_s: how long to wait (default ``command_timeout_s``).

        Returns:
            The ``OK`` reply.

        Raises:
            CommandError: the device refused the command (the message says why).
            TransportError: no reply in time, or the link is down.
            UsageError: the device is not open, or a recording cannot take the command.
        """
        if not self._opened or self._closed:
            raise UsageError("the device is not open: use `async with open_device(url) as dev`")
        if self._failure is not None:
            raise self._failure
        code = int(command)
        name = _command_name(code)
        seq = self._next_seq()
        packet = encode_command(code, args, seq)
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._pending[seq] = _Pending(code, future, args)
        timeout = self._command_timeout_s if timeout_s is None else timeout_s
        self._stats.commands += 1
        try:
            self._record(RecordKind.HOST, self._link.now_ns(), packet)
            await self._link.send(packet)
            async with asyncio.timeout(timeout):
                reply = await future
        except TimeoutError:
            self._stats.command_timeouts += 1
            raise TransportError(
                f"{name}: no reply from {self.describe()} within {timeout:g} s; "
                "is it still connected and running the legpress firmware?"
            ) from None
        finally:
            self._pending.pop(seq, None)
        if not reply.ok:
            self._stats.command_errors += 1
            raise CommandError(
                self._explain(reply, args), command=reply.command, result=reply.result
            )
        return reply

    def _explain(self, reply: Reply, args: bytes) -> str:
        name = _command_name(reply.command)
        try:
            result = Result(reply.result)
            reason = _RESULT_TEXT.get(result, result.name)
        except ValueError:
            reason = f"unknown result {reply.result}"
        what = name
        if reply.command == Command.SET_RATE and len(args) == 2:
            what = f"SET_RATE {struct.unpack('<H', args)[0]} Hz"
            if reply.result == Result.BAD_ARGUMENT:
                reason = "the rate must be 50 to 400 Hz"
        elif reply.command == Command.IDENTIFY and reply.result == Result.BAD_ARGUMENT:
            reason = "the duration must be 1 to 60 s"
        elif reply.command == Command.TARE and reply.result == Result.BAD_ARGUMENT:
            reason = "samples must be 1 to 255"
        return f"{what} refused by {self.describe()}: {reason}"

    async def start(self) -> None:
        """Start streaming samples.

        Raises:
            CommandError: refused. TransportError: no reply.
        """
        await self.command(Command.START)
        self._want_streaming = True
        self._started_here = True

    async def stop(self) -> None:
        """Stop streaming samples.

        Raises:
            CommandError: refused. TransportError: no reply.
        """
        self._want_streaming = False
        await self.command(Command.STOP)

    async def zero(self) -> int:
        """Make the current sled position the zero (the top).

        Returns:
            The position before zeroing, in encoder counts.

        Raises:
            CommandError: refused. TransportError: no reply.
        """
        reply = await self.command(Command.ZERO)
        if len(reply.payload) < 4:
            raise CommandError("ZERO: the reply carried no position", Command.ZERO, reply.result)
        return int(struct.unpack_from("<i", reply.payload)[0])

    async def tare(self, samples: int = 32) -> tuple[int, ...]:
        """Measure each pad cell unloaded (nobody on the pad) and keep it as its zero.

        Args:
            samples: readings averaged per cell, 1 to 255.

        Returns:
            Each cell's unloaded reading in ADC counts, cell 0 at the seat.

        Raises:
            UsageError: ``samples`` out of range. CommandError: refused.
            TransportError: no reply.
        """
        if not 1 <= samples <= 255:
            raise UsageError(f"tare samples must be 1 to 255, got {samples}")
        period_s = self._info.period_us / 1e6 if self._info else 0.02
        timeout = max(self._command_timeout_s, 1.0 + 2 * samples * period_s)
        reply = await self.command(Command.TARE, bytes([samples]), timeout_s=timeout)
        k = len(reply.payload) // 2
        return tuple(struct.unpack(f"<{k}H", reply.payload[: 2 * k]))

    async def set_rate(self, hz: int) -> int:
        """Change the sample rate.

        Args:
            hz: samples per second (the firmware accepts 50 to 400).

        Returns:
            The new sample period in microseconds.

        Raises:
            CommandError: refused (out of range). TransportError: no reply.
        """
        if not 0 < hz <= 0xFFFF:
            raise UsageError(f"rate must be a positive number of hertz, got {hz}")
        reply = await self.command(Command.SET_RATE, struct.pack("<H", int(hz)))
        if len(reply.payload) < 4:
            raise CommandError("SET_RATE: the reply carried no period", Command.SET_RATE)
        return int(struct.unpack_from("<I", reply.payload)[0])

    async def identify(self, seconds: int = 5) -> None:
        """Blink the device's LED so you can tell which leg press it is.

        Args:
            seconds: how long, 1 to 60.

        Raises:
            CommandError: refused. TransportError: no reply.
        """
        if not 0 <= seconds <= 255:
            raise UsageError(f"identify seconds must be 1 to 60, got {seconds}")
        await self.command(Command.IDENTIFY, bytes([seconds]))

    async def status(self) -> Status:
        """Ask for the device's health now.

        Raises:
            CommandError: refused. TransportError: no reply.
        """
        reply = await self.command(Command.GET_STATUS)
        try:
            status = Status.from_body(reply.payload)
        except ProtocolError as exc:
            raise CommandError(f"GET_STATUS: {exc}", Command.GET_STATUS) from None
        self._status = status
        return status

    async def get_info(self, *, timeout_s: float | None = None) -> DeviceInfo:
        """Ask for ``DEVICE_INFO`` again (it is kept up to date by itself otherwise).

        Raises:
            CommandError: refused. TransportError: no reply.
        """
        try:
            reply = await self.command(Command.GET_INFO, timeout_s=timeout_s)
        except TransportError as exc:
            if self._info is None:
                raise TransportError(
                    f"{exc}; if the board shows a MicroPython prompt, deploy the firmware "
                    "with `legpress firmware deploy`"
                ) from None
            raise
        del reply  # the decoder took the new DEVICE_INFO from it
        return self.info

    async def reboot(self) -> None:
        """Reset the device (the link drops and comes back).

        Raises:
            CommandError: refused. TransportError: no reply.
        """
        await self.command(Command.REBOOT)

    async def repl(self) -> None:
        """Serial only: stop the firmware and hand the port back to the MicroPython REPL.

        Raises:
            CommandError: refused. TransportError: no reply.
        """
        self._want_streaming = False
        self._started_here = False
        await self.command(Command.REPL)


def _is_info(data: bytes) -> bool:
    return len(data) > 1 and data[1] == MsgType.DEVICE_INFO


def _is_samples(data: bytes) -> bool:
    return len(data) > 1 and data[1] in (MsgType.SAMPLES, MsgType.SAMPLES_COMPACT)


def _check_new_file(path: str | os.PathLike[str], overwrite: bool) -> None:
    """Fail before connecting (a BLE scan takes seconds) if the recording cannot be created."""
    target = os.fspath(path)
    if os.path.exists(target) and not overwrite:
        raise RecordingError(
            f"{target} already exists: choose another name, or overwrite it (--overwrite)"
        )
    parent = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(parent):
        raise RecordingError(f"cannot create recording {target}: no directory {parent}")


def _command_name(code: int) -> str:
    try:
        return Command(code).name
    except ValueError:
        return f"command 0x{code:02x}"


def open_device(url: str, **options: Any) -> Device:
    """Open a leg press by URL; use the result with ``async with``.

    Args:
        url: ``ble:NAME-or-ADDRESS`` (``ble:`` = first found), ``serial:PORT``,
            ``sim:scenario=liftoff,seed=3``, or ``replay:FILE`` (``?realtime=1`` to pace it).
        **options: :class:`Device` options (``record``, ``header``, ``autostart``,
            ``command_timeout_s``, ...) and link options (``realtime``, ``ble_backend``, ...).

    Returns:
        The device, not yet connected: ``async with open_device(url) as dev:`` connects.

    Raises:
        UsageError: unknown URL scheme or option.
    """
    return Device(url, **options)


# -- blocking wrapper -------------------------------------------------------------------------


class BlockingDevice:
    """A :class:`Device` for plain scripts: its event loop runs in a background thread.

    .. code-block:: python

        with legpress.open_blocking("sim:scenario=liftoff") as dev:
            for item in dev:
                ...

    Args:
        url: as for :func:`open_device`.
        open_timeout_s: longest time to wait for the connection.
        **options: as for :func:`open_device`.

    Raises:
        the errors of :meth:`Device.open`.
    """

    def __init__(self, url: str, *, open_timeout_s: float | None = 60.0, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="legpress-device-loop", daemon=True
        )
        self._thread.start()
        self._closed = False
        try:
            self._device: Device = self._call(self._open(url, options), open_timeout_s)
        except BaseException:
            self._stop_loop()
            raise

    @staticmethod
    async def _open(url: str, options: dict[str, Any]) -> Device:
        device = Device(url, **options)
        await device.open()
        return device

    def _call(self, coro: Awaitable[_T], timeout_s: float | None = None) -> _T:
        if self._closed:
            raise UsageError("the device is closed")
        future: _ThreadFuture[_T] = asyncio.run_coroutine_threadsafe(
            _as_coroutine(coro), self._loop
        )
        try:
            return future.result(timeout_s)
        except TimeoutError:
            future.cancel()
            raise TransportError("timed out waiting for the device") from None
        except BaseException:
            future.cancel()
            raise

    @property
    def device(self) -> Device:
        """The asynchronous device (use it only from its loop)."""
        return self._device

    @property
    def info(self) -> DeviceInfo:
        """The device's ``DEVICE_INFO``."""
        return self._device.info

    @property
    def stats(self) -> DeviceStats:
        """The device's counters."""
        return self._device.stats

    @property
    def ended(self) -> bool:
        """True at the end of a recording or simulation."""
        return self._device.ended

    def read(self, timeout_s: float | None = None) -> list[DeviceItem]:
        """Everything decoded so far, waiting up to ``timeout_s`` for at least one item.

        Returns:
            The items; empty on timeout or at the end (see :attr:`ended`).

        Raises:
            TransportError: the link is lost for good.
        """
        return self._call(self._device.read(timeout_s))

    def __iter__(self) -> Iterator[DeviceItem]:
        while True:
            items = self.read(None)
            if not items:
                return
            yield from items

    def start(self) -> None:
        """See :meth:`Device.start`."""
        self._call(self._device.start())

    def stop(self) -> None:
        """See :meth:`Device.stop`."""
        self._call(self._device.stop())

    def zero(self) -> int:
        """See :meth:`Device.zero`."""
        return self._call(self._device.zero())

    def tare(self, samples: int = 32) -> tuple[int, ...]:
        """See :meth:`Device.tare`."""
        return self._call(self._device.tare(samples))

    def set_rate(self, hz: int) -> int:
        """See :meth:`Device.set_rate`."""
        return self._call(self._device.set_rate(hz))

    def identify(self, seconds: int = 5) -> None:
        """See :meth:`Device.identify`."""
        self._call(self._device.identify(seconds))

    def status(self) -> Status:
        """See :meth:`Device.status`."""
        return self._call(self._device.status())

    def command(self, command: Command | int, args: bytes = b"") -> Reply:
        """See :meth:`Device.command`."""
        return self._call(self._device.command(command, args))

    def close(self) -> None:
        """Close the device and stop the background loop. Safe to call twice."""
        if self._closed:
            return
        try:
            self._call(self._device.close(), 10.0)
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._closed = True
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


async def _as_coroutine(aw: Awaitable[_T]) -> _T:
    return await aw


def open_blocking(url: str, **options: Any) -> BlockingDevice:
    """Open a leg press for a plain (non-async) script.

    Args:
        url: as for :func:`open_device`.
        **options: as for :func:`open_device`, plus ``open_timeout_s``.

    Returns:
        The connected device; iterate it, or call :meth:`BlockingDevice.read`.

    Raises:
        the errors of :meth:`Device.open`.
    """
    return BlockingDevice(url, **options)
