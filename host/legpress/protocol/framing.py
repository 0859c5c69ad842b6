"""USB serial framing: ``COBS(message || crc32(message) LE) || 0x00`` (PROTOCOL.md).

:class:`FrameDecoder` is sans-I/O: feed it whatever bytes arrived, get whole messages back.
It skips REPL text, boot messages and line noise between frames, and counts what it skipped.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from legpress.protocol.spec import MAX_SERIAL_FRAME


def cobs_encode(data: bytes) -> bytes:
    """COBS-encode ``data`` (no terminator)."""
    out = bytearray()
    block = bytearray()
    for b in data:
        if b == 0:
            out.append(len(block) + 1)
            out += block
            block.clear()
        else:
            block.append(b)
            if len(block) == 254:
                out.append(255)
                out += block
                block.clear()
    out.append(len(block) + 1)
    out += block
    return bytes(out)


def cobs_decode(data: bytes | bytearray | memoryview) -> bytes | None:
    """Decode one COBS frame (without its terminator); None if it is malformed."""
    data = bytes(data)
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        code = data[i]
        end = i + code
        if code == 0 or end > n:
            return None
        chunk = data[i + 1 : end]
        if 0 in chunk:
            return None
        out += chunk
        i = end
        if code != 0xFF and i < n:
            out.append(0)
    return bytes(out)


def encode_frame(message: bytes) -> bytes:
    """Frame one message for the serial link."""
    crc = zlib.crc32(message) & 0xFFFFFFFF
    return cobs_encode(message + struct.pack("<I", crc)) + b"\x00"


@dataclass(slots=True)
class FramingStats:
    """What the frame decoder saw.

    Attributes:
        frames: valid frames delivered.
        bad_frames: frames dropped for bad COBS, bad CRC or excessive length.
        skipped_bytes: bytes thrown away with those frames (REPL text, noise).
    """

    frames: int = 0
    bad_frames: int = 0
    skipped_bytes: int = 0


class FrameDecoder:
    """Turns a serial byte stream into messages, resynchronising at every ``0x00``."""

    def __init__(self, max_frame: int = MAX_SERIAL_FRAME) -> None:
        self._buf = bytearray()
        self._max = max_frame + max_frame // 254 + 8
        self._overflow = False
        self.stats = FramingStats()

    def feed(self, data: bytes | bytearray | memoryview) -> list[bytes]:
        """Add received bytes; return the messages completed by them (CRC stripped)."""
        out: list[bytes] = []
        start = 0
        data = bytes(data)
        while True:
            end = data.find(b"\x00", start)
            if end < 0:
                self._append(data[start:])
                return out
            self._append(data[start:end])
            msg = self._finish()
            if msg is not None:
                out.append(msg)
            start = end + 1

    def _append(self, chunk: bytes) -> None:
        if self._overflow:
            self.stats.skipped_bytes += len(chunk)
            return
        self._buf += chunk
        if len(self._buf) > self._max:
            self.stats.skipped_bytes += len(self._buf)
            self._buf.clear()
            self._overflow = True

    def _finish(self) -> bytes | None:
        frame = bytes(self._buf)
        self._buf.clear()
        if self._overflow:
            self._overflow = False
            self.stats.bad_frames += 1
            return None
        if not frame:
            return None
        raw = cobs_decode(frame)
        if raw is None or len(raw) < 5:
            self._reject(frame)
            return None
        msg, crc = raw[:-4], struct.unpack("<I", raw[-4:])[0]
        if zlib.crc32(msg) & 0xFFFFFFFF != crc:
            self._reject(frame)
            return None
        self.stats.frames += 1
        return msg

    def _reject(self, frame: bytes) -> None:
        self.stats.bad_frames += 1
        self.stats.skipped_bytes += len(frame) + 1
