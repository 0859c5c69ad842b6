"""The command RPC on its own: replies matched by sequence number, refusals explained, timeouts,
and commands failed together when the link goes."""

from __future__ import annotations

import asyncio

import pytest

from legpress.device.commands import CommandRPC, command_name
from legpress.device.stats import DeviceStats
from legpress.errors import CommandError, TransportError
from legpress.protocol.decoder import DecoderStats
from legpress.protocol.messages import CommandMessage, Reply
from legpress.protocol.spec import Command, Result
from legpress.transport.base import LinkStats
from tests.host.transport.fake_legpress import INFO


class Peer:
    """Receives the commands the RPC sends; the test answers them."""

    def __init__(self) -> None:
        self.sent: list[CommandMessage] = []

    async def send(self, packet: bytes) -> None:
        self.sent.append(CommandMessage.from_bytes(packet))


def make() -> tuple[CommandRPC, DeviceStats, Peer]:
    stats = DeviceStats(DecoderStats(), LinkStats())
    return CommandRPC(stats, lambda: "LegPress-0001"), stats, Peer()


async def test_a_reply_answers_the_command_with_its_sequence_number() -> None:
    rpc, stats, peer = make()
    call = asyncio.create_task(rpc.call(Command.START, b"", peer.send, 1.0))
    await asyncio.sleep(0)
    seq = peer.sent[0].seq
    rpc.answer(Reply(seq ^ 1, Command.START, Result.OK), None)  # not ours
    rpc.answer(Reply(seq, Command.START, Result.OK), None)
    assert (await call).request_seq == seq
    assert stats.commands == 1 and stats.unmatched_replies == 1


async def test_refusals_say_why() -> None:
    rpc, stats, peer = make()
    call = asyncio.create_task(rpc.call(Command.SET_RATE, b"\xe8\x03", peer.send, 1.0))
    await asyncio.sleep(0)
    rpc.answer(Reply(peer.sent[0].seq, Command.SET_RATE, Result.BAD_ARGUMENT), None)
    with pytest.raises(
        CommandError, match=r"^SET_RATE 1000 Hz refused by LegPress-0001: the rate"
    ):
        await call
    assert stats.command_errors == 1
    assert command_name(0x42) == "command 0x42"


async def test_timeout_and_lost_link() -> None:
    rpc, stats, peer = make()
    with pytest.raises(TransportError, match=r"IDENTIFY: no reply from LegPress-0001 within"):
        await rpc.call(Command.IDENTIFY, b"\x02", peer.send, 0.01)
    assert stats.command_timeouts == 1
    call = asyncio.create_task(rpc.call(Command.STOP, b"", peer.send, 1.0))
    await asyncio.sleep(0)
    rpc.fail_all(TransportError("lost the link"))
    with pytest.raises(TransportError, match="lost the link"):
        await call


async def test_an_unreadable_get_info_reply_fails_its_command() -> None:
    rpc, _, peer = make()
    call = asyncio.create_task(rpc.call(Command.GET_INFO, b"", peer.send, 1.0))
    await asyncio.sleep(0)
    rpc.answer(Reply(peer.sent[0].seq, Command.GET_INFO, Result.OK, b"\x01"), None)
    with pytest.raises(CommandError, match="GET_INFO: the reply carried no readable DEVICE_INFO"):
        await call
    call = asyncio.create_task(rpc.call(Command.GET_INFO, b"", peer.send, 1.0))
    await asyncio.sleep(0)
    reply = Reply(peer.sent[1].seq, Command.GET_INFO, Result.OK, INFO.body())
    rpc.answer(reply, INFO)
    assert await call == reply
