# The USB serial link: the same messages and commands as BLE, each framed as
# COBS(message || crc32) || 0x00 (framing.py, PROTOCOL.md "Serial framing").
#
# Pure logic over two stream objects, so the tests drive it with byte buffers:
#   stream_in.readinto(buf) -> bytes read now (0 if none); never blocks
#   stream_out.write(buf, off, n) -> writes up to n bytes of buf from off and returns how many
#                               it took (MicroPython streams take offset and length, so no slice
#                               is allocated per packet); it may take fewer, or none, and never
#                               blocks
# On the device these wrap sys.stdin.buffer (polled with select.poll) and sys.stdout.buffer
# (PacedStdout: no faster than the UART drains, so the loop never waits on its FIFO);
# the app turns Ctrl-C off (micropython.kbd_intr(-1)) while the link runs, because frames may
# hold 0x03. Bytes that are not frames (a terminal, REPL echo) are dropped and counted.
#
# The link becomes `active` with the first valid frame; from then on it also carries LOG
# lines. Samples go out only after a START received here; STATUS follows once a second while
# streaming, and DEVICE_INFO right after START.
#
# One frame is in flight at a time, in `_tx`: what the stream did not take goes out on the next
# service(). Meanwhile a reply waits in the handler's buffer (and no further input is fed),
# STATUS and DEVICE_INFO wait as flags, LOG lines in a short queue, samples in the ring.

from .compat import const, ticks_add, ticks_diff, ticks_us
from .control import REPLY_MAX, CommandHandler
from .framing import FrameReader, encode_into
from .protocol import (
    pack_header,
    pack_info_body,
    pack_log,
    pack_status_body,
)

# The constants of device.py and protocol.py used here, as this module's own: imported, each
# would cost a dict entry and a lookup on the device; these are folded into the code
# (tests/firmware/test_consts.py checks them against their source).
_HEADER_SIZE = const(9)
_LINK_SERIAL = const(2)
_SLOT_SIZE = const(244)
_STATUS_BODY_SIZE = const(53)
_T_DEVICE_INFO = const(0x03)
_T_STATUS = const(0x04)

_RX_CHUNK = const(64)
# Commands are at most 12 bytes (16 framed with the CRC); longer frames are dropped as bad.
_FRAME_IN_MAX = const(128)
_MSG_MAX = const(212)  # LOG: header + 200 bytes of text; larger than every other message
_COUNTER_MASK = const(0x3FFFFFFF)
_LOG_QUEUE = const(8)
_UART_FIFO = const(128)
_UART_US_PER_BYTE = const(87)  # 10 bits at 115200 baud
_STALL_US = const(5000)
_STALL_PAUSE_US = const(1000000)


def _frame_size(n):
    return n + 4 + (n + 4) // 254 + 2


class PacedStdout:
    """sys.stdout.buffer, written no faster than the console UART drains; never blocks.

    On the ESP32 port a stdout write waits a 10 ms FreeRTOS tick each time the 128-byte UART
    FIFO is full (ports/esp32/uart.c), and on an S3 it also waits, up to 500 ms, while a
    connected USB-CDC host reads nothing (shared/tinyusb/mp_usbd_cdc.c). This writes at most
    what the FIFO can take now, by a model of its drain at 115200 baud, and returns the count:
    SerialLink sends the rest on its next pass. A write that still took long (a stalled
    USB-CDC host) pauses the output for a second, so a stuck host costs one stall a second.
    """

    def __init__(self, stream, ticks=ticks_us):
        self._write = stream.write
        self._ticks = ticks
        self._empty_at = ticks()  # when the FIFO will have drained what was written
        self._pause_until = None
        self.stalls = 0

    def write(self, buf, off, n):
        now = self._ticks()
        if self._pause_until is not None:
            if ticks_diff(self._pause_until, now) > 0:
                return 0
            self._pause_until = None
        backlog = ticks_diff(self._empty_at, now)
        if backlog < 0:
            backlog = 0
        room = _UART_FIFO - backlog // _UART_US_PER_BYTE
        if room <= 0:
            return 0
        if n > room:
            n = room
        w = self._write(buf, off, n)
        if w is None:
            w = n
        done = self._ticks()
        if ticks_diff(done, now) > _STALL_US:
            self.stalls += 1
            self._pause_until = ticks_add(done, _STALL_PAUSE_US)
        self._empty_at = ticks_add(now, backlog + w * _UART_US_PER_BYTE)
        return w


