"""Protocol messages as frozen dataclasses: ``from_bytes`` to decode, ``to_bytes`` to encode.

Sample packets are not here: they decode into numpy blocks in :mod:`legpress.protocol.decoder`.
Encoders exist for every message so the tests, the golden vectors and fake peripherals can build
exact device bytes without the firmware.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field, replace
from typing import Self

from legpress.errors import ProtocolError
from legpress.protocol.spec import (
    HEADER,
    HEADER_SIZE,
    VERSION,
    Command,
    Fault,
    MsgType,
    PositionSensor,
    Result,
)

_INFO_FIXED = struct.Struct("<BBBIBBIBBBBBH6s")
_STATUS = struct.Struct("<BBHIIIIIIIIIHHHIHB")
_REPLY = struct.Struct("<HBB")
NAME_MAX = 29


@dataclass(frozen=True, slots=True)
class Header:
    """The 9-byte header every message starts with."""

    version: int
    type: int
    flags: int
    seq: int
    t_us: int

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Self:
        """Parse the header of ``data``.

        Raises:
            ProtocolError: shorter than a header or an unknown version.
        """
        if len(data) < HEADER_SIZE:
            raise ProtocolError(f"message of {len(data)} bytes is shorter than the header")
        version, mtype, flags, seq, t_us = HEADER.unpack_from(data)
        if version != VERSION:
            raise ProtocolError(f"protocol version {version} is not supported (expected 1)")
        return cls(version, mtype, flags, seq, t_us)

    def to_bytes(self) -> bytes:
        """Encode the header."""
        return HEADER.pack(self.version, self.type, self.flags, self.seq, self.t_us)


def _header(mtype: MsgType, seq: int, t_us: int, flags: int = 0) -> bytes:
    return HEADER.pack(VERSION, mtype, flags, seq & 0xFFFF, t_us & 0xFFFFFFFF)


def _expect(data: bytes | bytearray | memoryview, mtype: MsgType) -> Header:
    head = Header.from_bytes(data)
    if head.type != mtype:
        raise ProtocolError(f"expected a {mtype.name} message, got type {head.type}")
    return head


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """``DEVICE_INFO``: what a stream needs to be understood (the stream header).

    Attributes:
        fw_version: firmware (major, minor, patch).
        period_us: sample period in microseconds.
        n_cells: number of pad cells, K.
        tick_period_log2: the device ``ticks_us`` wraps at ``2**tick_period_log2``.
        encoder_counts_per_m: encoder counts per metre of sled travel (0 = unknown).
        position_sensor: which position sensor is fitted.
        adc_bits: ADC resolution.
        cell_pitch_mm: distance between cell centres along the strip.
        oversample: ADC reads averaged per cell per sample.
        batch_samples: records per sample packet on the current link.
        mtu: ATT MTU of the current BLE link (0 on serial).
        device_id: the chip's unique id (6 bytes).
        cell_channel: where each cell is wired (GPIO, or ``0x80 | mux channel``), seat upward.
        tare: each cell's unloaded reading from the last ``TARE`` (0 = never tared).
        name: the advertised name.
    """

    fw_version: tuple[int, int, int]
    period_us: int
    n_cells: int
    tick_period_log2: int = 30
    encoder_counts_per_m: int = 0
    position_sensor: PositionSensor = PositionSensor.PCNT
    adc_bits: int = 12
    cell_pitch_mm: int = 40
    oversample: int = 1
    batch_samples: int = 4
    mtu: int = 0
    device_id: bytes = bytes(6)
    cell_channel: tuple[int, ...] = ()
    tare: tuple[int, ...] = ()
    name: str = ""

    def __post_init__(self) -> None:
        if not 1 <= self.n_cells <= 16:
            raise ProtocolError(f"n_cells {self.n_cells} is outside 1..16")
        if self.period_us <= 0:
            raise ProtocolError(f"period_us {self.period_us} must be positive")
        if len(self.cell_channel) not in (0, self.n_cells):
            raise ProtocolError("cell_channel must have one entry per cell")
        if len(self.tare) not in (0, self.n_cells):
            raise ProtocolError("tare must have one entry per cell")

    @property
    def rate_hz(self) -> float:
        """Sample rate in hertz."""
        return 1e6 / self.period_us

    @property
    def counts_per_mm(self) -> float | None:
        """Encoder counts per millimetre, or None when the device does not know it."""
        return self.encoder_counts_per_m / 1000 if self.encoder_counts_per_m else None

    @classmethod
    def from_body(cls, body: bytes | bytearray | memoryview) -> Self:
        """Decode the body (the bytes after the header, as in a ``GET_INFO`` reply).

        Raises:
            ProtocolError: the body is truncated or inconsistent.
        """
        body = bytes(body)
        if len(body) < _INFO_FIXED.size + 1:
            raise ProtocolError(f"DEVICE_INFO body of {len(body)} bytes is truncated")
        (
            major,
            minor,
            patch,
            period_us,
            k,
            tick_log2,
            counts_per_m,
            sensor,
            adc_bits,
            pitch,
            oversample,
            batch,
            mtu,
            dev_id,
        ) = _INFO_FIXED.unpack_from(body)
        o = _INFO_FIXED.size
        if not 1 <= k <= 16 or len(body) < o + 3 * k + 1:
            raise ProtocolError(
                f"DEVICE_INFO body of {len(body)} bytes is truncated for {k} cells"
            )
        channels = tuple(body[o : o + k])
        o += k
        tare = struct.unpack_from(f"<{k}H", body, o)
        o += 2 * k
        name_len = body[o]
        if name_len > NAME_MAX or len(body) < o + 1 + name_len:
            raise ProtocolError("DEVICE_INFO name is truncated")
        name = body[o + 1 : o + 1 + name_len].decode("utf-8", errors="replace")
        try:
            position_sensor = PositionSensor(sensor)
        except ValueError:
            raise ProtocolError(f"unknown position sensor type {sensor}") from None
        return cls(
            (major, minor, patch),
            period_us,
            k,
            tick_log2,
            counts_per_m,
            position_sensor,
            adc_bits,
            pitch,
            oversample,
            batch,
            mtu,
            dev_id,
            channels,
            tuple(tare),
            name,
        )

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Self:
        """Decode a whole ``DEVICE_INFO`` message."""
        _expect(data, MsgType.DEVICE_INFO)
        return cls.from_body(memoryview(data)[HEADER_SIZE:])

    def body(self) -> bytes:
        """Encode the body."""
        k = self.n_cells
        channels = self.cell_channel or tuple(range(k))
        tare = self.tare or (0,) * k
        name = self.name.encode()[:NAME_MAX]
        return (
            _INFO_FIXED.pack(
                *self.fw_version,
                self.period_us,
                k,
                self.tick_period_log2,
                self.encoder_counts_per_m,
                int(self.position_sensor),
                self.adc_bits,
                self.cell_pitch_mm,
                self.oversample,
                self.batch_samples,
                self.mtu,
                bytes(self.device_id).ljust(6, b"\0")[:6],
            )
            + bytes(channels)
            + struct.pack(f"<{k}H", *tare)
            + bytes([len(name)])
            + name
        )

    def to_bytes(self, seq: int = 0, t_us: int = 0) -> bytes:
        """Encode a whole ``DEVICE_INFO`` message."""
        return _header(MsgType.DEVICE_INFO, seq, t_us) + self.body()


@dataclass(frozen=True, slots=True)
class Status:
    """``STATUS``: the device's health. Counters wrap at 2**30."""

    state: int = 0
    link: int = 0
    faults: Fault = Fault.NONE
    uptime_s: int = 0
    samples_total: int = 0
    samples_dropped: int = 0
    overruns: int = 0
    jitter_max_us: int = 0
    jitter_mean_us: int = 0
    packets_sent: int = 0
    notify_enomem: int = 0
    bad_commands: int = 0
    task_restarts: int = 0
    mtu: int = 0
    connections: int = 0
    heap_free_bytes: int = 0
    dead_cells: int = 0
    reset_cause: int = 0

    @property
    def streaming(self) -> bool:
        """True while the device streams samples."""
        return self.state == 1

    @classmethod
    def from_body(cls, body: bytes | bytearray | memoryview) -> Self:
        """Decode the body (bytes after the header, as in a ``GET_STATUS`` reply)."""
        if len(body) < _STATUS.size:
            raise ProtocolError(f"STATUS body of {len(body)} bytes is truncated")
        values = list(_STATUS.unpack_from(body))
        values[2] = Fault(values[2])
        return cls(*values)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Self:
        """Decode a whole ``STATUS`` message."""
        _expect(data, MsgType.STATUS)
        return cls.from_body(memoryview(data)[HEADER_SIZE:])

    def body(self) -> bytes:
        """Encode the body."""
        return _STATUS.pack(
            self.state,
            self.link,
            int(self.faults),
            self.uptime_s,
            self.samples_total,
            self.samples_dropped,
            self.overruns,
            self.jitter_max_us,
            self.jitter_mean_us,
            self.packets_sent,
            self.notify_enomem,
            self.bad_commands,
            self.task_restarts,
            self.mtu,
            self.connections,
            self.heap_free_bytes,
            self.dead_cells,
            self.reset_cause,
        )

    def to_bytes(self, seq: int = 0, t_us: int = 0) -> bytes:
        """Encode a whole ``STATUS`` message."""
        return _header(MsgType.STATUS, seq, t_us) + self.body()


