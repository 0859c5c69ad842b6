"""Device-side logic of a leg press, without a radio or a port (hand-written fake).

:class:`FakeLegPress` answers ``COMMAND`` messages the way PROTOCOL.md says the firmware does and
makes sample packets whose values are a known function of the sample's index, so a test can
check every decoded sample. The Bumble peripheral and the serial pty fake both wrap it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from legpress.protocol.messages import (
    CommandMessage,
    DeviceInfo,
    Log,
    Reply,
    SamplesMessage,
    Status,
)
from legpress.protocol.spec import Command, Fault, Flag, Result

NAME = "LegPress-0001"
INFO = DeviceInfo(
    fw_version=(1, 0, 0),
    period_us=10_000,
    n_cells=8,
    encoder_counts_per_m=20_000,
    batch_samples=4,
    mtu=0,
    device_id=bytes.fromhex("c4dee2110001"),
    cell_channel=(36, 39, 34, 35, 32, 33, 25, 26),
    tare=(0,) * 8,
    name=NAME,
)


def cell_value(index: int, cell: int) -> int:
    """The ADC reading of ``cell`` in sample ``index`` (12 bits)."""
    return (index * 37 + cell * 509 + 11) % 4096


def position_value(index: int) -> int:
    """The encoder reading of sample ``index`` (fits in i16, also for compact packets)."""
    return (index * 7) % 20_000 - 1_000


def expected_cells(indices: npt.ArrayLike, n_cells: int, compact: bool = False) -> npt.NDArray:
    """The cells a decoder must produce for these sample indices."""
    idx = np.asarray(indices, np.int64)[:, None]
    cells = (idx * 37 + np.arange(n_cells)[None, :] * 509 + 11) % 4096
    if compact:
        cells = cells & 0xFFF0
    return cells.astype(np.uint16)


def expected_position(indices: npt.ArrayLike) -> npt.NDArray:
    """The positions a decoder must produce for these sample indices."""
    idx = np.asarray(indices, np.int64)
    return ((idx * 7) % 20_000 - 1_000).astype(np.int32)


@dataclass
class FakeLegPress:
    """A leg press's protocol logic.

    Attributes:
        info: its DEVICE_INFO (``mtu``/``batch_samples`` are filled per link).
        streaming: whether START was received.
        index: index of the next sample to send.
        seq: sequence number of the next sample packet.
        t_us: device time of the next sample.
        commands: every command received.
        silent: command codes it does not answer (to test timeouts).
        faults: fault bits reported in STATUS.
    """

    info: DeviceInfo = INFO
    streaming: bool = False
    index: int = 0
    seq: int = 0
    t_us: int = 1_000_000
    other_seq: int = 0
    commands: list[CommandMessage] = field(default_factory=list)
    silent: set[int] = field(default_factory=set)
    faults: Fault = Fault.CELL & 0
    zero_reply: int | None = None
    _restart: bool = True

    # -- commands ---------------------------------------------------------------------------

    def handle(self, data: bytes) -> bytes | None:
        """The REPLY to one COMMAND message (None when told to stay silent)."""
        try:
            cmd = CommandMessage.from_bytes(data)
        except Exception:
            return self._reply(0, 0, Result.BAD_LENGTH)
        self.commands.append(cmd)
        if cmd.command in self.silent:
            return None
        code, args, seq = cmd.command, cmd.args, cmd.seq
        if code == Command.START:
            if not self.streaming:
                self._restart = True
            self.streaming = True
            return self._reply(seq, code, Result.OK)
        if code == Command.STOP:
            self.streaming = False
            return self._reply(seq, code, Result.OK)
        if code == Command.ZERO:
            before = position_value(self.index)
            self.zero_reply = before
            return self._reply(seq, code, Result.OK, struct.pack("<i", before))
        if code == Command.TARE:
            if len(args) != 1:
                return self._reply(seq, code, Result.BAD_LENGTH)
            tare = tuple(100 + c for c in range(self.info.n_cells))
            self.info = replace(self.info, tare=tare)
            return self._reply(seq, code, Result.OK, struct.pack(f"<{len(tare)}H", *tare))
        if code == Command.SET_RATE:
            if len(args) != 2:
                return self._reply(seq, code, Result.BAD_LENGTH)
            (hz,) = struct.unpack("<H", args)
            if not 50 <= hz <= 400:
                return self._reply(seq, code, Result.BAD_ARGUMENT)
            period = 1_000_000 // hz
            self.info = replace(self.info, period_us=period)
            self._restart = True
            return self._reply(seq, code, Result.OK, struct.pack("<I", period))
        if code == Command.IDENTIFY:
            if len(args) != 1 or not 1 <= args[0] <= 60:
                return self._reply(seq, code, Result.BAD_ARGUMENT)
            return self._reply(seq, code, Result.OK)
        if code == Command.GET_STATUS:
            return self._reply(seq, code, Result.OK, self.status().body())
        if code == Command.GET_INFO:
            return self._reply(seq, code, Result.OK, self.info.body())
        return self._reply(seq, code, Result.UNKNOWN_COMMAND)

    def _reply(self, request_seq: int, code: int, result: Result, payload: bytes = b"") -> bytes:
        self.other_seq = (self.other_seq + 1) & 0xFFFF
        return Reply(request_seq, code, int(result), payload, self.other_seq).to_bytes()

    # -- messages ---------------------------------------------------------------------------

    def status(self) -> Status:
        """The current STATUS."""
        return Status(
            state=1 if self.streaming else 0,
            link=1,
            faults=self.faults,
            samples_total=self.index,
            packets_sent=self.seq,
            dead_cells=1 if self.faults & Fault.CELL else 0,
        )

    def status_message(self) -> bytes:
        """A STATUS message."""
        self.other_seq = (self.other_seq + 1) & 0xFFFF
        return self.status().to_bytes(self.other_seq, self.t_us)

    def info_message(self, mtu: int = 0, batch: int | None = None) -> bytes:
        """A DEVICE_INFO message for a link with this MTU."""
        self.other_seq = (self.other_seq + 1) & 0xFFFF
        info = replace(self.info, mtu=mtu, batch_samples=batch or self.info.batch_samples)
        return info.to_bytes(self.other_seq, self.t_us)

    def log_message(self, text: str) -> bytes:
        """A LOG message."""
        self.other_seq = (self.other_seq + 1) & 0xFFFF
        return Log(text, self.other_seq, self.t_us).to_bytes()

    def samples(self, n: int, compact: bool = False, flags: int = 0) -> bytes:
        """The next sample packet of ``n`` samples."""
        i0 = self.index
        k = self.info.n_cells
        cells = tuple(tuple(cell_value(i, c) for c in range(k)) for i in range(i0, i0 + n))
        pos = tuple(position_value(i) for i in range(i0, i0 + n))
        if self._restart:
            flags |= Flag.RESTART
            self._restart = False
        msg = SamplesMessage(self.seq, self.t_us & 0xFFFFFFFF, cells, pos, flags, compact)
        self.skip(1, n)
        return msg.to_bytes()

    def skip(self, packets: int, n: int) -> None:
        """Advance as if ``packets`` packets of ``n`` samples were sent (or lost)."""
        self.index += packets * n
        self.seq = (self.seq + packets) & 0xFFFF
        self.t_us += packets * n * self.info.period_us

    @staticmethod
    def compact_needed(mtu: int, n_cells: int) -> bool:
        """True when one SAMPLES record does not fit in MTU − 3."""
        return mtu - 3 < 9 + 2 * n_cells + 4

    @staticmethod
    def batch_for(mtu: int, n_cells: int, rate_hz: float) -> int:
        """Records per packet for this MTU, as the firmware picks it."""
        if FakeLegPress.compact_needed(mtu, n_cells):
            return max(1, (mtu - 3 - 9) // (n_cells + 2))
        per_rate = -(-int(rate_hz) // 25)
        return max(1, min(per_rate, (mtu - 3 - 9) // (2 * n_cells + 4)))
