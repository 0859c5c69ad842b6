"""The serial path end to end over a pty pair: a fake device thread on the master side speaks
the framed protocol (with REPL text and noise between frames) to the production SerialLink."""

from __future__ import annotations

import contextlib
import errno
import os
import random
import select
import threading
import time
import tty
from pathlib import Path

import numpy as np
import pytest
import serial

import legpress
from legpress import Connected, Disconnected, GapEvent, SampleBlock
from legpress.errors import CommandError, DeviceNotFoundError, TransportError
from legpress.protocol.framing import FrameDecoder, encode_frame
from legpress.protocol.spec import Command
from legpress.transport.serialport import open_error
from tests.host.transport.fake_device import FakeLegPress, expected_cells, expected_position

BOOT_TEXT = (
    b"ets Jun  8 2016 00:22:57\r\nrst:0x1 (POWERON_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)\r\n"
    b"MicroPython v1.24.1 on 2024-11-29; Generic ESP32 module with ESP32\r\n>>> "
)


class PtyLegPress:
    """A leg press on the master side of a pty; the host opens :attr:`port`."""

    def __init__(
        self, tmp_path: Path, *, noise: bool = True, glued_noise: bool = False, seed: int = 1
    ) -> None:
        self.dev = FakeLegPress()
        self.noise = noise
        self.glued_noise = glued_noise
        self.rng = random.Random(seed)
        self.link = tmp_path / "ttyLEGPRESS"
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.unplugged = threading.Event()
        self.sent_indices: list[int] = []
        self.noise_bytes = 0
        self._plug()
        self._write(BOOT_TEXT)
        self.threads = [
            threading.Thread(target=self._commands, daemon=True),
            threading.Thread(target=self._stream, daemon=True),
        ]
        for t in self.threads:
            t.start()

    def _plug(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)
        # Non-blocking master with short selects: no system call may be in progress on the old
        # master when unplug() closes it, or the host would never see the port go away.
        os.set_blocking(master, False)
        self.master, self.slave = master, slave
        tmp = self.link.with_suffix(".new")
        os.symlink(os.ttyname(slave), tmp)
        os.replace(tmp, self.link)

    @property
    def port(self) -> str:
        return str(self.link)

    def _write(self, data: bytes) -> None:
        with self.lock:
            view = memoryview(data)
            # random chunking: the host must reassemble frames from any split
            while view:
                n = self.rng.randint(1, max(1, len(view)))
                try:
                    n = os.write(self.master, view[:n])
                except BlockingIOError:
                    time.sleep(0.001)
                    continue
                except OSError:
                    return
                view = view[n:]

    def _commands(self) -> None:
        frames = FrameDecoder()
        while not self.stop.is_set():
            try:
                ready, _, _ = select.select([self.master], [], [], 0.01)
                if not ready:
                    continue
                data = os.read(self.master, 4096)
            except (OSError, ValueError):
                if self.stop.wait(0.01):
                    return
                continue
            for msg in frames.feed(data):
                reply = self.dev.handle(msg)
                if reply is not None:
                    self._write(encode_frame(reply))
                    if msg[9] == Command.START and reply[12] == 0:
                        self._write(encode_frame(self.dev.info_message()))

    def _stream(self) -> None:
        while not self.stop.wait(0.002):
            if not self.dev.streaming:
                continue
            if self.unplugged.is_set():
                self.dev.skip(1, 4)  # sampled, never delivered
                continue
            self.sent_indices.extend(range(self.dev.index, self.dev.index + 4))
            frame = encode_frame(self.dev.samples(4))
            if self.noise and self.rng.random() < 0.1:
                junk = self.rng.choice(
                    [b"Traceback (most recent call last):\r\n", b"\r\n>>> ", bytes([7, 9, 1])]
                )
                if self.glued_noise:
                    # text glued to the next frame: that frame is lost (a real print() does it)
                    self.sent_indices[-4:] = []
                else:
                    junk += b"\x00"  # text then a zero: only the text is discarded
                self.noise_bytes += len(junk)
                frame = junk + frame
            self._write(frame)

    def unplug(self) -> None:
        """The cable comes out: the host sees the port fail."""
        self.unplugged.set()
        with self.lock:
            os.close(self.master)
            os.close(self.slave)

    def replug(self) -> None:
        """The cable goes back in: the same path names a new port."""
        with self.lock:
            self._plug()
        self.unplugged.clear()

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=2)
        for fd in (self.master, self.slave):
            with contextlib.suppress(OSError):
                os.close(fd)


def _indices(block: SampleBlock) -> np.ndarray:
    """Sample indices from the packet sequence numbers (4 samples per packet, seq from 0)."""
    within = np.arange(len(block)) - np.searchsorted(block.seq, block.seq)
    return block.seq.astype(np.int64) * 4 + within


@pytest.fixture
def pty_device(tmp_path: Path):  # type: ignore[no-untyped-def]
    dev = PtyLegPress(tmp_path)
    yield dev
    dev.close()


