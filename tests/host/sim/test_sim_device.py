"""Firmware in the loop: the simulator's packets are the device's, and decode back to the
simulated samples within ADC and encoder quantisation."""

from __future__ import annotations

import asyncio
import itertools
import struct
import time
from dataclasses import replace

import numpy as np
import pytest

from legpress.sim import CellFault, LinkParams, Scenario, SimResult, make_scenario
from tests.host.sim.wire import (
    F_DROPPED,
    F_OVERRUN,
    F_RESTART,
    F_SENSOR_FAULT,
    T_DEVICE_INFO,
    T_SAMPLES,
    T_SAMPLES_COMPACT,
    Packet,
    parse_info,
    parse_samples,
)

WRAP_32 = 1 << 32


@pytest.fixture(scope="module")
def clean() -> SimResult:
    return make_scenario("clean", seed=4).run(duration_s=15)


def _samples(result: SimResult) -> list[Packet]:
    k = result.truth.n_cells
    return [parse_samples(p, k) for _, p in result.packets if p[1] == T_SAMPLES]


def test_device_info_first_and_consistent(clean: SimResult) -> None:
    t0, first = clean.packets[0]
    assert first[1] == T_DEVICE_INFO
    assert first == clean.info_packet
    info = parse_info(first)
    assert info.period_us == 10_000
    assert info.n_cells == 8
    assert info.tick_period_log2 == 30
    assert info.encoder_counts_per_m == 20_000
    assert info.batch_samples == 4  # ceil(100 / 25), fits MTU 247 (PROTOCOL.md)
    assert info.mtu == 247
    assert info.cell_pitch_mm == 40
    assert info.name.startswith("LegPress-")
    assert info.tare == (0,) * 8  # an unloaded FSR sits in the ADC's dead zone
    assert t0 < clean.packets[1][0]


def test_packets_decode_to_the_simulated_samples(clean: SimResult) -> None:
    packets = _samples(clean)
    s = clean.signals
    info = parse_info(clean.info_packet)
    cells = np.vstack([p.cells for p in packets])
    pos = np.concatenate([p.position for p in packets])
    assert len(cells) == len(s) == clean.truth.stats["samples_total"]
    assert np.array_equal(cells, s.cell_counts)
    assert np.array_equal(pos, s.encoder_counts)
    # within quantisation of the physical values
    live = (s.cell_counts > 0) & (s.cell_counts < 4095)
    assert np.abs(cells[live] - s.cell_counts_raw[live]).max() <= 0.5 + 1e-9
    cpmm = info.encoder_counts_per_m / 1000
    assert np.abs(pos / cpmm - s.encoder_mm).max() <= 0.5 / cpmm + 1e-9
    # headers: contiguous sequence numbers, scheduled times one period apart, RESTART first
    assert [p.seq for p in packets] == list(range(len(packets)))
    assert packets[0].flags & F_RESTART
    assert not any(p.flags & F_RESTART for p in packets[1:])
    t = 0
    for p in packets:
        assert (p.t_us - packets[0].t_us) % WRAP_32 == t
        t += len(p.position) * info.period_us
    # scheduled sample times agree with the truth's time base
    assert np.allclose(s.t_s, np.arange(len(s)) * 0.01)


def test_host_decoder_agrees(clean: SimResult) -> None:
    protocol = pytest.importorskip("legpress.protocol")
    packets = [p for _, p in clean.packets]
    times = [t for t, _ in clean.packets]
    block, gaps, dec = protocol.decode_packets(packets, times)
    assert gaps == []
    assert np.array_equal(block.cells, clean.signals.cell_counts)
    assert np.array_equal(block.position, clean.signals.encoder_counts)
    assert np.allclose(block.t_s, clean.signals.t_s, atol=1e-6)
    assert dec.stats.corrupt == 0


def test_same_seed_same_bytes() -> None:
    a = make_scenario("lossy", seed=7).run(duration_s=8)
    b = make_scenario("lossy", seed=7).run(duration_s=8)
    c = make_scenario("lossy", seed=8).run(duration_s=8)
    assert a.packets == b.packets
    assert a.truth.to_dict() == b.truth.to_dict()
    assert a.packets != c.packets


def test_stream_gives_the_run_packets() -> None:
    sc = make_scenario("liftoff", seed=1, duration_s=6)
    assert list(sc.stream(realtime=False)) == sc.run().packets

    async def collect() -> list[tuple[int, bytes]]:
        return [x async for x in sc.astream(realtime=False)]

    assert asyncio.run(collect()) == sc.run().packets


def test_realtime_stream_is_paced() -> None:
    sc = make_scenario("clean", seed=0, duration_s=0.4)
    start = time.monotonic()
    packets = list(sc.stream(realtime=True))
    elapsed = time.monotonic() - start
    span = (packets[-1][0] - sc.config.link.host_start_ns) / 1e9
    assert elapsed >= span - 0.02
    assert elapsed < span + 1.0


