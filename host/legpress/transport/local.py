"""Command answers for stand-ins of a leg press (recordings and the simulator).

A stand-in has no firmware to answer ``COMMAND`` messages, so :class:`LocalResponder` answers
the ones that make sense without a device (``START``, ``STOP``, ``GET_INFO``, ``GET_STATUS``,
``IDENTIFY``) with the bytes a device would send, and refuses the others with a
:class:`~legpress.errors.UsageError` that says why. :class:`LocalLink` is the base of the
stand-in links: it plays from a task and answers commands with a :class:`LocalResponder`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any, ClassVar

from legpress.closing import stop_task
from legpress.errors import LegPressError, ProtocolError, TransportError, UsageError
from legpress.protocol.messages import CommandMessage, Reply, Status
from legpress.protocol.spec import Command, Result
from legpress.transport.base import Connected, Link, LinkSink, RawPacket

#: Finite sources played as fast as the consumer takes them yield to the event loop every
#: this many packets.
YIELD_EVERY = 256


class LocalResponder:
    """Answers commands for a stand-in.

    Args:
        info_body: the stand-in's ``DEVICE_INFO`` body (the ``GET_INFO`` reply payload).
        what: what the stand-in is, for messages (``"a recording"``, ``"the simulator"``).
        url: its URL, for messages.
        streaming: whether it is streaming from the start.
    """

    def __init__(self, info_body: bytes, what: str, url: str, streaming: bool = True) -> None:
        self.info_body = info_body
        self.what = what
        self.url = url
        self.streaming = streaming
        self._seq = 0
        self._t0 = time.monotonic()

    def respond(self, packet: bytes) -> bytes:
        """The ``REPLY`` message a device would send to ``packet``.

        Raises:
            UsageError: the command needs a live leg press.
        """
        try:
            cmd = CommandMessage.from_bytes(packet)
        except ProtocolError:
            return self._reply(0, 0, Result.BAD_LENGTH)
        code = cmd.command
        if code == Command.START:
            self.streaming = True
            return self._reply(cmd.seq, code, Result.OK)
        if code == Command.STOP:
            self.streaming = False
            return self._reply(cmd.seq, code, Result.OK)
        if code == Command.IDENTIFY:
            return self._reply(cmd.seq, code, Result.OK)
        if code == Command.GET_INFO:
            return self._reply(cmd.seq, code, Result.OK, self.info_body)
        if code == Command.GET_STATUS:
            status = Status(
                state=1 if self.streaming else 0,
                uptime_s=int(time.monotonic() - self._t0),
            )
            return self._reply(cmd.seq, code, Result.OK, status.body())
        try:
            name = Command(code).name
        except ValueError:
            return self._reply(cmd.seq, code, Result.UNKNOWN_COMMAND)
        raise UsageError(f"{name} needs a live leg press; {self.url} is {self.what}")

    def _reply(self, request_seq: int, code: int, result: Result, payload: bytes = b"") -> bytes:
        self._seq = (self._seq + 1) & 0xFFFF
        return Reply(request_seq, code, int(result), payload, self._seq).to_bytes()


class LocalLink(Link):
    """A stand-in for a leg press (a recording, the simulator) that plays from a task.

    Subclasses call :meth:`_start` from :meth:`open` once they have the ``DEVICE_INFO`` body;
    :meth:`close` and :meth:`send` are shared.
    """

    live = False
    finite = True
    #: What :meth:`send` raises before :meth:`open`.
    not_open_error: ClassVar[type[LegPressError]] = TransportError

    #: Play at the pace the packets' times say (else as fast as the reader takes them).
    realtime: bool = False

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self._responder: LocalResponder | None = None
        self._sink: LinkSink | None = None
        self._task: asyncio.Task[None] | None = None

    def _start(
        self,
        sink: LinkSink,
        info_body: bytes,
        what: str,
        address: str,
        run: Coroutine[Any, Any, None],
        name: str,
    ) -> None:
        """Count the connection, announce it with :class:`Connected` and start playing ``run``.

        Args:
            sink: where to deliver.
            info_body: the stand-in's ``DEVICE_INFO`` body, for ``GET_INFO``.
            what: what the stand-in is, for messages (see :class:`LocalResponder`).
            address: the :class:`Connected` address.
            run: the coroutine that plays.
            name: the task's name.
        """
        self._responder = LocalResponder(info_body, what, self.url)
        self._sink = sink
        self.stats.connects += 1
        self.stats.connected = True
        sink.put(Connected(self.now_ns(), address))
        self._task = asyncio.create_task(run, name=name)

    async def _pace(self, sink: LinkSink, due_ns: float, i: int) -> None:
        """Wait before delivering packet number ``i``: in real time until ``due_ns`` on
        ``time.monotonic_ns()``; otherwise until ``sink`` has room, yielding to the event loop
        every :data:`YIELD_EVERY` packets."""
        if self.realtime:
            delay_ns = due_ns - time.monotonic_ns()
            if delay_ns > 0:
                await asyncio.sleep(delay_ns / 1e9)
        else:
            await sink.wait_writable()
            if i % YIELD_EVERY == 0:
                await asyncio.sleep(0)

    async def close(self) -> None:
        """Stop playing."""
        task, self._task = self._task, None
        if task is not None:
            await stop_task(task)
        self.stats.connected = False

    async def send(self, packet: bytes) -> None:
        """Answer a command as the device would (only commands that need no device)."""
        if self._responder is None or self._sink is None:
            raise self.not_open_error(f"{self.url} is not open")
        reply = self._responder.respond(packet)
        self.stats.sent += 1
        self._sink.put(RawPacket(self.now_ns(), reply))