async def test_serial_stream_and_commands(pty_device: PtyLegPress) -> None:
    url = f"serial:{pty_device.port}"
    samples: list[SampleBlock] = []
    async with legpress.open_device(url) as dev:
        assert dev.info.name == "LegPress-0001" and dev.info.n_cells == 8
        assert dev.describe() == pty_device.port
        assert await dev.tare(8) == tuple(100 + c for c in range(8))
        assert dev.info.tare == tuple(100 + c for c in range(8))
        assert isinstance(await dev.zero(), int)
        await dev.identify(3)
        assert (await dev.status()).streaming
        with pytest.raises(CommandError, match=r"SET_RATE 1000 Hz refused by .*50 to 400 Hz"):
            await dev.set_rate(1000)
        with pytest.raises(CommandError, match="IDENTIFY refused"):
            await dev.identify(0)
        async for item in dev:
            if isinstance(item, SampleBlock):
                samples.append(item)
                if sum(len(b) for b in samples) >= 400:
                    break
        stats = dev.stats
    joined = SampleBlock.concat(samples)
    n = len(joined)
    np.testing.assert_array_equal(joined.cells, expected_cells(range(n), 8))
    np.testing.assert_array_equal(joined.position, expected_position(range(n)))
    assert stats.decoder.lost_packets == 0 and stats.decoder.corrupt == 0
    framing = stats.link.framing
    assert framing is not None and framing.skipped_bytes >= pty_device.noise_bytes > 0
    assert stats.command_errors == 2
    assert pty_device.dev.commands[0].command == Command.GET_INFO
    assert pty_device.dev.commands[-1].command == Command.STOP  # stop_on_close


async def test_text_glued_to_a_frame_loses_only_that_frame(tmp_path: Path) -> None:
    fake = PtyLegPress(tmp_path, glued_noise=True, seed=3)
    try:
        blocks: list[SampleBlock] = []
        gaps = 0
        async with legpress.open_device(f"serial:{fake.port}") as dev:
            async for item in dev:
                if isinstance(item, SampleBlock):
                    blocks.append(item)
                elif isinstance(item, GapEvent):
                    gaps += item.gap.lost_packets
                if sum(len(b) for b in blocks) >= 400:
                    break
            framing = dev.stats.link.framing
        assert gaps > 0 and framing is not None and framing.bad_frames >= gaps
        joined = SampleBlock.concat(blocks)
        np.testing.assert_array_equal(_indices(joined), fake.sent_indices[: len(joined)])
        np.testing.assert_array_equal(joined.cells, expected_cells(_indices(joined), 8))
    finally:
        fake.close()


async def test_serial_command_timeout(pty_device: PtyLegPress) -> None:
    pty_device.dev.silent = {Command.ZERO}
    async with legpress.open_device(f"serial:{pty_device.port}", command_timeout_s=0.2) as dev:
        with pytest.raises(TransportError, match=r"ZERO: no reply from .* within 0.2 s"):
            await dev.zero()
        assert dev.stats.command_timeouts == 1
        await dev.identify(1)  # the link still works


async def test_serial_reconnects_after_the_cable_is_pulled(pty_device: PtyLegPress) -> None:
    events: list[object] = []
    blocks: list[SampleBlock] = []
    async with legpress.open_device(f"serial:{pty_device.port}") as dev:
        async for item in dev:
            if isinstance(item, SampleBlock):
                blocks.append(item)
            else:
                events.append(item)
            n = sum(len(b) for b in blocks)
            if n >= 100 and not pty_device.unplugged.is_set() and len(events) == 1:
                pty_device.unplug()
                time.sleep(0.05)
                pty_device.replug()
            if any(isinstance(e, GapEvent) for e in events) and n >= 300:
                break
        assert dev.stats.link.reconnects == 1
    kinds = [type(e) for e in events]
    assert kinds[:4] == [Connected, Disconnected, Connected, GapEvent]
    assert events[2].reconnect  # type: ignore[attr-defined]
    joined = SampleBlock.concat(blocks)
    np.testing.assert_array_equal(joined.cells, expected_cells(_indices(joined), 8))
    assert set(_indices(joined)) <= set(pty_device.sent_indices)
    gap = next(e for e in events if isinstance(e, GapEvent)).gap
    assert gap.lost_samples == 4 * gap.lost_packets > 0


async def test_serial_without_reconnect_ends_with_an_error(pty_device: PtyLegPress) -> None:
    async with legpress.open_device(f"serial:{pty_device.port}?reconnect=0") as dev:
        pty_device.unplug()
        with pytest.raises(TransportError, match=r"serial port .* lost"):
            async for _ in dev:
                pass


async def test_serial_port_in_use(pty_device: PtyLegPress) -> None:
    async with legpress.open_device(f"serial:{pty_device.port}"):
        with pytest.raises(TransportError, match="in use by another program"):
            async with legpress.open_device(f"serial:{pty_device.port}"):
                pass


async def test_serial_errors_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(DeviceNotFoundError, match="not found: is the board plugged in"):
        async with legpress.open_device(f"serial:{tmp_path}/ttyNOPE"):
            pass
    denied = open_error(
        "/dev/ttyUSB0",
        serial.SerialException(
            errno.EACCES, "could not open port /dev/ttyUSB0: [Errno 13] Permission denied"
        ),
    )
    assert str(denied) == (
        "permission denied on /dev/ttyUSB0: add yourself to the dialout group "
        "(sudo usermod -aG dialout $USER) and log in again"
    )
    assert isinstance(denied, TransportError) and denied.exit_code == 4


async def test_board_at_the_repl_gives_a_hint(tmp_path: Path) -> None:
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        os.write(master, b"\r\n>>> ")
        with pytest.raises(TransportError, match="legpress firmware deploy"):
            async with legpress.open_device(
                f"serial:{os.ttyname(slave)}", command_timeout_s=0.1
            ) as dev:
                _ = dev
    finally:
        os.close(master)
        os.close(slave)