class SerialLink:
    def __init__(self, device, stream_in, stream_out, handler=None):
        self._dev = device
        self._ring = device.ring
        self._in = stream_in
        self._write = stream_out.write  # bound once: write(buf, off, n) -> bytes taken
        self.handler = handler if handler is not None else CommandHandler(device)
        self._rx = bytearray(_RX_CHUNK)
        self._rx_at = 0  # _rx[_rx_at:_rx_n] is read but not yet fed to the frame reader
        self._rx_n = 0
        self._reader = FrameReader(_FRAME_IN_MAX)
        n = max(_SLOT_SIZE, _MSG_MAX, REPLY_MAX)
        self._msg = bytearray(n)
        self._tx = bytearray(_frame_size(n))
        self._zero = bytearray(1)
        self._lead = False  # the 0x00 before the frame in flight is still to go
        self._tx_off = 0  # the frame in flight is _tx[_tx_off:_tx_end]
        self._tx_end = 0
        self._reply_len = 0  # a reply waiting for _tx
        self._status_due = False
        self._logs = []
        self.active = False
        self.frames_in = 0

    @property
    def bad_frames(self):
        return self._reader.bad_frames

    def start(self):
        # A lone delimiter ends whatever boot text the host has collected as a frame.
        self._lead = True
        self._flush()

    def _flush(self):
        # Writes what the stream takes of the frame in flight; True once nothing is left.
        if self._lead:
            if not self._write(self._zero, 0, 1):
                return False
            self._lead = False
        off = self._tx_off
        end = self._tx_end
        if off != end:
            off += self._write(self._tx, off, end - off) or 0
            self._tx_off = off
            if off != end:
                return False
        return True

    def service(self):
        dev = self._dev
        n = 0
        self._flush()
        if self._reply_len and self._send(self.handler.reply, self._reply_len):
            self._reply_len = 0
        if self._rx_at != self._rx_n:
            self._receive()  # what came before a reply that had to wait
        if self._rx_at == self._rx_n and not self._reply_len:
            n = self._in.readinto(self._rx)
            if n:
                self._rx_at = 0
                self._rx_n = n
                self._receive()
        if dev.info_due_serial and self.send_info():
            dev.info_due_serial = False
        if self._status_due:
            self.send_status()
        while self._logs and self._send_log(self._logs[0]):
            self._logs.pop(0)
        if dev.stream_link == _LINK_SERIAL and self._ring.pending():
            self._send_samples()
        return n

    def _receive(self):
        # Feeds the bytes read into the frame reader, stopping after a command whose reply
        # has to wait for room (the rest is fed once it went out).
        rx = self._rx
        reader = self._reader
        i = self._rx_at
        end = self._rx_n
        while i < end and not self._reply_len:
            m = reader.feed_byte(rx[i])
            i += 1
            if m > 0:
                self.frames_in += 1
                self._command(reader.message, m)
        self._rx_at = i

    def _command(self, msg, n):
        dev = self._dev
        if not self.active:
            self.active = True
            dev.serial_active = True
        handler = self.handler
        length = handler.handle(msg, n, _LINK_SERIAL)
        if length and not self._send(handler.reply, length):
            self._reply_len = length

    def _send(self, msg, n):
        # Frames msg[:n] into _tx and starts writing it; False (nothing done) while another
        # frame is in flight. A 0x00 first as well: text printed since the last frame (a
        # traceback, a print from the REPL side) then ends as a bad frame of its own instead of
        # corrupting this one.
        if not self._flush():
            return False
        self._tx_end = encode_into(self._tx, msg, n)
        self._tx_off = 0
        self._lead = True
        self._flush()
        return True

    def _send_samples(self):
        ring = self._ring
        dev = self._dev
        while True:
            pkt = ring.peek()
            if pkt is None or not self._send(pkt, len(pkt)):
                return  # the ring keeps what the stream has no room for yet
            ring.pop()
            dev.packets_sent = (dev.packets_sent + 1) & _COUNTER_MASK

    def send_info(self):
        dev = self._dev
        buf = self._msg
        pack_header(buf, _T_DEVICE_INFO, 0, dev.next_seq(), dev.clock, dev.clock.now())
        if not self._flush():
            return False
        return self._send(buf, pack_info_body(buf, _HEADER_SIZE, dev.info))

    def send_status(self):
        # Once a second while samples stream here; dev.status was just refreshed. Waits for the
        # next service() while a frame is in flight.
        dev = self._dev
        self._status_due = False
        if not (dev.want_stream and dev.stream_link == _LINK_SERIAL):
            return
        if not self._flush():
            self._status_due = True
            return
        buf = self._msg
        pack_header(buf, _T_STATUS, 0, dev.next_seq(), dev.clock, dev.clock.now())
        pack_status_body(buf, _HEADER_SIZE, dev.status)
        self._send(buf, _HEADER_SIZE + _STATUS_BODY_SIZE)

    def log(self, text):
        # A LOG message (UTF-8, cut at 200 bytes); only once a host has spoken to us. Lines
        # wait in a short queue while a frame is in flight; beyond it they are dropped (the
        # console is best effort: samples and replies never wait for it).
        if not self.active:
            return False
        if (self._logs or not self._send_log(text)) and len(self._logs) < _LOG_QUEUE:
            self._logs.append(text)
        return True

    def _send_log(self, text):
        if not self._flush():
            return False
        dev = self._dev
        data = text.encode() if isinstance(text, str) else text
        n = pack_log(self._msg, dev.next_seq(), dev.clock, dev.clock.now(), data)
        return self._send(self._msg, n)