@dataclass(frozen=True, slots=True)
class CommandMessage:
    """``COMMAND``: a request from the host. ``seq`` comes back as the reply's ``request_seq``."""

    command: int
    args: bytes = b""
    seq: int = 0

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Self:
        """Decode a ``COMMAND`` message."""
        head = _expect(data, MsgType.COMMAND)
        if len(data) < HEADER_SIZE + 1:
            raise ProtocolError("COMMAND without a command code")
        return cls(data[HEADER_SIZE], bytes(data[HEADER_SIZE + 1 :]), head.seq)

    def to_bytes(self) -> bytes:
        """Encode the message (``t_us`` is 0 from the host)."""
        return _header(MsgType.COMMAND, self.seq, 0) + bytes([self.command]) + self.args


@dataclass(frozen=True, slots=True)
class Reply:
    """``REPLY``: the device's answer to a command."""

    request_seq: int
    command: int
    result: int
    payload: bytes = b""
    seq: int = 0
    t_us: int = 0

    @property
    def ok(self) -> bool:
        """True when the command succeeded."""
        return self.result == Result.OK

    def describe(self) -> str:
        """A short human description of the result."""
        try:
            cmd = Command(self.command).name
        except ValueError:
            cmd = f"command 0x{self.command:02x}"
        try:
            res = Result(self.result).name
        except ValueError:
            res = f"result {self.result}"
        return f"{cmd}: {res}"

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Self:
        """Decode a ``REPLY`` message."""
        head = _expect(data, MsgType.REPLY)
        if len(data) < HEADER_SIZE + _REPLY.size:
            raise ProtocolError(f"REPLY of {len(data)} bytes is truncated")
        request_seq, command, result = _REPLY.unpack_from(data, HEADER_SIZE)
        payload = bytes(data[HEADER_SIZE + _REPLY.size :])
        return cls(request_seq, command, result, payload, head.seq, head.t_us)

    def to_bytes(self) -> bytes:
        """Encode the message."""
        return (
            _header(MsgType.REPLY, self.seq, self.t_us)
            + _REPLY.pack(self.request_seq, self.command, self.result)
            + self.payload
        )


