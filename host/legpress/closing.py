"""``Closing``: ``with obj:`` for the library's objects that own a resource and have close();
:func:`stop_task`: cancel a helper task and wait for it, without swallowing the caller's own
cancellation."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any, Self


class Closing:
    """Mixin: entering returns the object; leaving calls :meth:`close`, whatever happened."""

    def close(self) -> None:
        """Release what the object holds; each class that mixes this in defines it."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


async def stop_task(task: asyncio.Task[Any], *, errors: bool = False) -> None:
    """Cancel ``task`` and wait until it has ended.

    The task's own ``CancelledError`` is swallowed, but not the caller's: if the task calling
    this is cancelled while it waits, ``CancelledError`` goes on up. (A bare
    ``contextlib.suppress(asyncio.CancelledError)`` around the wait swallows both, and the
    caller then carries on as if it had never been cancelled: a hub whose machine was being
    closed when the hub stopped went back to reconnecting, and never stopped.) A caller
    already on its way out of a cancellation (cleaning up in a ``finally``) is not stopped
    again: it can stop several tasks in a row.

    Args:
        task: the task to stop.
        errors: also swallow an exception the task ended with (it has reported it itself).
    """
    current = asyncio.current_task()
    before = current.cancelling() if current is not None else 0
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        if current is not None and current.cancelling() > before:
            raise
    except Exception:
        if not errors:
            raise
