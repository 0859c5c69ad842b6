"""Fixtures for the real-stack tests: the virtual air and a firmware board on it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.e2e.firmware_stack import FirmwareBoard
from tests.host.transport.bumble_backend import VirtualAir


@pytest.fixture
async def board(
    air: VirtualAir, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[FirmwareBoard]:
    """A booted board; ``@pytest.mark.board_config({...})`` sets config.json keys."""
    marker = request.node.get_closest_marker("board_config")
    config = marker.args[0] if marker is not None else {"security": "open"}
    b = FirmwareBoard(air, tmp_path / "board", config)
    await b.boot()
    try:
        yield b
    finally:
        await b.power_off()
        print(f"--- firmware output ---\n{b.log()}")  # pytest shows it when the test fails
