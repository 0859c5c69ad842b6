"""The real firmware on a real BLE host stack, on the virtual air of the host's BLE tests.

    firmware (MicroPython unix port + NimBLE) --HCI (H4) over a pty--> Bumble Controller
        --LocalLink (virtual air)--> Bumble Controller --> Bumble host --> bleak API --> legpress

The MicroPython unix port with the real ``bluetooth`` module is built from
``../shared/micropython-ble`` by ``./tools/test`` (into ``.cache/micropython-ble``, once per
source hash); :func:`micropython_ble` finds the binary. :class:`FirmwareBoard` is one board: a
pty HCI transport, a controller on the air and the MicroPython process running
``fw_main.py`` (the unmodified app with the fake ``machine``/``esp32``), in a folder of its own
that keeps ``config.json`` and the bond keys across reboots.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bumble.controller import Controller
from bumble.transport.common import Transport
from bumble.transport.pty import open_pty_transport

from legpress import SampleBlock
from legpress.protocol.spec import Flag
from tests.e2e import sensors
from tests.host.transport.bumble_backend import VirtualAir
from tests.mpy.harness import running_in_ci

REPO = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
FAKES = REPO / "tests" / "mpy" / "fakes"
FIRMWARE = REPO / "firmware"
BINARY_ENV = "LEGPRESS_MICROPYTHON_BLE"
DEFAULT_BINARY = REPO / ".cache" / "micropython-ble" / "micropython"
#: The board's Bluetooth address (the controller's public address; NimBLE reads it over HCI).
BOARD_ADDRESS = "24:0A:C4:5E:1E:92"
BOARD_NAME = "LegPress-1E92"  # default_name(): the last two bytes of the address
CELLS = 6  # BASE_CONFIG

HOW_TO_GET_IT = (
    "the real-stack tests need the MicroPython unix port with Bluetooth: ./tools/test builds "
    "it from ../shared/micropython-ble (needs cc and make: apt-get install build-essential), "
    f"or set {BINARY_ENV}=/path/to/micropython"
)


def micropython_ble() -> Path:
    """The MicroPython binary with real Bluetooth; skips the test (fails under CI) without it."""
    path = Path(os.environ.get(BINARY_ENV) or DEFAULT_BINARY)
    if path.is_file() and os.access(path, os.X_OK):
        return path
    reason = f"{path} is missing: {HOW_TO_GET_IT}"
    if running_in_ci():
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


#: Firmware configuration of the tests: six cells wired directly (one ADC per cell, so the
#: readings follow sensors.py exactly), the PCNT encoder, no USB serial link (stdin/stdout are
#: the test's), no watchdog.
BASE_CONFIG: dict[str, Any] = {
    "pad": "direct",
    "cells": 6,
    "position": "pcnt",
    "serial": False,
    "watchdog_s": 0,
}


class FirmwareBoard:
    """One leg press: the firmware process behind a controller on ``air``.

    Args:
        air: the virtual air.
        folder: the board's file system (config.json, ble_secrets.json).
        config: config.json keys over :data:`BASE_CONFIG`.
        address: the controller's public address, which NimBLE takes as the board's MAC.
    """

    def __init__(
        self,
        air: VirtualAir,
        folder: Path,
        config: dict[str, Any] | None = None,
        *,
        address: str = BOARD_ADDRESS,
    ) -> None:
        self.air = air
        self.folder = folder
        self.address = address
        self.binary = micropython_ble()
        self.config = {**BASE_CONFIG, **(config or {})}
        folder.mkdir(parents=True, exist_ok=True)
        self.fakes = folder.parent / f"{folder.name}-fakes"
        self.fakes.mkdir(exist_ok=True)
        for name in ("machine.py", "esp32.py"):  # not bluetooth.py: the real one is built in
            shutil.copy(FAKES / name, self.fakes / name)
        self.write_config()
        self.output: list[str] = []
        self.boots = 0
        self.process: asyncio.subprocess.Process | None = None
        self._transport: Transport | None = None
        self.controller: Controller | None = None
        self._reader: asyncio.Task[None] | None = None

    def write_config(self) -> None:
        """Write config.json (read at the next boot)."""
        (self.folder / "config.json").write_text(json.dumps(self.config))

    @property
    def secrets(self) -> Path:
        """The bond keys the firmware keeps (radio.py)."""
        return self.folder / "ble_secrets.json"

    async def boot(self) -> None:
        """Power on: a fresh controller on the air, then the firmware (its NimBLE resets it)."""
        assert self.process is None, "already running"
        self.boots += 1
        tty = self.folder.parent / f"{self.folder.name}-hci{self.boots}"
        with contextlib.suppress(FileNotFoundError):
            tty.unlink()
        self._transport = await open_pty_transport(str(tty))
        self.controller = self.air.add_controller(
            f"board-{self.boots}",
            self.address,
            host_source=self._transport.source,
            host_sink=self._transport.sink,
        )
        env = {**os.environ, "MICROPYBTUART": str(tty)}
        self.process = await asyncio.create_subprocess_exec(
            str(self.binary),
            str(HERE / "fw_main.py"),
            str(self.fakes),
            str(FIRMWARE),
            str(HERE),
            str(self.folder / "config.json"),
            cwd=self.folder,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._read_output(self.process))

    async def _read_output(self, process: asyncio.subprocess.Process) -> None:
        assert process.stdout is not None
        async for line in process.stdout:
            self.output.append(line.decode(errors="replace").rstrip())

    def log(self) -> str:
        """Everything the firmware printed, for assertion messages."""
        return "\n".join(self.output)

    async def wait_exit(self, timeout_s: float = 10.0) -> int:
        """Wait for the firmware to stop by itself (a reset), then power the board off."""
        assert self.process is not None
        async with asyncio.timeout(timeout_s):
            code = await self.process.wait()
        await self.power_off()
        return code

    async def power_off(self) -> None:
        """Cut the power: the process dies and the host's link times out."""
        process, self.process = self.process, None
        if process is not None and process.returncode is None:
            process.kill()
            await process.wait()
        if self._reader is not None:
            # gather: the reader may have been cancelled already (asyncio.run's shutdown
            # cancels every task; the CLI tests power off then), which must not stop this.
            await asyncio.gather(self._reader, return_exceptions=True)
            self._reader = None
        if self.controller is not None:
            self.air.remove_controller(self.controller)
            self.controller = None
        if self._transport is not None:
            with contextlib.suppress(Exception):
                await self._transport.close()
            self._transport = None
            await asyncio.sleep(0)  # the pipes' connection_lost runs on the next loop pass

    async def reboot(self) -> None:
        """Power off and on again (files kept)."""
        await self.power_off()
        await self.boot()


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
