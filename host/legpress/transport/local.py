"""Command answers for stand-ins of a leg press (recordings and the simulator).

A stand-in has no firmware to answer ``COMMAND`` messages, so :class:`LocalResponder` answers
the ones that make sense without a device (``START``, ``STOP``, ``GET_INFO``, ``GET_STATUS``,
``IDENTIFY``) with the bytes a device would send, and refuses the others with a
:class:`~legpress.errors.UsageError` that says why.
"""

from __future__ import annotations

import time

from legpress.errors import ProtocolError, UsageError
from legpress.protocol.messages import CommandMessage, DeviceInfo, Reply, Status
from legpress.protocol.spec import Command, Result


class LocalResponder:
    """Answers commands for a stand-in.

    Args:
        info: the stand-in's ``DEVICE_INFO``.
        what: what the stand-in is, for messages (``"a recording"``, ``"the simulator"``).
        url: its URL, for messages.
        streaming: whether it is streaming from the start.
    """

    def __init__(self, info: DeviceInfo, what: str, url: str, streaming: bool = True) -> None:
        self.info = info
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
            return self._reply(cmd.seq, code, Result.OK, self.info.body())
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