def test_device_clock_wraps_inside_a_session() -> None:
    sc = make_scenario("clean", seed=0, duration_s=3)
    sc.__dict__["start_ticks"] = (1 << 30) - 1_000_000  # wraps 1 s in
    result = sc.run()
    packets = _samples(result)
    steps = {(b.t_us - a.t_us) % WRAP_32 for a, b in itertools.pairwise(packets)}
    assert steps == {40_000}
    raw = [p.t_us for p in packets]
    assert any(t >= 1 << 30 for t in raw)  # the extended clock counted the wrap
    assert raw[0] < 1 << 30


def test_lossy_link_loses_duplicates_and_reorders() -> None:
    sc = make_scenario("lossy", seed=3)
    result = sc.run(duration_s=60)
    stats = result.truth.stats
    assert stats["packets_lost"] > 0
    assert stats["packets_duplicated"] > 0
    assert stats["packets_delayed"] > 0
    times = [t for t, _ in result.packets]
    assert times == sorted(times)
    packets = _samples(result)
    seqs = [p.seq for p in packets]
    assert len(set(seqs)) < len(seqs)  # duplicates
    assert any(b < a for a, b in itertools.pairwise(seqs))  # reordering
    assert len(set(seqs)) < max(seqs) + 1  # losses
    # every delivered packet is one the firmware made: its samples are the true ones
    s = result.signals
    slot_of = {round(t * 100): i for i, t in enumerate(s.t_s.tolist())}
    for p in packets:
        i0 = slot_of[((p.t_us - sc.start_ticks) % WRAP_32) // 10_000]
        n = len(p.position)
        assert np.array_equal(p.cells, s.cell_counts[i0 : i0 + n])
        assert np.array_equal(p.position, s.encoder_counts[i0 : i0 + n])


def test_overruns_and_ring_overflow_follow_the_firmware() -> None:
    link = LinkParams(overrun_prob=0.01, stalls_per_min=20.0, stall_min_s=2.5, stall_max_s=3.0)
    sc = make_scenario("clean", seed=2, duration_s=20, link=link)
    result = sc.run()
    packets = _samples(result)
    assert result.firmware.overruns > 0
    assert any(p.flags & F_OVERRUN for p in packets)
    assert result.firmware.ring_dropped_samples > 0
    assert any(p.flags & F_DROPPED for p in packets)
    # after an overrun the packet starts at a later slot, never with a skipped slot inside
    s = result.signals
    assert np.all(np.diff(np.rint(s.t_s * 100)) >= 1)
    assert len(s) < 20 * 100


def test_shorted_cell_raises_sensor_fault() -> None:
    sc = make_scenario(
        "clean", seed=0, duration_s=3, faults=(CellFault(cell=5, kind="short", t_s=1.0),)
    )
    result = sc.run()
    packets = _samples(result)
    flagged = [p for p in packets if p.flags & F_SENSOR_FAULT]
    assert flagged
    assert all(np.all(p.cells[:, 5] == 4095) for p in flagged)
    assert parse_info(result.info_packet).tare[5] == 0  # the short began after the tare


def test_rates_and_cells_change_the_packets() -> None:
    sc = make_scenario("clean", seed=0, duration_s=2, rate_hz=200, n_cells=12)
    result = sc.run()
    info = parse_info(result.info_packet)
    assert info.period_us == 5000
    assert info.n_cells == 12
    assert info.batch_samples == 8
    packets = _samples(result)
    assert all(p.cells.shape[1] == 12 for p in packets)
    assert len(result.signals) == 400


def test_mtu_23_sends_compact_packets() -> None:
    result = make_scenario("clean", seed=0, duration_s=3, mtu=23).run()
    info = parse_info(result.info_packet)
    assert info.mtu == 23
    assert info.batch_samples == 1
    body = [p for _, p in result.packets[1:]]
    assert all(p[1] == T_SAMPLES_COMPACT and len(p) == 9 + 8 + 2 for p in body)
    cells = np.array([list(p[9:17]) for p in body]) * 16
    pos = np.array([struct.unpack_from("<h", p, 17)[0] for p in body])
    s = result.signals
    assert np.array_equal(cells, (s.cell_counts >> 4) << 4)
    assert np.array_equal(pos, s.encoder_counts)
    with pytest.raises(ValueError, match="mtu 23 cannot carry"):
        make_scenario("clean", mtu=23, n_cells=12)


def test_a_clean_link_delivers_in_order() -> None:
    # several packets per connection event at 333 Hz (batch 14): latency jitter must not
    # reorder them (the BLE stack delivers notifications in order)
    result = make_scenario("clean", seed=0, duration_s=20, rate_hz=333, n_cells=5).run()
    packets = _samples(result)
    assert [p.seq for p in packets] == list(range(len(packets)))
    assert sum(len(p.position) for p in packets) == len(result.signals)


def test_scenario_repr_and_config() -> None:
    sc = make_scenario("rehab", seed=5)
    assert "rehab" in repr(sc)
    assert isinstance(sc, Scenario)
    assert replace(sc.config, seed=6).seed == 6
