# USB serial framing: COBS(message || crc32(message) u32 LE) || 0x00 (PROTOCOL.md).
#
# COBS removes every zero byte from the frame, so 0x00 marks its end and a receiver
# resynchronises after REPL text or line noise at the next 0x00. Encoding and decoding work in
# buffers allocated once by the caller.

import struct
from binascii import crc32

from .compat import const

MAX_FRAME = const(1024)
# Longest message + CRC whose COBS blocks can never reach 254 bytes: every protocol v1
# message qualifies (at most 244 + 4 bytes).
_FAST_MAX = const(253)
_ZERO = b"\x00"
_pack_into = struct.pack_into


def encode_into(dst, msg, n):
    # Frames msg[:n] into dst; returns the frame length including the 0x00 terminator.
    # dst (a bytearray) needs n + 4 + (n + 4) // 254 + 2 bytes.
    total = n + 4
    if total > _FAST_MAX:
        return _encode_long(dst, msg, n)
    # In place: message and CRC go one byte to the right of the first code byte, the
    # terminator after them; then each zero in between becomes the distance to the next zero
    # (or to the terminator). bytearray.find does the scanning in C, so the Python work is
    # per zero byte, not per byte.
    body = msg if len(msg) == n else memoryview(msg)[:n]
    dst[1 : 1 + n] = body
    _pack_into("<I", dst, 1 + n, crc32(body))
    end = total + 1
    dst[end] = 0
    code_at = 0
    z = dst.find(_ZERO, 1, end + 1)
    while z != end:
        dst[code_at] = z - code_at
        code_at = z
        z = dst.find(_ZERO, z + 1, end + 1)
    dst[code_at] = end - code_at
    return end + 1


def _encode_long(dst, msg, n):
    # Byte by byte, inserting a code byte after every run of 254 non-zero bytes.
    crc = crc32(memoryview(msg)[:n])
    code_at = 0
    code = 1
    o = 1
    total = n + 4
    for i in range(total):
        b = msg[i] if i < n else (crc >> (8 * (i - n))) & 0xFF
        if b == 0:
            dst[code_at] = code
            code_at = o
            o += 1
            code = 1
        else:
            dst[o] = b
            o += 1
            code += 1
            if code == 0xFF:
                dst[code_at] = code
                code_at = o
                o += 1
                code = 1
    dst[code_at] = code
    dst[o] = 0
    return o + 1


def decode_into(dst, frame, n):
    # Decodes COBS frame[:n] (without the 0x00) into dst and checks the CRC. Returns the message
    # length, or -1 if the frame is malformed or fails its CRC.
    i = 0
    o = 0
    cap = len(dst)
    while i < n:
        code = frame[i]
        if code == 0:
            return -1
        i += 1
        end = i + code - 1
        if end > n or o + code - 1 > cap:
            return -1
        while i < end:
            b = frame[i]
            if b == 0:
                return -1
            dst[o] = b
            o += 1
            i += 1
        if code != 0xFF and i < n:
            if o >= cap:
                return -1
            dst[o] = 0
            o += 1
    if o < 4:
        return -1
    m = o - 4
    crc = struct.unpack_from("<I", dst, m)[0]
    if crc != crc32(memoryview(dst)[:m]):
        return -1
    return m


class FrameReader:
    """Collects bytes into frames; feed() returns a decoded message length or -1 per call."""

    def __init__(self, max_frame=MAX_FRAME):
        self._raw = bytearray(max_frame)
        self.message = bytearray(max_frame)
        self._n = 0
        self._overflow = False
        self.bad_frames = 0

    def feed_byte(self, b):
        # Returns the length of a complete valid message now in self.message, 0 if the frame is
        # not finished, -1 if a frame was just discarded.
        if b != 0:
            if self._n < len(self._raw):
                self._raw[self._n] = b
                self._n += 1
            else:
                self._overflow = True
            return 0
        n = self._n
        self._n = 0
        if n == 0:
            return 0
        if self._overflow:
            self._overflow = False
            self.bad_frames += 1
            return -1
        m = decode_into(self.message, self._raw, n)
        if m < 0:
            self.bad_frames += 1
        return m
