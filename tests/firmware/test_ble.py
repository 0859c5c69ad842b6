"""The BLE link over the fake NimBLE stack: batching per MTU, notifications only to
subscribers, re-advertising, ENOMEM, DEVICE_INFO/STATUS characteristics, bonding. Each test
runs under CPython and under MicroPython (radio.py + ble_link.py unchanged)."""

from __future__ import annotations

import pytest

from tests.firmware import wire as p
from tests.firmware.conftest import Scenario


@pytest.mark.parametrize(
    ("mtu", "rate", "cells", "records", "length", "per_second"),
    [
        (247, 100, 8, 4, 9 + 4 * 20, 25),  # PROTOCOL.md: 89 bytes every 40 ms
        (247, 50, 8, 2, 9 + 2 * 20, 25),
        (247, 400, 8, 11, 9 + 11 * 20, 36),  # capped by the 244-byte payload
        (185, 100, 8, 4, 9 + 4 * 20, 25),  # iOS
        (247, 50, 16, 2, 9 + 2 * 36, 25),
    ],
)
def test_batching_fills_the_mtu_at_about_25_per_second(
    scenario: Scenario, mtu: int, rate: int, cells: int, records: int, length: int, per_second: int
) -> None:
    r = scenario("ble_batching", mtu, rate, cells)
    assert r["start_result"] == p.R_OK
    assert r["types"] == [p.T_SAMPLES]
    assert r["records"] == [records]
    assert r["lens"] == [length]
    assert r["extra"] == [0]
    assert r["max_payload"] <= mtu - 3
    assert r["per_second"] == per_second
    assert r["seq_contiguous"] and r["times_ok"]
    assert r["first_flags"] == p.F_RESTART
    assert r["info"] == {
        "type": p.T_DEVICE_INFO,
        "period_us": 1_000_000 // rate,
        "batch_samples": records,
        "mtu": mtu,
        "name": "LegPress-1E92",
    }
    assert r["unsolicited"] == 0
    assert r["faults"] == 0


def test_mtu_23_sends_samples_compact(scenario: Scenario) -> None:
    r = scenario("ble_batching", 23, 100, 8)
    assert r["compact"]
    assert r["types"] == [p.T_SAMPLES_COMPACT]
    assert r["lens"] == [9 + 8 + 2]  # 19 bytes: fits the 20-byte payload
    assert r["records"] == [1]
    assert r["per_second"] == 100
    assert r["seq_contiguous"] and r["times_ok"]  # one record each: t_us advances a period
    assert r["compact_cells"] == [v >> 4 for v in r["adc"]]
    assert r["compact_position"] == 0
    assert r["info"]["batch_samples"] == 1 and r["info"]["mtu"] == 23


def test_mtu_23_with_10_cells_waits_for_a_larger_mtu(scenario: Scenario) -> None:
    r = scenario("ble_mtu_too_small", 10)
    assert r["start"] == p.R_OK
    assert r["before"] == {"packets": 0, "faults": p.FAULT_MTU_TOO_SMALL, "running": False}
    after = r["after"]
    assert after["faults"] == 0
    assert after["records"] == [4] and after["lens"] == [9 + 4 * 24]
    assert after["first_flags"] == p.F_RESTART
    assert after["unsolicited"] == 0


def test_notify_only_subscribed_nimble(scenario: Scenario) -> None:
    # NimBLE hides CCCD writes: START stands in for the stream subscription, and STATUS goes
    # through gatts_write(send_update=True), which the stack sends to subscribers only.
    r = scenario("ble_subscriptions_nimble")
    assert r["idle"] == 0
    assert r["status_unsubscribed"] == 0
    assert r["status_subscribed"] == 1
    assert r["streaming"] == 25
    assert r["after_stop"] == r["streaming"]
    assert r["unsolicited"] == 0  # nothing reached a client that had not subscribed
    assert r["replies"] == [p.R_OK, p.R_OK]


def test_notify_only_subscribed_cccd(scenario: Scenario) -> None:
    r = scenario("ble_subscriptions_cccd")
    assert r["before"] == 0  # START without a stream subscription: nothing sent
    assert r["subscribed"] > 0
    assert r["after_unsubscribe"] == r["subscribed"]
    assert r["streaming_after"] is False
    assert r["unsolicited"] == 0
    assert r["replies"] == 1


def test_a_lost_link_forgets_what_was_unsent_and_counts_it(scenario: Scenario) -> None:
    r = scenario("ble_link_lost_mid_packet")
    assert r["sent"] == 10 and r["waiting"] == 1
    assert r["ring_after"] == 0
    assert r["dropped"] == 4 + 2  # the refused packet and the partly filled one
    assert r["second_first_flags"] == p.F_RESTART | p.F_DROPPED
    assert r["second_flags"] == [0]
    assert r["dropped_after_restart"] == 6 + 6  # START with 4 + 2 samples still unsent
    assert r["third_flags"] == [p.F_RESTART | p.F_DROPPED]


