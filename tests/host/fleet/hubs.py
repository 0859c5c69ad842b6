"""Hubs for the MQTT tests: simulated machines, one session each, and services run together."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from legpress.hub import Hub, HubConfig, MachineSpec, PresenceConfig
from legpress.storage.store import SessionStore


def make_hub(store: SessionStore, *machines: MachineSpec) -> Hub:
    """A hub that reconnects a finished simulation only after 10 minutes (one session)."""
    return Hub(
        HubConfig(
            machines=machines,
            presence=PresenceConfig(leave_s=2.0),
            reconnect_min_s=600.0,
            reconnect_max_s=600.0,
        ),
        store,
    )


@contextlib.asynccontextmanager
async def running(*services: Any) -> AsyncIterator[None]:
    """Each service's ``run()`` as a task; cancelled afterwards, and each must stop in 30 s."""
    tasks = [asyncio.create_task(s.run()) for s in services]
    try:
        yield
    finally:
        for t in tasks:
            t.cancel()
        done, hung = await asyncio.wait(tasks, timeout=30)
        for t in hung:
            t.print_stack()
        assert not hung, "a service did not stop"
        for t in done:
            with contextlib.suppress(asyncio.CancelledError):
                t.result()
