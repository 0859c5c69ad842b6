"""Fuzzing the decoders with hypothesis: random and mutated input never raises anything but the
documented errors, and always returns promptly."""

from __future__ import annotations

import contextlib
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from legpress.errors import ProtocolError
from legpress.protocol.decoder import Decoder, decode_packets
from legpress.protocol.framing import FrameDecoder, cobs_decode, cobs_encode, encode_frame
from legpress.protocol.messages import DeviceInfo, Reply, Status
from tests.host.transport.fake_legpress import INFO, FakeLegPress

FUZZ = settings(
    max_examples=300,
    deadline=1000,  # ms per example: a hang fails
    suppress_health_check=[HealthCheck.too_slow],
)


def _valid_packets() -> list[bytes]:
    dev = FakeLegPress()
    dev.streaming = True
    out = [dev.info_message(247)]
    for i in range(12):
        out.append(dev.samples(1 if i % 4 == 3 else 4, compact=i % 4 == 3))
    out.append(dev.status_message())
    out.append(dev.log_message("hello"))
    out.append(Reply(1, 9, 0, INFO.body()).to_bytes())
    return out


VALID = _valid_packets()


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    packet = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "grow", "insert", "set"]))
        if kind == "flip" and packet:
            i = draw(st.integers(0, len(packet) - 1))
            packet[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut" and packet:
            del packet[draw(st.integers(0, len(packet) - 1)) :]
        elif kind == "grow":
            packet += draw(st.binary(max_size=40))
        elif kind == "insert":
            i = draw(st.integers(0, len(packet)))
            packet[i:i] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "set" and len(packet) > 1:
            i = draw(st.integers(0, min(len(packet) - 1, 40)))
            packet[i] = draw(st.integers(0, 255))
    return bytes(packet)


packets = st.one_of(st.binary(max_size=300), mutated())


@FUZZ
@given(st.lists(packets, max_size=40), st.booleans())
def test_live_decoder_never_raises(stream: list[bytes], primed: bool) -> None:
    dec = Decoder(INFO if primed else None)
    for i, p in enumerate(stream):
        items = dec.feed(p, 1_000_000_000 + i * 40_000_000)
        assert isinstance(items, list)
    assert dec.stats.packets == len(stream)


@FUZZ
@given(st.lists(packets, max_size=40))
def test_batch_decoder_raises_only_protocol_error(stream: list[bytes]) -> None:
    times = [1_000_000_000 + i * 40_000_000 for i in range(len(stream))]
    try:
        block, _, dec = decode_packets([VALID[0], *stream], [0, *times])
    except ProtocolError as exc:
        # documented: a DEVICE_INFO in the stream changed the number of cells
        assert "number of cells changed" in str(exc)
        return
    assert len(block) == dec.stats.samples


@FUZZ
@given(st.lists(st.binary(min_size=1, max_size=200), max_size=20), st.binary(max_size=300))
def test_frame_decoder_round_trip_and_noise(messages: list[bytes], noise: bytes) -> None:
    stream = noise + b"\x00" + b"".join(encode_frame(m) for m in messages)
    dec = FrameDecoder()
    got = dec.feed(stream)
    # Noise may forge a frame only with a matching CRC-32 (practically never); the real
    # messages all come out, in order, after it.
    assert got[len(got) - len(messages) :] == messages


@FUZZ
@given(st.binary(max_size=3000), st.integers(1, 64))
def test_frame_decoder_never_raises_on_noise(data: bytes, chunk: int) -> None:
    dec = FrameDecoder()
    for i in range(0, len(data), chunk):
        for msg in dec.feed(data[i : i + chunk]):
            assert isinstance(msg, bytes)


@FUZZ
@given(st.binary(max_size=600))
def test_cobs_round_trip(data: bytes) -> None:
    encoded = cobs_encode(data)
    assert b"\x00" not in encoded
    assert cobs_decode(encoded) == data


@FUZZ
@given(st.binary(max_size=120))
def test_message_parsers_raise_only_protocol_error(body: bytes) -> None:
    for parse in (DeviceInfo.from_body, Status.from_body):
        with contextlib.suppress(ProtocolError):
            parse(body)


def test_info_with_another_cell_count_in_a_batch_is_the_documented_error() -> None:
    dev = FakeLegPress()
    dev.streaming = True
    other = replace(INFO, n_cells=4, cell_channel=(), tare=())
    # 3 records of 8 cells (60 bytes) read as 5 records of 4 cells after the new DEVICE_INFO
    stream = [dev.info_message(), dev.samples(4), other.to_bytes(), dev.samples(3)]
    with pytest.raises(ProtocolError, match="number of cells changed"):
        decode_packets(stream)
    live = Decoder()
    for p in stream:
        live.feed(p)  # the live decoder just follows the new layout
    assert live.stats.samples == 4 + 5
