"""Sampling cadence over a long run (zero drift, jitter statistics, overruns) and the ring's
overflow accounting, under CPython and MicroPython."""

from __future__ import annotations

from tests.firmware.conftest import Scenario


def test_100k_samples_without_drift(scenario: Scenario) -> None:
    r = scenario("sampling_drift", 100000, 10000, 1)
    assert r["samples_total"] == r["taken"] == 100000
    # Every record carries exactly t0 + slot x period, across a wrap of the 2**30 tick counter.
    assert r["wrapped"]
    assert r["drift_errors"] == 0
    assert r["seq_gaps"] == 0
    assert r["restart_flags"] == 1
    # Missed deadlines are counted slot by slot and flagged on the next packet.
    assert r["stalls"] > 0
    assert r["overruns"] == r["expected_overruns"]
    assert r["overrun_flags"] == r["stalls"]
    # Jitter: the worst and mean lateness the clock was given.
    assert r["jitter_max_us"] == r["late_max"]
    assert r["jitter_mean_us"] == r["late_mean"]
    assert r["dropped"] == 0


def test_400_hz_drift_free(scenario: Scenario) -> None:
    r = scenario("sampling_drift", 20000, 2500, 7)
    assert r["drift_errors"] == 0
    assert r["overruns"] == r["expected_overruns"]


def test_ring_overflow_keeps_newest_and_counts_dropped(scenario: Scenario) -> None:
    r = scenario("ring_overflow", 4, 10)
    batch = r["batch"]
    assert batch == 4  # 100 Hz: ceil(100 / 25)
    # 10 packets into 4 slots (3 usable): the 3 newest remain, 7 x 4 samples were overwritten.
    assert r["pending_seqs"] == [7, 8, 9]
    assert r["dropped_samples"] == 7 * batch
    assert r["status_dropped"] == r["dropped_samples"]
    assert r["samples_total"] == 10 * batch
    # Every packet committed after an overwrite says so.
    assert all(r["dropped_flags"])


def test_ring_resize_moves_what_was_unsent(scenario: Scenario) -> None:
    r = scenario("ring_resize")
    assert r["grown"] == [6, 30, 3, 0]
    assert r["grown_packets"] == [[20, 0], [21, 1], [22, 2]]  # in order, intact
    # 5 waiting, room for 2: the 3 oldest dropped, then 25 and 30 bytes too long for 20.
    assert r["shrunk"] == [3, 0, 5, True]


def test_the_ring_fits_the_stream_and_grows_for_a_higher_rate(scenario: Scenario) -> None:
    r = scenario("ring_fits_the_stream")
    # 8 cells at 100 Hz: packets of 4 records (89 bytes), 0.5 s = 13 of them, + 1 being filled.
    assert r["boot"] == [14, 89, 89] and r["streaming_100"] == [14, 89, 89]
    # SET_RATE 400: 11 records a packet (229 bytes), 0.5 s = 19 packets; the waiting ones kept.
    assert r["streaming_400"] == [20, 229, 229]
    waiting, moved = r["waiting_moved"]
    assert waiting > 0 and moved == waiting + 1  # and the partial packet the restart committed
    assert r["batch"] == 11
    assert r["dropped"] == 0  # the half-second stall across the change was held...
    assert 0 <= r["lost"] < r["batch"]  # ... all sent but the packet still being filled
    assert r["back_to_100"] == [20, 229, 229]
