"""The command RPC: a ``COMMAND`` out, its ``REPLY`` back (matched by sequence number), and
errors that say what the device refused and why (PROTOCOL.md result codes)."""

from __future__ import annotations

import asyncio
import os
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from legpress.device.stats import DeviceStats
from legpress.errors import CommandError, LegPressError, TransportError
from legpress.protocol.messages import DeviceInfo, Reply, encode_command
from legpress.protocol.spec import Command, Result

__all__ = ["CommandRPC", "command_name"]

_RESULT_TEXT: Final = {
    Result.UNKNOWN_COMMAND: "the firmware does not know this command (update the firmware)",
    Result.BAD_LENGTH: "the command was malformed",
    Result.BAD_ARGUMENT: "an argument is out of range",
    Result.BAD_VERSION: "the firmware speaks another protocol version (update legpress and "
    "the firmware together)",
    Result.BAD_TYPE: "the message was not a command",
    Result.BUSY: "the device is busy; try again in a moment",
    Result.INTERNAL: "the command failed on the device (see `legpress monitor` status or the "
    "serial log)",
    Result.NOT_PERMITTED: "not allowed over Bluetooth: connect the leg press by USB (serial:PORT)",
}


def command_name(code: int) -> str:
    """``SET_RATE``, or ``command 0x42`` for a code this host does not know."""
    try:
        return Command(code).name
    except ValueError:
        return f"command 0x{code:02x}"


@dataclass(slots=True)
class _Pending:
    command: int
    future: asyncio.Future[Reply]


class CommandRPC:
    """Commands in flight to one device.

    Args:
        stats: the session counters (commands, errors, timeouts, unmatched replies).
        describe: the device's name, for messages.
    """

    def __init__(self, stats: DeviceStats, describe: Callable[[], str]) -> None:
        self._stats = stats
        self._describe = describe
        self._seq = int.from_bytes(os.urandom(2), "little") or 1
        self._pending: dict[int, _Pending] = {}

    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFFFF
        while self._seq in self._pending:
            self._seq = (self._seq + 1) & 0xFFFF
        return self._seq

    async def call(
        self,
        command: int,
        args: bytes,
        send: Callable[[bytes], Awaitable[None]],
        timeout_s: float,
    ) -> Reply:
        """Send ``command`` with ``send`` and wait for its reply.

        Returns:
            The ``OK`` reply.

        Raises:
            CommandError: the device refused the command (the message says why).
            TransportError: no reply in time, or the link is down.
        """
        seq = self._next_seq()
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._pending[seq] = _Pending(command, future)
        self._stats.commands += 1
        try:
            await send(encode_command(command, args, seq))
            async with asyncio.timeout(timeout_s):
                reply = await future
        except TimeoutError:
            self._stats.command_timeouts += 1
            raise TransportError(
                f"{command_name(command)}: no reply from {self._describe()} within "
                f"{timeout_s:g} s; is it still connected and running the legpress firmware?"
            ) from None
        finally:
            self._pending.pop(seq, None)
        if not reply.ok:
            self._stats.command_errors += 1
            raise CommandError(
                self._explain(reply, args), command=reply.command, result=reply.result
            )
        return reply

    def answer(self, reply: Reply, info: DeviceInfo | None) -> None:
        """Hand a reply to the command waiting for it.

        Args:
            reply: the reply, as decoded.
            info: the DEVICE_INFO the decoder took from the same packet, if any (an OK
                ``GET_INFO`` reply without one was unreadable).
        """
        pending = self._pending.get(reply.request_seq)
        if pending is None or reply.command not in (pending.command, 0):
            self._stats.unmatched_replies += 1
            return
        del self._pending[reply.request_seq]
        if pending.future.done():
            return
        if reply.ok and reply.command == Command.GET_INFO and info is None:
            pending.future.set_exception(
                CommandError("GET_INFO: the reply carried no readable DEVICE_INFO", reply.command)
            )
            pending.future.exception()  # mark retrieved: the waiter may have gone
        else:
            pending.future.set_result(reply)

    def fail_all(self, error: LegPressError) -> None:
        """Every command in flight fails with ``error`` (link lost, device closed)."""
        pending, self._pending = self._pending, {}
        for p in pending.values():
            if not p.future.done():
                p.future.set_exception(error)
                p.future.exception()  # mark retrieved: the waiter may have gone

    def _explain(self, reply: Reply, args: bytes) -> str:
        name = command_name(reply.command)
        try:
            result = Result(reply.result)
            reason = _RESULT_TEXT.get(result, result.name)
        except ValueError:
            reason = f"unknown result {reply.result}"
        what = name
        if reply.command == Command.SET_RATE and len(args) == 2:
            what = f"SET_RATE {struct.unpack('<H', args)[0]} Hz"
            if reply.result == Result.BAD_ARGUMENT:
                reason = "the rate must be 50 to 400 Hz"
        elif reply.command == Command.IDENTIFY and reply.result == Result.BAD_ARGUMENT:
            reason = "the duration must be 1 to 60 s"
        elif reply.command == Command.TARE and reply.result == Result.BAD_ARGUMENT:
            reason = "samples must be 1 to 255"
        return f"{what} refused by {self._describe()}: {reason}"
