"""stop_task: a helper task is cancelled and awaited; the caller's own cancellation survives."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from legpress.closing import stop_task


async def _slow_to_stop(cleanup_s: float) -> None:
    """A task that, cancelled, takes ``cleanup_s`` to clean up (closing a link)."""
    try:
        await asyncio.sleep(3600)
    finally:
        await asyncio.shield(asyncio.sleep(cleanup_s))


async def test_the_task_is_stopped_and_its_cancellation_swallowed() -> None:
    task = asyncio.create_task(_slow_to_stop(0.01))
    await asyncio.sleep(0)
    await stop_task(task)
    assert task.cancelled()


async def _closer(helper: asyncio.Task[None], how: str, after: list[str]) -> None:
    if how == "stop_task":
        await stop_task(helper)
    else:
        helper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await helper
    after.append("carried on")  # a caller that was cancelled must not get here


@pytest.mark.parametrize("how", ["stop_task", "bare suppress"])
async def test_a_caller_cancelled_while_it_waits_is_still_cancelled(how: str) -> None:
    helper = asyncio.create_task(_slow_to_stop(0.2))
    await asyncio.sleep(0)
    after: list[str] = []
    closer = asyncio.create_task(_closer(helper, how, after))
    await asyncio.sleep(0.05)  # the closer is waiting for the helper to clean up
    closer.cancel()
    await asyncio.wait([closer, helper])
    if how == "stop_task":
        assert closer.cancelled() and after == []
    else:  # what the library did before: the cancellation is lost
        assert not closer.cancelled() and after == ["carried on"]


async def test_errors_are_raised_unless_asked_to_be_swallowed() -> None:
    async def fails() -> None:
        raise RuntimeError("broken")

    task = asyncio.create_task(fails())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="broken"):
        await stop_task(task)
    task = asyncio.create_task(fails())
    await asyncio.sleep(0)
    await stop_task(task, errors=True)


async def test_a_caller_cleaning_up_after_its_own_cancellation_stops_every_task() -> None:
    helpers = [asyncio.create_task(_slow_to_stop(0.01)) for _ in range(3)]
    stopped: list[bool] = []

    async def owner() -> None:
        try:
            await asyncio.sleep(3600)
        finally:  # cancelled: stop every helper, then let the cancellation go on
            for h in helpers:
                await stop_task(h)
                stopped.append(h.cancelled())

    task = asyncio.create_task(owner())
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.wait([task])
    assert task.cancelled() and stopped == [True, True, True]
