"""Fan-out of live messages from the machines to every open dashboard (and MQTT).

Publishing never waits: each subscriber has a bounded queue, and a subscriber too slow to keep
up loses its oldest messages (counted in :attr:`Subscription.dropped`), never the machine's
data or another subscriber's.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Broadcast", "Subscription", "json_ready"]


def json_ready(value: Any) -> Any:
    """``value`` for strict JSON: non-finite numbers become None, numpy scalars Python ones,
    tuples lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    item = getattr(value, "item", None)
    if callable(item):
        return json_ready(item())
    return value


class Subscription:
    """One reader of a :class:`Broadcast`.

    Attributes:
        dropped: messages lost because this reader was too slow.
    """

    def __init__(self, maxsize: int) -> None:
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize)
        self.dropped = 0

    def put(self, message: dict[str, Any]) -> None:
        """Queue ``message``, dropping the oldest one when full."""
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(message)

    async def get(self) -> dict[str, Any]:
        """The next message."""
        return await self._queue.get()

    def pending(self) -> int:
        """Messages waiting."""
        return self._queue.qsize()


class Broadcast:
    """Messages (JSON-ready dicts) to every current subscriber.

    Args:
        maxsize: messages kept per subscriber.
    """

    def __init__(self, maxsize: int = 1024) -> None:
        self._maxsize = maxsize
        self._subs: set[Subscription] = set()

    def publish(self, message: dict[str, Any]) -> None:
        """Send ``message`` to every subscriber (never blocks)."""
        for sub in self._subs:
            sub.put(message)

    @contextmanager
    def subscribe(self) -> Iterator[Subscription]:
        """A subscription for the duration of the ``with`` block."""
        sub = Subscription(self._maxsize)
        self._subs.add(sub)
        try:
            yield sub
        finally:
            self._subs.discard(sub)

    @property
    def subscribers(self) -> int:
        """How many subscribers there are."""
        return len(self._subs)
