"""Hubs for the MQTT tests: simulated machines, one session each, and services run together."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from legpress.hub import Hub, HubConfig, MachineSpec, PresenceConfig
from legpress.storage.store import SessionStore


def make_hub(store: SessionStore, *machines: MachineSpec) -> Hub:
    """A hub that reopens a finished simulation (or one too slow to start on a loaded machine)
    after 3 s: a machine may have more than one session, so tests compare by session."""
    return Hub(
        HubConfig(
            machines=machines,
            presence=PresenceConfig(leave_s=2.0),
            reconnect_min_s=3.0,
            reconnect_max_s=3.0,
        ),
        store,
    )


def first_ended(messages: list[dict[str, Any]]) -> int | None:
    """The hub's id of the first session whose end is among ``messages`` (session payloads)."""
    ends = [m["session_id"] for m in messages if m.get("event") == "end"]
    return ends[0] if ends else None


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
