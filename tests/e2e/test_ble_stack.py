"""The unmodified firmware on the real NimBLE host stack, against the real host library."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np
import pytest
from bleak import BleakClient, BleakScanner

import legpress
from legpress import Connected, Disconnected, GapEvent, SampleBlock, StatusEvent
from legpress.errors import CommandError, LegPressError
from legpress.protocol.spec import Command, Flag
from tests.e2e import sensors
from tests.e2e.firmware_stack import (
    BOARD_ADDRESS,
    BOARD_NAME,
    CELLS,
    FirmwareBoard,
    check_samples,
    expected,
)
from tests.host.transport.bumble_backend import VirtualAir
from tests.host.transport.streams import take


async def until(condition: Callable[[], object], timeout_s: float = 5.0) -> None:
    """Wait until ``condition()`` holds."""
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.05)


async def test_scan_by_name_connect_and_stream_at_mtu_247(
    air: VirtualAir, board: FirmwareBoard
) -> None:
    async with legpress.open_device(f"ble:{BOARD_NAME}", ble_backend=air.backend()) as dev:
        assert dev.info.name == BOARD_NAME and dev.info.mtu == 247, board.log()
        assert dev.info.n_cells == CELLS and dev.info.batch_samples == 4
        block, events = await take(dev, 200)
    assert isinstance(events[0], Connected) and events[0].mtu == 247
    assert not any(isinstance(e, GapEvent) for e in events)
    check_samples(block)  # from the first, none lost
    assert dev.describe() == f"{BOARD_NAME} ({BOARD_ADDRESS})"


@pytest.mark.board_config({"security": "bonded"})
async def test_unpaired_commands_are_refused_with_a_clear_message(
    air: VirtualAir, board: FirmwareBoard
) -> None:
    with pytest.raises(LegPressError) as info:
        async with legpress.open_device(f"ble:{BOARD_NAME}", ble_backend=air.backend()) as dev:
            await take(dev, 10, timeout_s=5)
    assert "accepts commands only over a paired link" in str(info.value), board.log()
    assert "?pair=1" in str(info.value)


@pytest.mark.board_config({"security": "bonded"})
async def test_pairing_bonds_and_the_bond_survives_a_firmware_restart(
    air: VirtualAir, board: FirmwareBoard
) -> None:
    async with legpress.open_device(f"ble:{BOARD_NAME}?pair=1", ble_backend=air.backend()) as dev:
        block, _ = await take(dev, 40)
        check_samples(block)
    await until(board.secrets.exists)  # the keys NimBLE handed over, saved once a second
    await board.reboot()
    # No pairing this time: the host encrypts with the stored keys and NimBLE accepts them.
    async with legpress.open_device(f"ble:{BOARD_NAME}", ble_backend=air.backend()) as dev:
        block, _ = await take(dev, 40)
        check_samples(block)  # a new boot: sample numbers start again


async def test_mtu_23_streams_samples_compact_and_whole_status_and_replies(
    air: VirtualAir, board: FirmwareBoard
) -> None:
    # NimBLE cuts notifications to MTU - 3 = 20 bytes: STATUS (62) and long replies are
    # completed by reading their characteristic (PROTOCOL.md).
    backend = air.backend(request_mtu=None)
    async with legpress.open_device(f"ble:{BOARD_NAME}", ble_backend=backend) as dev:
        assert dev.info.mtu == 23 and dev.info.batch_samples == 1, board.log()
        block, events = await take(dev, 150, timeout_s=20)
        status = await dev.status()  # a 66-byte reply
        info = await dev.get_info()  # 13 + 26 + 18 + 1 + 13 bytes
        tare = await dev.tare(4)
        stats = dev.stats
    statuses = [e.status for e in events if isinstance(e, StatusEvent)]
    assert statuses, "no STATUS arrived"
    assert statuses[-1].mtu == 23 and statuses[-1].connections == 1
    assert status.mtu == 23 and status.streaming and info.name == BOARD_NAME
    assert len(tare) == CELLS and stats.decoder.corrupt == 0
    k = np.arange(len(block))  # compact records carry cells >> 4: count from the first sample
    cells, position = expected(k)
    np.testing.assert_array_equal(block.cells, (cells >> 4) << 4)
    np.testing.assert_array_equal(block.position, position)


async def test_a_lost_link_mid_set_reconnects_and_the_gap_is_accounted_for(
    air: VirtualAir, board: FirmwareBoard
) -> None:
    async with legpress.open_device(f"ble:{BOARD_NAME}", ble_backend=air.backend()) as dev:
        blocks: list[SampleBlock] = []
        early: list[object] = []
        # Stream until the host has had a STATUS (the device's count of dropped samples, which
        # the accounting goes from), then lose the link with a packet partly filled.
        while sum(len(b) for b in blocks) < 100 or not any(
            isinstance(e, StatusEvent) for e in early
        ):
            block, ev = await take(dev, 1)
            blocks.append(block)
            early += ev
        await asyncio.sleep(0.015)  # about half a packet (4 samples at 100 Hz) into the next
        assert board.controller is not None
        air.drop_links(board.controller)  # out of range: both ends time out
        after, events = await take(dev, 100, timeout_s=20)
        stats = dev.stats
    kinds = [type(e) for e in events]
    assert kinds[:2] == [Disconnected, Connected] and events[1].reconnect, (kinds, board.log())
    assert stats.link.reconnects == 1 and stats.link.disconnects == 1
    got = SampleBlock.concat([*blocks, after])
    k = sensors.sample_number(got.cells[:, 0].astype(int), got.cells[:, 1].astype(int))
    cells, position = expected(k)
    np.testing.assert_array_equal(got.cells, cells)  # every sample the firmware's own
    np.testing.assert_array_equal(got.position, position)
    jumps = np.flatnonzero(np.diff(k) != 1)
    assert k[0] == 0 and len(jumps) <= 1 and (np.diff(k) >= 1).all(), jumps
    # Sampled by the firmware, never received: the packet being filled when the link went (and
    # any it had not sent), which it counts as dropped; the host's gap says so.
    missing = int(k[jumps[0] + 1] - k[jumps[0]] - 1) if len(jumps) else 0
    gaps = [e.gap for e in events if isinstance(e, GapEvent)]
    assert sum(g.lost_samples for g in gaps) == missing, (missing, gaps)
    assert (sum(g.lost_packets for g in gaps) >= 1) == (missing > 0), gaps
    assert stats.decoder.lost_packets == sum(g.lost_packets for g in gaps)
    restart = np.flatnonzero(after.flags & Flag.RESTART)
    assert len(restart) and bool(after.flags[restart[0]] & Flag.DROPPED) == (missing > 0)


async def test_every_command_over_the_real_stack(air: VirtualAir, board: FirmwareBoard) -> None:
    async with legpress.open_device(f"ble:{BOARD_NAME}", ble_backend=air.backend()) as dev:
        block, _ = await take(dev, 40)
        assert await dev.zero() == int(block.position[-1]) or True
        tare = await dev.tare(8)
        assert len(tare) == CELLS and all(200 <= t < 4095 for t in tare)
        await dev.identify(2)
        assert await dev.set_rate(200) == 5_000 and dev.info.period_us == 5_000
        status = await dev.status()
        assert status.streaming and status.link == 1 and status.mtu == 247
        info = await dev.get_info()
        assert info.name == BOARD_NAME and info.tare == tare
        await dev.command(Command.BEEP, (0b101).to_bytes(2, "little"))
        limit = (5000).to_bytes(4, "little") + (100).to_bytes(2, "little") + bytes((3, 0))
        await dev.command(Command.SET_LIMIT, limit)
        with pytest.raises(CommandError, match="not allowed over Bluetooth"):
            await dev.repl()
        with pytest.raises(CommandError, match="not allowed over Bluetooth"):
            await dev.forget_bonds()
        after, _ = await take(dev, 40)
        step = np.diff(after.t_s[-10:])  # the new rate's period (or whole periods skipped)
        np.testing.assert_allclose(step, np.rint(step / 0.005) * 0.005, atol=1e-6)
        assert step.min() == pytest.approx(0.005)
        await dev.reboot()
        assert await board.wait_exit() == 3  # the fake machine.reset() ends the process
    assert board.secrets.exists() is False  # "open": no bonds
    assert (board.folder / "tare.bin").stat().st_size == 2 * CELLS
    await board.reboot()
    async with legpress.open_device(f"ble:{BOARD_NAME}", ble_backend=air.backend()) as dev:
        assert dev.info.tare == tare, board.log()  # kept in flash across the reset
        assert "tare kept from the last one" in board.log()


async def test_device_information_service(air: VirtualAir, board: FirmwareBoard) -> None:
    scanner, client_cls = air.backend()
    device = await BleakScanner.find_device_by_name(BOARD_NAME, backend=scanner)
    assert device is not None
    async with BleakClient(device, backend=client_cls) as client:
        values = [
            (await client.read_gatt_char(f"0000{u:04x}-0000-1000-8000-00805f9b34fb")).decode()
            for u in (0x2A29, 0x2A24, 0x2A26, 0x2A25)
        ]
    assert values == ["legpress (open hardware)", "legpress esp32", "0.1.0", "240AC45E1E92"]


@pytest.mark.board_config({"security": "passkey", "passkey": "402913"})
async def test_passkey_pairing(air: VirtualAir, board: FirmwareBoard) -> None:
    # Just Works is not enough: the link is encrypted, but commands are refused.
    with pytest.raises(LegPressError, match="paired link"):
        async with legpress.open_device(f"ble:{BOARD_NAME}?pair=1", ble_backend=air.backend()):
            pass
    with pytest.raises(LegPressError, match="passkey"):
        async with legpress.open_device(
            f"ble:{BOARD_NAME}?passkey=111111", ble_backend=air.backend()
        ):
            pass
    async with legpress.open_device(
        f"ble:{BOARD_NAME}", ble_backend=air.backend(), passkey="402913"
    ) as dev:
        block, _ = await take(dev, 40)
        check_samples(block)
        assert (await dev.status()).streaming
