# The USB serial link: the same messages and commands as BLE, each framed as
# COBS(message || crc32) || 0x00 (framing.py, PROTOCOL.md "Serial framing").
#
# Pure logic over two stream objects, so the tests drive it with byte buffers:
#   stream_in.readinto(buf) -> bytes read now (0 if none); never blocks
#   stream_out.write(buf, n) -> writes buf[:n] (MicroPython streams take the length, so no
#                               slice is allocated per packet)
# On the device these wrap sys.stdin.buffer (polled with select.poll) and sys.stdout.buffer;
# the app turns Ctrl-C off (micropython.kbd_intr(-1)) while the link runs, because frames may
# hold 0x03. Bytes that are not frames (a terminal, REPL echo) are dropped and counted.
#
# The link becomes `active` with the first valid frame; from then on it also carries LOG
# lines. Samples go out only after a START received here; STATUS follows once a second while
# streaming, and DEVICE_INFO right after START.

from .compat import const
from .control import REPLY_MAX, CommandHandler
from .device import LINK_SERIAL, SLOT_SIZE
from .framing import FrameReader, encode_into
from .protocol import (
    HEADER_SIZE,
    STATUS_BODY_SIZE,
    T_DEVICE_INFO,
    T_STATUS,
    pack_header,
    pack_info_body,
    pack_log,
    pack_status_body,
)

_RX_CHUNK = const(64)
# Commands are at most 12 bytes (16 framed with the CRC); longer frames are dropped as bad.
_FRAME_IN_MAX = const(128)
_MSG_MAX = const(212)  # LOG: header + 200 bytes of text; larger than every other message
_COUNTER_MASK = const(0x3FFFFFFF)


def _frame_size(n):
    return n + 4 + (n + 4) // 254 + 2


class SerialLink:
    def __init__(self, device, stream_in, stream_out, handler=None):
        self._dev = device
        self._ring = device.ring
        self._in = stream_in
        self._write = stream_out.write  # bound once
        self.handler = handler if handler is not None else CommandHandler(device)
        self._rx = bytearray(_RX_CHUNK)
        self._reader = FrameReader(_FRAME_IN_MAX)
        n = max(SLOT_SIZE, _MSG_MAX, REPLY_MAX)
        self._msg = bytearray(n)
        self._tx = bytearray(_frame_size(n))
        self._zero = bytearray(1)
        self.active = False
        self.frames_in = 0

    @property
    def bad_frames(self):
        return self._reader.bad_frames

    def start(self):
        # A lone delimiter ends whatever boot text the host has collected as a frame.
        self._tx[0] = 0
        self._write(self._tx, 1)

    def service(self):
        dev = self._dev
        n = self._in.readinto(self._rx)
        if n:
            self._receive(n)
        if dev.info_due_serial:
            dev.info_due_serial = False
            self.send_info()
        if dev.stream_link == LINK_SERIAL and self._ring.pending():
            self._send_samples()
        return n

    def _receive(self, n):
        rx = self._rx
        reader = self._reader
        for i in range(n):
            m = reader.feed_byte(rx[i])
            if m > 0:
                self.frames_in += 1
                self._command(reader.message, m)

    def _command(self, msg, n):
        dev = self._dev
        if not self.active:
            self.active = True
            dev.serial_active = True
        handler = self.handler
        length = handler.handle(msg, n, LINK_SERIAL)
        if length:
            self._send(handler.reply, length)

    def _send(self, msg, n):
        # A 0x00 first as well: text printed since the last frame (a traceback, a print from
        # the REPL side) then ends as a bad frame of its own instead of corrupting this one.
        self._write(self._zero, 1)
        m = encode_into(self._tx, msg, n)
        self._write(self._tx, m)

    def _send_samples(self):
        ring = self._ring
        dev = self._dev
        while True:
            pkt = ring.peek()
            if pkt is None:
                return
            self._send(pkt, len(pkt))
            ring.pop()
            dev.packets_sent = (dev.packets_sent + 1) & _COUNTER_MASK

    def send_info(self):
        dev = self._dev
        buf = self._msg
        pack_header(buf, T_DEVICE_INFO, 0, dev.next_seq(), dev.clock, dev.clock.now())
        self._send(buf, pack_info_body(buf, HEADER_SIZE, dev.info))

    def send_status(self):
        # Once a second while samples stream here; dev.status was just refreshed.
        dev = self._dev
        if not (dev.want_stream and dev.stream_link == LINK_SERIAL):
            return
        buf = self._msg
        pack_header(buf, T_STATUS, 0, dev.next_seq(), dev.clock, dev.clock.now())
        pack_status_body(buf, HEADER_SIZE, dev.status)
        self._send(buf, HEADER_SIZE + STATUS_BODY_SIZE)

    def log(self, text):
        # A LOG message (UTF-8, cut at 200 bytes); only once a host has spoken to us.
        if not self.active:
            return False
        dev = self._dev
        data = text.encode() if isinstance(text, str) else text
        n = pack_log(self._msg, dev.next_seq(), dev.clock, dev.clock.now(), data)
        self._send(self._msg, n)
        return True
