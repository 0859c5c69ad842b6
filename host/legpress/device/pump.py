"""The :class:`Device`: a link, the decoder in a background task (the pump), the commands,
reconnection and the recording tee; :func:`open_device` makes one from a URL."""

from __future__ import annotations

import asyncio
import logging
import os
import struct
from collections import deque
from collections.abc import Coroutine, Mapping
from types import TracebackType
from typing import Any, Final, Self

from legpress.closing import stop_task
from legpress.device.commands import CommandRPC
from legpress.device.events import (
    Connected,
    DeviceItem,
    Disconnected,
    FaultEvent,
    GapEvent,
    InfoEvent,
    LogEvent,
    StatusEvent,
)
from legpress.device.stats import DeviceStats
from legpress.dsp.calibration import Calibration
from legpress.errors import (
    CommandError,
    LegPressError,
    ProtocolError,
    TransportError,
    UsageError,
)
from legpress.protocol.decoder import Decoder, Gap, SampleBlock
from legpress.protocol.messages import DeviceInfo, Log, Reply, Status
from legpress.protocol.spec import VERSION, Command, Fault, MsgType
from legpress.storage.tee import RecordingTee
from legpress.transport import make_link
from legpress.transport.base import Link, LinkEnd, LinkItem, RawPacket

__all__ = ["Device", "open_device"]

_log = logging.getLogger(__name__)

_HIGH_WATER: Final = 64  # finite sources pause when this many items wait
_LOW_WATER: Final = 16
_INFO_TIMEOUT_S: Final = 5.0
_INFO_ATTEMPTS: Final = 3
_STOP_TIMEOUT_S: Final = 1.0


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
        self._rpc = CommandRPC(self._stats, self.describe)
        self._info: DeviceInfo | None = None
        self._status: Status | None = None
        self._faults = Fault(0)
        self._inbox: deque[LinkItem] = deque()
        self._out: deque[DeviceItem] = deque()
        self._held: list[RawPacket] = []
        self._tee: RecordingTee | None = None
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
        if self._tee is not None:
            self._stats.recorded_records = self._tee.records
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
            # Checks the file before connecting (a BLE scan takes seconds).
            self._tee = RecordingTee(self._record_path, self._header, overwrite=self._overwrite)
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
            if self._tee is not None:
                self._tee.start(self.info, self.url)
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
                await stop_task(self._pump_task)
            self._rpc.fail_all(TransportError(f"{self.describe()} was closed"))
            self._wake_readers()
            if self._tee is not None:
                self._tee.close()
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
        tee = self._tee
        if isinstance(item, RawPacket):
            if tee is not None:
                tee.device(item.t_host_ns, item.data)
            if self._decoder.info is None and _is_samples(item.data):
                if len(self._held) < 10_000:
                    self._held.append(item)
                return False
            return self._decode(item)
        if isinstance(item, Connected | Disconnected):
            if tee is not None:
                tee.event(item.t_host_ns, item.to_record())
            self._emit(item)  # the link's own event, passed on
            self._connected = isinstance(item, Connected)
            if isinstance(item, Disconnected):
                self._rpc.fail_all(
                    TransportError(f"lost the link to {self.describe()} while waiting for a reply")
                )
            elif item.reconnect and self._link.live and self._opened and not self._closed:
                self._spawn(self._resume())
            return True
        if isinstance(item, LinkEnd):
            self._connected = False
            self._ended = True
            self._rpc.fail_all(TransportError(f"{self.describe()} ended"))
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
                self._rpc.answer(out, info)
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

    def _fail(self, error: LegPressError) -> None:
        if self._failure is None:
            self._failure = error
        self._rpc.fail_all(error)
        self._wake_readers()

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

    # -- commands ------------------------------------------------------------------------------

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
        timeout = self._command_timeout_s if timeout_s is None else timeout_s
        return await self._rpc.call(int(command), args, self._send, timeout)

    async def _send(self, packet: bytes) -> None:
        if self._tee is not None:
            self._tee.host(self._link.now_ns(), packet)
        await self._link.send(packet)

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

    async def beep(self, pattern: int) -> None:
        """Sound the machine's buzzer, for the person on it.

        Args:
            pattern: 16 slots of 100 ms, bit 0 first (``0b10101``: three short beeps); ``0``
                silences it (PROTOCOL.md, "Buzzer patterns").

        Raises:
            CommandError: refused (firmware without the buzzer commands answers
                ``UNKNOWN_COMMAND``). TransportError: no reply.
        """
        if not 0 <= pattern <= 0xFFFF:
            raise UsageError(f"a beep pattern is 16 bits (0 to 65535), got {pattern}")
        await self.command(Command.BEEP, struct.pack("<H", pattern))

    async def set_limit(
        self, limit_counts: int | None, *, rearm_counts: int, pattern: int
    ) -> None:
        """Arm the device's own depth alarm: it beeps ``pattern`` by itself in the sample in
        which the sled passes ``limit_counts`` (encoder counts, larger = deeper), also while no
        host is connected, and again once the sled came back by ``rearm_counts``.

        Args:
            limit_counts: the depth in encoder counts, or ``None`` to turn the alarm off.
            rearm_counts: the dead band against encoder jitter at the limit (0 to 65535).
            pattern: the buzzer pattern (see :meth:`beep`; not 0).

        Raises:
            CommandError: refused. TransportError: no reply.
        """
        if limit_counts is None:
            args = struct.pack("<iHH", 0, 0, 0)
        else:
            if not -(1 << 31) <= limit_counts < 1 << 31:
                raise UsageError(
                    f"limit must fit in 32 bits of encoder counts, got {limit_counts}"
                )
            if not 0 <= rearm_counts <= 0xFFFF:
                raise UsageError(f"rearm must be 0 to 65535 counts, got {rearm_counts}")
            if not 0 < pattern <= 0xFFFF:
                raise UsageError(f"the limit's beep pattern must be 1 to 65535, got {pattern}")
            args = struct.pack("<iHH", limit_counts, rearm_counts, pattern)
        await self.command(Command.SET_LIMIT, args)

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

    async def forget_bonds(self) -> None:
        """Serial only: make the device forget every Bluetooth bond, then reset.

        Every computer or phone that paired with it must pair again (and remove the old
        bond on its side). Over Bluetooth the device refuses.

        Raises:
            CommandError: refused. TransportError: no reply.
        """
        await self.command(Command.FORGET_BONDS)

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