def test_disconnect_then_advertise_again(scenario: Scenario) -> None:
    r = scenario("ble_reconnect")
    assert r["advertising_at_start"] and r["adverts_at_start"] == 1
    # Flags + 128-bit service UUID in the advertisement, the name in the scan response.
    assert r["adv_len"] == 3 + 18 <= 31
    assert r["adv_has_uuid"]
    assert r["resp_name"] == "LegPress-1E92" and r["resp_len"] <= 31
    assert r["advertising_connected"] is False
    assert r["first_session"] == 10
    assert r["advertising_after_disconnect"] and r["adverts_after_disconnect"] == 2
    assert r["streaming_after_disconnect"] is False
    assert r["ring_after_disconnect"] == 0
    assert r["samples_while_away"] is False
    assert r["second_session"] == 10
    assert r["second_first_flags"] == p.F_RESTART
    assert (r["connections"], r["link"], r["mtu"]) == (2, 1, 247)
    assert r["quick_reconnect_connected"] and not r["quick_reconnect_streaming"]
    assert r["connections_final"] == 3


def test_enomem_is_counted_and_the_data_retried(scenario: Scenario) -> None:
    r = scenario("ble_enomem", 3)
    assert r["raised"] is None
    assert r["enomem"] == 3
    assert r["received_samples"] == r["samples_total"] == 400  # nothing lost
    assert r["seq_gaps"] == 0
    assert r["dropped_samples"] == 0
    assert r["pending"] == 0
    assert r["send_errors"] == 0


def test_persistent_enomem_overflows_the_ring_honestly(scenario: Scenario) -> None:
    r = scenario("ble_enomem", 100000, 8, 200)
    assert r["raised"] is None
    assert r["enomem"] > 100
    assert r["dropped_samples"] > 0
    # Every sample is either delivered or counted as dropped; the survivors say DROPPED.
    assert r["received_samples"] + r["dropped_samples"] == r["samples_total"]
    assert r["dropped_flags"] > 0
    assert r["seq_gaps"] == 0  # the oldest packets went; what was sent is in order


@pytest.mark.parametrize(("cells", "slots"), [(8, 20), (16, 35)])
def test_the_ring_rides_out_a_half_second_stall_at_400_hz(
    scenario: Scenario, cells: int, slots: int
) -> None:
    r = scenario("ble_ring_stall", 400, cells, 500)
    assert r["slots"] == slots
    assert r["dropped_samples"] == 0
    # All delivered after the stall but the packet still being filled.
    assert r["samples_total"] - r["batch"] < r["received_samples"] <= r["samples_total"]
    # A longer stall overflows it, counted: the ring holds 0.5 s and not much more.
    r = scenario("ble_ring_stall", 400, cells, 650)
    assert r["dropped_samples"] > 0
    assert r["received_samples"] + r["dropped_samples"] > r["samples_total"] - r["batch"]


def test_info_status_and_bonding(scenario: Scenario) -> None:
    r = scenario("ble_info_and_security")
    # Control writes need encryption (FLAG_WRITE_ENCRYPTED 0x1000) in the default mode.
    assert r["control_flags"] & 0x1000
    assert r["control_flags"] & 0x0010  # notify (replies)
    assert r["control_flags"] & 0x0202 == 0x0202  # read, encrypted: the last reply whole
    assert r["control_value_is_reply"]
    assert r["stream_flags"] == 0x0010
    assert r["info_flags"] == 0x0002
    assert r["info_boot"]["mtu"] == 0
    assert r["info_mtu"]["mtu"] == 247 and r["info_mtu"]["batch_samples"] == 4
    # Unencrypted: no reply, nothing done, counted as a bad command.
    assert r["unencrypted_replies"] == 0 and r["unencrypted_bad_commands"] == 1
    assert r["unencrypted_period_us"] == 10000
    assert r["info_rate"]["period_us"] == 5000 and r["info_rate"]["batch_samples"] == 8
    assert r["replies"] == [p.R_OK]
    assert r["set_secret"] is True and r["dirty"] is True
    assert r["get_secret"] == r["get_by_index"] == "long-term-key"
    assert r["get_missing"] is None


def test_passkey_security_device_information_and_serial_only_commands(
    scenario: Scenario,
) -> None:
    r = scenario("ble_security_levels")
    # Passkey mode: encrypted and authenticated writes only (0x1000 | 0x2000).
    assert r["control_flags"] & 0x3000 == 0x3000
    assert r["dis"] == [
        "UUID(0x180a)",
        "UUID(0x2a29)",
        "UUID(0x2a24)",
        "UUID(0x2a26)",
        "UUID(0x2a25)",
    ]
    assert r["dis_values"] == ["legpress (open hardware)", "legpress", "", ""]
    assert r["passkey_answer"] is None and r["passkeys"] == [[0, 3, 402913]]
    assert r["just_works_replies"] == 0  # an unauthenticated bond is not enough
    assert r["replies"] == [
        [p.CMD_IDENTIFY, p.R_OK],
        [p.CMD_REPL, p.R_NOT_PERMITTED],
        [p.CMD_FORGET_BONDS, p.R_NOT_PERMITTED],
    ]
    assert r["pending"] == 0 and r["bad_commands"] == 1
