"""Replies that change DEVICE_INFO: one rule (``apply_reply``), which the decoder applies."""

from __future__ import annotations

import struct
from dataclasses import replace

import pytest

from legpress.errors import ProtocolError
from legpress.protocol.decoder import Decoder
from legpress.protocol.messages import Reply, apply_reply
from legpress.protocol.spec import Command, Result
from tests.host.transport.fake_legpress import INFO


def ok(command: Command, payload: bytes = b"") -> Reply:
    return Reply(7, int(command), int(Result.OK), payload)


def test_set_rate_tare_and_get_info() -> None:
    assert apply_reply(INFO, ok(Command.SET_RATE, struct.pack("<I", 5_000))) == replace(
        INFO, period_us=5_000
    )
    tare = tuple(range(100, 108))
    assert apply_reply(INFO, ok(Command.TARE, struct.pack("<8H", *tare))) == replace(
        INFO, tare=tare
    )
    other = replace(INFO, name="Other", n_cells=4, cell_channel=(), tare=())
    got = apply_reply(None, ok(Command.GET_INFO, other.body()))
    assert got is not None and got.name == "Other" and got.n_cells == 4


def test_replies_that_change_nothing() -> None:
    assert apply_reply(INFO, ok(Command.START)) is None
    assert apply_reply(INFO, ok(Command.SET_RATE, b"\x00\x00")) is None  # too short
    assert apply_reply(INFO, ok(Command.SET_RATE, bytes(4))) is None  # period 0
    assert apply_reply(INFO, ok(Command.TARE, bytes(6))) is None  # not one value per cell
    assert apply_reply(None, ok(Command.SET_RATE, struct.pack("<I", 5_000))) is None
    refused = Reply(7, int(Command.GET_INFO), int(Result.BUSY), b"")
    assert apply_reply(INFO, refused) is None
    with pytest.raises(ProtocolError):
        apply_reply(INFO, ok(Command.GET_INFO, b"\x01\x02"))


def test_a_bad_get_info_reply_is_counted_and_still_answers() -> None:
    dec = Decoder(INFO)
    reply = Reply(3, int(Command.GET_INFO), int(Result.OK), b"\x01\x02")
    assert dec.feed(reply.to_bytes()) == [reply]
    assert dec.stats.corrupt == 1 and dec.info == INFO
