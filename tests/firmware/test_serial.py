"""The USB serial link: COBS/CRC frames in and out, commands, DEVICE_INFO after START, samples,
STATUS, LOG, and resynchronisation after REPL text, under CPython and MicroPython."""

from __future__ import annotations

from tests.firmware import wire as p
from tests.firmware.conftest import Scenario


def test_serial_session(scenario: Scenario) -> None:
    r = scenario("serial_session")
    assert r["start_bytes"] == [0]  # a lone delimiter ends any boot text on the host side
    assert r["log_before_active"] is False  # no LOG until a host has spoken
    assert r["replies"] == [
        [2, p.CMD_GET_INFO, p.R_OK],
        [3, p.CMD_START, p.R_OK],
        [4, p.CMD_STOP, p.R_OK],
        [5, 0x7F, p.R_UNKNOWN_COMMAND],
        [6, p.CMD_REPL, p.R_OK],
    ]
    kinds = r["kinds"]
    # GET_INFO's reply, START's reply, then DEVICE_INFO before the first samples.
    assert kinds[:4] == [p.T_REPLY, p.T_REPLY, p.T_DEVICE_INFO, p.T_SAMPLES]
    assert kinds.count(p.T_STATUS) == 1  # while streaming; none after STOP
    assert r["log_text"] == "hello from the device"
    assert r["samples"] == 99 and r["seqs_contiguous"]
    assert r["packets_sent"] == kinds.count(p.T_SAMPLES)
    # REPL noise, a corrupted frame, and a frame the noise ran into were dropped and counted;
    # everything the device wrote decodes cleanly.
    assert r["device_bad_frames"] == 3
    assert r["frames_in"] == 5
    assert r["host_bad_frames"] == 0
    assert r["zero_free"]
    assert r["pending"] == p.CMD_REPL  # the app resets into the REPL after the reply
    assert r["bad_commands"] == 1


def test_fast_cobs_encoder_matches_the_reference(scenario: Scenario) -> None:
    r = scenario("framing_equivalence", 99, 600)
    assert r == {"count": 600, "mismatches": 0, "roundtrip_errors": 0, "zero_in_frame": 0}


def test_serial_link_over_a_stream_that_takes_little(scenario: Scenario) -> None:
    # The device's stdout takes only what the UART FIFO can hold: frames go out in pieces,
    # in order and whole, and nothing waits.
    r = scenario("serial_paced", 40, 400)
    assert r["host_bad_frames"] == 0
    assert r["replies"] == [
        [3, p.CMD_START, p.R_OK],
        [8, p.CMD_GET_STATUS, p.R_OK],
        [9, p.CMD_IDENTIFY, p.R_OK],
    ]
    assert r["info"] == 1 and r["status"] == 4 and r["logs"] == 4
    assert r["samples"] == 400 and r["positions_in_order"] and r["seqs_contiguous"]
    assert r["dropped"] == 0


def test_paced_stdout(scenario: Scenario) -> None:
    r = scenario("paced_stdout")
    assert (r["first"], r["again"]) == (128, 0)
    assert r["later"] == 50
    assert 11400 <= r["per_second"] <= 11600  # 115200 baud, 10 bits a byte
    assert (r["stalled"], r["paused"], r["resumed"], r["stalls"]) == (10, 0, 10, 1)
