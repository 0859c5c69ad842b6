"""Shared by the BLE tests on the virtual air (tests/host/transport, tests/e2e): :func:`take`
reads a device's stream until enough samples came (the ``air`` fixture: tests/conftest.py)."""

from __future__ import annotations

import asyncio
from typing import Any

import legpress
from legpress import SampleBlock


async def take(
    dev: legpress.Device, n_samples: int, timeout_s: float = 10.0, **until: Any
) -> tuple[SampleBlock, list[Any]]:
    """At least ``n_samples`` samples from ``dev`` (joined), and every other item on the way."""
    blocks: list[SampleBlock] = []
    events: list[Any] = []
    async with asyncio.timeout(timeout_s):
        async for item in dev:
            if isinstance(item, SampleBlock):
                blocks.append(item)
                if sum(len(b) for b in blocks) >= n_samples:
                    break
            else:
                events.append(item)
    return SampleBlock.concat(blocks), events
