"""The serial path end to end over a pty pair: a fake device thread on the master side speaks
the framed protocol (with REPL text and noise between frames) to the production SerialLink."""

from __future__ import annotations

import errno
import os
import time
import tty
from pathlib import Path

import numpy as np
import pytest
import serial

import legpress
from legpress import Connected, Disconnected, GapEvent, SampleBlock
from legpress.errors import CommandError, DeviceNotFoundError, TransportError
from legpress.protocol.spec import Command
from legpress.transport.serial import open_error
from tests.host.transport.fake_legpress import expected_cells, expected_position
from tests.host.transport.pty_device import PtyLegPress


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
                first = pty_device.dev.index
                pty_device.unplug()
                # Stay unplugged until the device has sampled (and lost) two packets, however
                # slowly its thread gets scheduled: otherwise no gap may happen at all.
                deadline = time.monotonic() + 5.0
                while pty_device.dev.index < first + 8 and time.monotonic() < deadline:
                    time.sleep(0.01)
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
