"""The device for plain (non-async) scripts: its event loop runs in a background thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Iterator
from concurrent.futures import Future as _ThreadFuture
from typing import Any, TypeVar

from legpress.closing import Closing
from legpress.device.events import DeviceItem
from legpress.device.pump import Device
from legpress.device.stats import DeviceStats
from legpress.errors import TransportError, UsageError
from legpress.protocol.messages import DeviceInfo, Reply, Status
from legpress.protocol.spec import Command

__all__ = ["BlockingDevice", "open_blocking"]

_T = TypeVar("_T")


class BlockingDevice(Closing):
    """A :class:`Device` for plain scripts: its event loop runs in a background thread.

    .. code-block:: python

        with legpress.open_blocking("sim:scenario=liftoff") as dev:
            for item in dev:
                ...

    Args:
        url: as for :func:`open_device`.
        open_timeout_s: longest time to wait for the connection.
        **options: as for :func:`open_device`.

    Raises:
        the errors of :meth:`Device.open`.
    """

    def __init__(self, url: str, *, open_timeout_s: float | None = 60.0, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="legpress-device-loop", daemon=True
        )
        self._thread.start()
        self._closed = False
        try:
            self._device: Device = self._call(self._open(url, options), open_timeout_s)
        except BaseException:
            self._stop_loop()
            raise

    @staticmethod
    async def _open(url: str, options: dict[str, Any]) -> Device:
        device = Device(url, **options)
        await device.open()
        return device

    def _call(self, coro: Awaitable[_T], timeout_s: float | None = None) -> _T:
        if self._closed:
            raise UsageError("the device is closed")
        future: _ThreadFuture[_T] = asyncio.run_coroutine_threadsafe(
            _as_coroutine(coro), self._loop
        )
        try:
            return future.result(timeout_s)
        except TimeoutError:
            future.cancel()
            raise TransportError("timed out waiting for the device") from None
        except BaseException:
            future.cancel()
            raise

    @property
    def device(self) -> Device:
        """The asynchronous device (use it only from its loop)."""
        return self._device

    @property
    def info(self) -> DeviceInfo:
        """The device's ``DEVICE_INFO``."""
        return self._device.info

    @property
    def stats(self) -> DeviceStats:
        """The device's counters."""
        return self._device.stats

    @property
    def ended(self) -> bool:
        """True at the end of a recording or simulation."""
        return self._device.ended

    def read(self, timeout_s: float | None = None) -> list[DeviceItem]:
        """Everything decoded so far, waiting up to ``timeout_s`` for at least one item.

        Returns:
            The items; empty on timeout or at the end (see :attr:`ended`).

        Raises:
            TransportError: the link is lost for good.
        """
        return self._call(self._device.read(timeout_s))

    def __iter__(self) -> Iterator[DeviceItem]:
        while True:
            items = self.read(None)
            if not items:
                return
            yield from items

    def start(self) -> None:
        """See :meth:`Device.start`."""
        self._call(self._device.start())

    def stop(self) -> None:
        """See :meth:`Device.stop`."""
        self._call(self._device.stop())

    def zero(self) -> int:
        """See :meth:`Device.zero`."""
        return self._call(self._device.zero())

    def tare(self, samples: int = 32) -> tuple[int, ...]:
        """See :meth:`Device.tare`."""
        return self._call(self._device.tare(samples))

    def set_rate(self, hz: int) -> int:
        """See :meth:`Device.set_rate`."""
        return self._call(self._device.set_rate(hz))

    def identify(self, seconds: int = 5) -> None:
        """See :meth:`Device.identify`."""
        self._call(self._device.identify(seconds))

    def status(self) -> Status:
        """See :meth:`Device.status`."""
        return self._call(self._device.status())

    def command(self, command: Command | int, args: bytes = b"") -> Reply:
        """See :meth:`Device.command`."""
        return self._call(self._device.command(command, args))

    def close(self) -> None:
        """Close the device and stop the background loop. Safe to call twice."""
        if self._closed:
            return
        try:
            self._call(self._device.close(), 10.0)
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._closed = True
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        if not self._thread.is_alive():
            self._loop.close()


async def _as_coroutine(aw: Awaitable[_T]) -> _T:
    return await aw


def open_blocking(url: str, **options: Any) -> BlockingDevice:
    """Open a leg press for a plain (non-async) script.

    Args:
        url: as for :func:`open_device`.
        **options: as for :func:`open_device`, plus ``open_timeout_s``.

    Returns:
        The connected device; iterate it, or call :meth:`BlockingDevice.read`.

    Raises:
        the errors of :meth:`Device.open`.
    """
    return BlockingDevice(url, **options)
