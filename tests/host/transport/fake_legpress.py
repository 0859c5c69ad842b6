"""Device-side logic of a leg press, without a radio or a port (hand-written fake).

:class:`FakeLegPress` answers ``COMMAND`` messages the way PROTOCOL.md says the firmware does and
makes sample packets whose values are a known function of the sample's index, so a test can
check every decoded sample. The Bumble peripheral and the serial pty fake both wrap it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from legpress.errors import ProtocolError
from legpress.protocol.messages import (
    CommandMessage,
    DeviceInfo,
    Log,
    SamplesMessage,
    Status,
)
from legpress.protocol.spec import Fault, Flag, Result
from legpress.sim.firmware import TICKS_MASK, plan_batch
from legpress_fw.control import CommandHandler
from legpress_fw.device import LINK_BLE
from legpress_fw.protocol import DeviceClock

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
        link: the link commands come over (``legpress_fw.device.LINK_BLE`` or ``LINK_SERIAL``).
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
    link: int = LINK_BLE
    #: A fixed encoder reading (a sled at rest) instead of the moving pattern, when set.
    position: int | None = None
    _restart: bool = True

    def __post_init__(self) -> None:
        self.clock = DeviceClock(lambda: self.t_us & TICKS_MASK)
        self.bad_commands = 0
        self._handler = CommandHandler(self)

    # -- commands ---------------------------------------------------------------------------

    def handle(self, data: bytes) -> bytes | None:
        """The REPLY to one COMMAND message (None when told to stay silent)."""
        try:
            cmd: CommandMessage | None = CommandMessage.from_bytes(data)
        except ProtocolError:
            cmd = None
        if cmd is not None:
            self.commands.append(cmd)
            if cmd.command in self.silent:
                return None
        n = self._handler.handle(data, len(data), self.link)
        return bytes(self._handler.reply[:n]) if n else None

    # The actions legpress_fw.control.CommandHandler calls (see its header comment).

    def start(self, _link: int) -> int:
        if not self.streaming:
            self._restart = True
        self.streaming = True
        return Result.OK

    def stop(self, _link: int) -> int:
        self.streaming = False
        return Result.OK

    def zero(self) -> int:
        self.zero_reply = position_value(self.index)
        return self.zero_reply

    def tare(self, _samples: int) -> int:
        self.info = replace(self.info, tare=tuple(100 + c for c in range(self.info.n_cells)))
        return Result.OK

    def set_rate(self, rate_hz: int) -> int:
        self.info = replace(self.info, period_us=1_000_000 // rate_hz)
        self._restart = True
        return self.info.period_us

    def identify(self, _seconds: int) -> None:
        return None

    def beep(self, _pattern: int) -> None:
        return None

    def set_limit(self, _limit: int, _rearm: int, _pattern: int) -> None:
        return None

    def request(self, _command: int, _link: int) -> int:
        return Result.OK

    def next_seq(self) -> int:
        self.other_seq = (self.other_seq + 1) & 0xFFFF
        return self.other_seq

    def pack_status_body(self, buf: bytearray, offset: int) -> int:
        body = self.status().body()
        buf[offset : offset + len(body)] = body
        return offset + len(body)

    def pack_info_body(self, buf: bytearray, offset: int) -> int:
        body = self.info.body()
        buf[offset : offset + len(body)] = body
        return offset + len(body)

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
        return self.status().to_bytes(self.next_seq(), self.t_us)

    def info_message(self, mtu: int = 0, batch: int | None = None) -> bytes:
        """A DEVICE_INFO message for a link with this MTU."""
        info = replace(self.info, mtu=mtu, batch_samples=batch or self.info.batch_samples)
        return info.to_bytes(self.next_seq(), self.t_us)

    def log_message(self, text: str) -> bytes:
        """A LOG message."""
        return Log(text, self.next_seq(), self.t_us).to_bytes()

    def samples(self, n: int, compact: bool = False, flags: int = 0) -> bytes:
        """The next sample packet of ``n`` samples."""
        i0 = self.index
        k = self.info.n_cells
        cells = tuple(tuple(cell_value(i, c) for c in range(k)) for i in range(i0, i0 + n))
        at = self.position
        pos = tuple(position_value(i) if at is None else at for i in range(i0, i0 + n))
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

    def plan(self, mtu: int) -> tuple[int, bool]:
        """Records per packet on a BLE link with this MTU, and whether they go compact, as the
        firmware's ``Device`` plans them."""
        return plan_batch(round(self.info.rate_hz), mtu, self.info.n_cells)
