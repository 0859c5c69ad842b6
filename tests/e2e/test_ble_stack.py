"""The unmodified firmware on the real NimBLE host stack, against the real host library."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np
import pytest

import legpress
from legpress import Connected, GapEvent, SampleBlock
from legpress.errors import LegPressError
from legpress.protocol.spec import Flag
from tests.e2e import sensors
from tests.e2e.firmware_stack import BOARD_ADDRESS, BOARD_NAME, FirmwareBoard
from tests.host.transport.bumble_backend import VirtualAir
from tests.host.transport.streams import take

CELLS = 6


def expected(k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The cells and positions the firmware sampled as samples number ``k`` (sensors.py)."""
    cells = np.array([[sensors.cell_raw(c, int(i)) for c in range(CELLS)] for i in k])
    return cells.reshape(len(k), CELLS), np.array([sensors.position(int(i)) for i in k])


def check_samples(block: SampleBlock, first: int = 0, period_s: float = 0.01) -> np.ndarray:
    """Every sample is the firmware's own, in order from sample ``first``, none lost; returns k.

    Times: sample slots one period apart, except where the sampler skipped slots, which it
    flags (OVERRUN; a loaded test machine can make the firmware late).
    """
    k = sensors.sample_number(block.cells[:, 0].astype(int), block.cells[:, 1].astype(int))
    np.testing.assert_array_equal(k, first + np.arange(len(block)))
    cells, position = expected(k)
    np.testing.assert_array_equal(block.cells, cells)
    np.testing.assert_array_equal(block.position, position)
    slots = np.diff(np.rint(block.t_s / period_s).astype(np.int64))
    np.testing.assert_allclose(np.diff(block.t_s), slots * period_s, atol=1e-6)
    skipped = np.flatnonzero(slots != 1) + 1
    assert (slots >= 1).all() and (block.flags[skipped] & Flag.OVERRUN).all()
    return k


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
