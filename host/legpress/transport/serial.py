"""``serial:PORT``: the leg press over USB serial (pyserial), framed as in PROTOCOL.md.

A reader thread reads whatever arrives, timestamps it, splits it into messages with
:class:`~legpress.protocol.framing.FrameDecoder` (which skips REPL text, boot messages and line
noise) and hands the messages to the event loop with ``loop.call_soon_threadsafe``. Commands are
framed and written from a worker thread. When the port disappears (cable pulled, board reset) the
reader thread reopens it with backoff.

Any pyserial URL works as the port too (``serial:socket://host:7000``, ``serial:rfc2217://...``).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import platform
import threading
import time
from typing import Any, Final

import serial
import serial.tools.list_ports

from legpress.errors import DeviceNotFoundError, TransportError, UsageError
from legpress.protocol.framing import FrameDecoder, encode_frame
from legpress.transport.base import Connected, Disconnected, Link, LinkFailed, LinkSink, RawPacket

#: USB vendor ids of the serial bridges found on ESP32 boards (Silicon Labs CP210x, WCH CH34x,
#: Espressif native USB, FTDI).
ESP32_USB_VIDS: Final = frozenset({0x10C4, 0x1A86, 0x303A, 0x0403})
_READ_TIMEOUT_S: Final = 0.05
_WRITE_TIMEOUT_S: Final = 2.0
_BACKOFF_S: Final = (0.25, 0.5, 1.0, 2.0)


def open_error(port: str, exc: BaseException) -> TransportError | DeviceNotFoundError:
    """Turn a failure to open ``port`` into an error that says what to do."""
    code = getattr(exc, "errno", None)
    text = str(exc)
    if code in (errno.EACCES, errno.EPERM) or "Permission denied" in text:
        if platform.system() == "Linux":
            return TransportError(
                f"permission denied on {port}: add yourself to the dialout group "
                "(sudo usermod -aG dialout $USER) and log in again"
            )
        return TransportError(f"permission denied on {port}: allow this user to use the port")
    if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO) or "No such file" in text:
        present = tuple(p.device for p in serial.tools.list_ports.comports())
        listing = ", ".join(present) if present else "none"
        return DeviceNotFoundError(
            f"serial port {port} not found: is the board plugged in? ports present: {listing}",
            port,
            present,
        )
    if code in (errno.EBUSY, errno.EAGAIN) or "exclusively lock" in text:
        return TransportError(
            f"serial port {port} is in use by another program: close mpremote, screen, "
            "the Arduino IDE or another legpress and try again"
        )
    return TransportError(f"cannot open serial port {port}: {text}")


def find_port() -> str:
    """The only USB serial port that looks like an ESP32 board.

    Raises:
        DeviceNotFoundError: none (lists the ports present).
        UsageError: more than one (lists them; name one).
    """
    ports = list(serial.tools.list_ports.comports())
    boards = [p.device for p in ports if p.vid in ESP32_USB_VIDS]
    if len(boards) == 1:
        return str(boards[0])
    if not boards:
        present = tuple(p.device for p in ports)
        listing = ", ".join(present) if present else "none"
        raise DeviceNotFoundError(
            f"no ESP32 USB serial port found: plug the board in, or name the port "
            f"(serial:/dev/ttyUSB0); ports present: {listing}",
            "",
            present,
        )
    raise UsageError(
        f"several boards are plugged in; name one: serial:{' or serial:'.join(boards)}"
    )


class SerialLink(Link):
    """A leg press on a serial port.

    Args:
        url: the URL, for messages.
        port: device path (``/dev/ttyUSB0``, ``COM3``) or pyserial URL; empty = the only board.
        baudrate: line speed (ignored by USB CDC ports).
        reconnect: reopen the port after it disappears.
        reconnect_timeout_s: give up after this long (None: never).
    """

    scheme = "serial"
    live = True
    reads_info = False

    def __init__(
        self,
        url: str,
        port: str,
        *,
        baudrate: int = 115200,
        reconnect: bool = True,
        reconnect_timeout_s: float | None = None,
    ) -> None:
        super().__init__(url)
        self.port = port
        self.baudrate = baudrate
        self.reconnect = reconnect
        self.reconnect_timeout_s = reconnect_timeout_s
        self._ser: Any = None
        self._sink: LinkSink | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._write_lock = threading.Lock()
        self._frames = FrameDecoder()
        self.stats.framing = self._frames.stats

    def describe(self) -> str:
        """The port name."""
        return self.port or self.url

    def _open_port(self) -> Any:
        try:
            ser = serial.serial_for_url(
                self.port,
                baudrate=self.baudrate,
                timeout=_READ_TIMEOUT_S,
                write_timeout=_WRITE_TIMEOUT_S,
                do_not_open=True,
            )
            # DTR/RTS low before opening: the auto-reset circuit of ESP32 boards must not
            # reset the board (or hold it in the bootloader) when the port opens.
            ser.dtr = False
            ser.rts = False
            if hasattr(ser, "exclusive"):
                ser.exclusive = True
            ser.open()
        except (serial.SerialException, OSError, ValueError) as exc:
            raise open_error(self.port, exc) from None
        return ser

    async def open(self, sink: LinkSink) -> None:
        """Open the port and start the reader thread."""
        if not self.port:
            self.port = await asyncio.to_thread(find_port)
        self._ser = await asyncio.to_thread(self._open_port)
        self._sink = sink
        self._loop = asyncio.get_running_loop()
        self.stats.connects += 1
        self.stats.connected = True
        sink.put(Connected(time.monotonic_ns(), self.port))
        self._thread = threading.Thread(
            target=self._reader, name=f"legpress-serial:{self.port}", daemon=True
        )
        self._thread.start()

    # -- reader thread -----------------------------------------------------------------------

    def _post(self, callback: Any, *args: Any) -> bool:
        loop = self._loop
        if loop is None or loop.is_closed():
            return False
        try:
            loop.call_soon_threadsafe(callback, *args)
        except RuntimeError:  # the loop closed meanwhile
            return False
        return True

    def _deliver(self, t_host_ns: int, frames: list[bytes]) -> None:
        sink = self._sink
        if sink is None:
            return
        stats = self.stats
        for frame in frames:
            stats.packets += 1
            stats.bytes += len(frame)
            sink.put(RawPacket(t_host_ns, frame))

    def _put(self, item: Connected | Disconnected | LinkFailed) -> None:
        if self._sink is not None:
            self._sink.put(item)

    def _reader(self) -> None:
        frames = self._frames
        while not self._stop.is_set():
            ser = self._ser
            if ser is None:
                if not self._reopen():
                    return
                continue
            try:
                data = ser.read(1)
                if data:
                    waiting = ser.in_waiting
                    if waiting:
                        data += ser.read(waiting)
            except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                if self._stop.is_set():
                    return
                self._lost(f"serial port {self.port} lost: {exc}")
                continue
            if not data:
                continue
            t = time.monotonic_ns()
            messages = frames.feed(data)
            if messages and not self._post(self._deliver, t, messages):
                return

    def _lost(self, reason: str) -> None:
        ser, self._ser = self._ser, None
        with contextlib.suppress(Exception):
            ser.close()
        self.stats.connected = False
        self.stats.disconnects += 1
        self.stats.last_error = reason
        self._post(self._put, Disconnected(time.monotonic_ns(), reason))
        if not self.reconnect:
            self._post(self._put, LinkFailed(TransportError(reason)))
            self._stop.set()

    def _reopen(self) -> bool:
        """Reopen the port with backoff; False when giving up or stopping."""
        down_ns = time.monotonic_ns()
        attempt = 0
        while not self._stop.is_set():
            delay = _BACKOFF_S[min(attempt, len(_BACKOFF_S) - 1)]
            if self._stop.wait(delay):
                return False
            attempt += 1
            try:
                ser = self._open_port()
            except (TransportError, DeviceNotFoundError) as exc:
                self.stats.last_error = str(exc)
                elapsed_s = (time.monotonic_ns() - down_ns) / 1e9
                if self.reconnect_timeout_s is not None and elapsed_s > self.reconnect_timeout_s:
                    self._post(
                        self._put,
                        LinkFailed(
                            TransportError(
                                f"lost {self.port} and could not reopen it in "
                                f"{self.reconnect_timeout_s:g} s: {exc}"
                            )
                        ),
                    )
                    return False
                continue
            self._frames = FrameDecoder()
            self._frames.stats = self.stats.framing or self._frames.stats
            self._ser = ser
            self.stats.connected = True
            self.stats.connects += 1
            self.stats.reconnects += 1
            self.stats.downtime_s += (time.monotonic_ns() - down_ns) / 1e9
            self._post(self._put, Connected(time.monotonic_ns(), self.port, reconnect=True))
            return True
        return False

    # -- commands ------------------------------------------------------------------------------

    def _write(self, frame: bytes) -> None:
        with self._write_lock:
            ser = self._ser
            if ser is None:
                raise TransportError(f"serial port {self.port} is disconnected (reconnecting)")
            try:
                ser.write(frame)
                ser.flush()
            except (serial.SerialException, OSError) as exc:
                raise TransportError(f"cannot write to {self.port}: {exc}") from None

    async def send(self, packet: bytes) -> None:
        """Frame and write one command."""
        if self._ser is None:
            raise TransportError(f"serial port {self.port} is disconnected (reconnecting)")
        # A leading 0x00 ends whatever the device has collected (typed text, noise), so that
        # cannot corrupt this command's frame.
        await asyncio.to_thread(self._write, b"\x00" + encode_frame(packet))
        self.stats.sent += 1

    async def close(self) -> None:
        """Stop the reader thread and close the port."""
        self._stop.set()
        ser = self._ser
        if ser is not None and hasattr(ser, "cancel_read"):
            with contextlib.suppress(Exception):
                ser.cancel_read()
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.to_thread(thread.join, 2.0)
        ser, self._ser = self._ser, None
        if ser is not None:
            with contextlib.suppress(Exception):
                ser.close()
        self.stats.connected = False
        self._sink = None