@dataclass(frozen=True, slots=True)
class Log:
    """``LOG``: a line of text from the device (serial only)."""

    text: str
    seq: int = 0
    t_us: int = 0

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> Self:
        """Decode a ``LOG`` message."""
        head = _expect(data, MsgType.LOG)
        text = bytes(data[HEADER_SIZE:]).decode("utf-8", errors="replace")
        return cls(text, head.seq, head.t_us)

    def to_bytes(self) -> bytes:
        """Encode the message."""
        return _header(MsgType.LOG, self.seq, self.t_us) + self.text.encode()[:200]


@dataclass(frozen=True, slots=True)
class SamplesMessage:
    """A ``SAMPLES`` or ``SAMPLES_COMPACT`` packet as plain Python values (tests, fakes).

    The stream decoder produces numpy blocks instead; this class is the readable reference.
    """

    seq: int
    t_us: int
    cells: tuple[tuple[int, ...], ...]
    position: tuple[int, ...]
    flags: int = 0
    compact: bool = field(default=False)

    def to_bytes(self) -> bytes:
        """Encode the packet."""
        if self.compact:
            mtype = MsgType.SAMPLES_COMPACT
            body = b"".join(
                bytes(c >> 4 for c in cells) + struct.pack("<h", pos)
                for cells, pos in zip(self.cells, self.position, strict=True)
            )
        else:
            mtype = MsgType.SAMPLES
            body = b"".join(
                struct.pack(f"<{len(cells)}Hi", *cells, pos)
                for cells, pos in zip(self.cells, self.position, strict=True)
            )
        return _header(mtype, self.seq, self.t_us, self.flags) + body

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview, n_cells: int) -> Self:
        """Decode a sample packet with ``n_cells`` cells per record (compact cells scaled x16)."""
        head = Header.from_bytes(data)
        body = bytes(data[HEADER_SIZE:])
        if head.type == MsgType.SAMPLES:
            size = 2 * n_cells + 4
            fmt = f"<{n_cells}Hi"
        elif head.type == MsgType.SAMPLES_COMPACT:
            size = n_cells + 2
            fmt = f"<{n_cells}Bh"
        else:
            raise ProtocolError(f"message type {head.type} is not a sample packet")
        if len(body) % size:
            raise ProtocolError(
                f"sample body of {len(body)} bytes is not whole {size}-byte records"
            )
        cells: list[tuple[int, ...]] = []
        position: list[int] = []
        scale = 16 if head.type == MsgType.SAMPLES_COMPACT else 1
        for off in range(0, len(body), size):
            *cs, pos = struct.unpack_from(fmt, body, off)
            cells.append(tuple(int(c) * scale for c in cs))
            position.append(int(pos))
        return cls(
            head.seq,
            head.t_us,
            tuple(cells),
            tuple(position),
            head.flags,
            head.type == MsgType.SAMPLES_COMPACT,
        )


