"""The command handler: every command's reply, every malformed message's error code, and
10,000 random writes with no exception escaping, under CPython and MicroPython."""

from __future__ import annotations

import struct
from typing import Any

import pytest

from legpress_fw.protocol import STATUS_BODY_FMT
from tests.firmware import wire as p
from tests.firmware.conftest import Scenario


@pytest.fixture
def replies(scenario: Scenario) -> dict[str, Any]:
    return scenario("command_replies")  # type: ignore[no-any-return]


def test_replies_echo_the_request(replies: dict[str, Any]) -> None:
    r = replies["zero"]
    assert (r["version"], r["type"], r["flags"]) == (1, p.T_REPLY, 0)
    assert (r["request_seq"], r["command"], r["result"]) == (7, p.CMD_ZERO, p.R_OK)
    # Every reply takes the next number of the shared device-message counter.
    seqs = sorted(v["seq"] for v in replies.values() if isinstance(v, dict) and "seq" in v)
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


def test_zero_returns_the_position_before(replies: dict[str, Any]) -> None:
    assert struct.unpack("<i", bytes(replies["zero"]["payload"])) == (1234,)
    assert replies["position_after_zero"] == 0


def test_tare_returns_k_averages(replies: dict[str, Any]) -> None:
    want = [100 + 10 * c for c in range(8)]  # the fake cells read 100, 110, ...
    r = replies["tare"]
    assert (r["command"], r["result"], r["len"]) == (p.CMD_TARE, p.R_OK, 13 + 2 * 8)
    assert list(struct.unpack("<8H", bytes(r["payload"]))) == want
    assert replies["tare"]["payload"] == replies["tare_default"]["payload"]  # 0 means 32
    assert replies["tare_default"]["result"] == p.R_OK
    assert replies["tare_values"] == want


def test_set_rate(replies: dict[str, Any]) -> None:
    assert struct.unpack("<I", bytes(replies["set_rate"]["payload"])) == (5000,)
    assert replies["period_us"] == replies["info_period_us"] == 5000
    assert replies["set_rate_low"]["result"] == p.R_BAD_ARGUMENT
    assert replies["set_rate_high"]["result"] == p.R_BAD_ARGUMENT
    assert replies["set_rate_low"]["payload"] == []


def test_identify(replies: dict[str, Any]) -> None:
    assert replies["identify"]["result"] == p.R_OK
    assert replies["identify_zero"]["result"] == p.R_BAD_ARGUMENT


def test_start_stop(replies: dict[str, Any]) -> None:
    assert replies["start"]["result"] == p.R_OK
    assert replies["streaming"] is True
    assert replies["stream_link"] == 2  # the serial link sent it
    assert replies["stop"]["result"] == p.R_OK
    assert replies["streaming_after_stop"] is False


def test_status_and_info_bodies(replies: dict[str, Any]) -> None:
    status = bytes(replies["get_status"]["payload"])
    assert len(status) == p.STATUS_BODY_SIZE
    fields = struct.unpack(STATUS_BODY_FMT, status)
    assert fields[0] == 0  # idle after STOP
    info = bytes(replies["get_info"]["payload"])
    assert len(info) == p.INFO_FIXED_SIZE + 3 * 8 + 1 + len("LegPress-1E92")
    fw = struct.unpack_from("<BBBIB", info, 0)
    assert fw[3] == 5000 and fw[4] == 8
    assert info[-13:] == b"LegPress-1E92"


def test_reboot_and_repl_wait_for_the_reply(replies: dict[str, Any]) -> None:
    assert replies["reboot"]["result"] == p.R_OK
    assert replies["pending"] == p.CMD_REBOOT
    assert replies["reboot_again"]["result"] == p.R_BUSY
    assert replies["repl"]["result"] == p.R_OK
    assert replies["pending_repl"] == p.CMD_REPL


@pytest.mark.parametrize(
    ("name", "command", "result"),
    [
        ("unknown", 0x42, p.R_UNKNOWN_COMMAND),
        ("zero_code", 0, p.R_UNKNOWN_COMMAND),
        ("start_with_arg", p.CMD_START, p.R_BAD_LENGTH),
        ("tare_no_arg", p.CMD_TARE, p.R_BAD_LENGTH),
        ("short", 0, p.R_BAD_LENGTH),
        ("empty", 0, p.R_BAD_LENGTH),
        ("header_only", 0, p.R_BAD_LENGTH),
        ("bad_version", p.CMD_START, p.R_BAD_VERSION),
        ("bad_type", p.CMD_START, p.R_BAD_TYPE),
    ],
)
def test_malformed(replies: dict[str, Any], name: str, command: int, result: int) -> None:
    r = replies[name]
    assert (r["command"], r["result"], r["len"]) == (command, result, p.REPLY_HEADER_SIZE)
    # The request's seq is echoed whenever the message reaches that far (5 bytes).
    assert r["request_seq"] == (0 if name in ("empty", "short") else 7)


def test_bad_commands_counted(replies: dict[str, Any]) -> None:
    # 9 malformed above + 3 out-of-range arguments (rate low/high, identify 0).
    assert replies["bad_commands"] == 12
    assert replies["errors"] == 0


def test_10000_random_writes_never_escape(scenario: Scenario) -> None:
    r = scenario("random_commands", 12345, 10000)
    assert r["escaped"] == 0, r["first_escape"]
    assert r["bad_replies"] == 0
    assert r["errors"] == 0, r["last_error"]  # no command raised inside the device either
    assert sum(r["results"]) == 10000
    # The mix reaches both the commands and each kind of error.
    for code in (p.R_OK, p.R_UNKNOWN_COMMAND, p.R_BAD_LENGTH, p.R_BAD_VERSION, p.R_BAD_TYPE):
        assert r["results"][code] > 0, code
    assert r["results"][p.R_BAD_ARGUMENT] > 0
    assert r["bad_commands"] == sum(r["results"][1:6])
    assert r["samples_total"] > 0


def test_bad_commands_from_both_links_add_up(scenario: Scenario) -> None:
    assert scenario("bad_commands_both_links") == {"status": 3}


def test_beep_and_the_devices_own_limit(scenario: Scenario) -> None:
    r = scenario("beep_and_limit")
    assert r["beep"] == p.R_OK
    assert r["on_at_once"] == [[0, True]]  # the first 100 ms slot sounds with the reply
    assert r["pattern"] == [True, False, True, False, True, False]  # 0b10101, then silence
    assert not r["playing_after"]
    assert r["beep_bad_length"] == p.R_BAD_LENGTH
    assert r["limit_bad_length"] == p.R_BAD_LENGTH
    assert (r["set_limit"], r["start"], r["off"]) == (p.R_OK, p.R_OK, p.R_OK)
    # A beep in the very sample the sled passed the limit, once per excursion (re-armed only
    # 100 counts back), before and after the link dropped.
    assert len(r["crossings"]) == 2
    assert r["beeps_at"] == r["crossings"]
    assert r["limit_beeps"] == 2
    assert r["streaming_at_end"] is False
    assert r["beeps_when_off"] == 0