def encode_command(command: Command | int, args: bytes = b"", seq: int = 0) -> bytes:
    """Encode a ``COMMAND`` message."""
    return CommandMessage(int(command), args, seq).to_bytes()


def apply_reply(info: DeviceInfo | None, reply: Reply) -> DeviceInfo | None:
    """The ``DEVICE_INFO`` after an OK reply that changes it, or None when it changes nothing.

    ``GET_INFO`` carries a whole new DEVICE_INFO; ``SET_RATE`` a new sample period; ``TARE``
    the new tare of every cell. The live decoder and the batch decoder of a recording both go
    through here, so a replay sees the same changes at the same packets as the live session.

    Args:
        info: the DEVICE_INFO before the reply (None if not known yet).
        reply: any reply.

    Raises:
        ProtocolError: an OK ``GET_INFO`` reply whose payload is not a DEVICE_INFO body.
    """
    if reply.result != Result.OK:
        return None
    command, payload = reply.command, reply.payload
    if command == Command.GET_INFO:
        return DeviceInfo.from_body(payload)
    if info is None:
        return None
    if command == Command.SET_RATE and len(payload) >= 4:
        (period_us,) = struct.unpack_from("<I", payload)
        return replace(info, period_us=period_us) if period_us > 0 else None
    if command == Command.TARE and len(payload) == 2 * info.n_cells:
        return replace(info, tare=struct.unpack(f"<{info.n_cells}H", payload))
    return None
