"""On time: the app on the model of the ESP32's timing (tests/mpy/support/chipmodel.py), under
MicroPython. The benchmark tests/bench/bench_timing.py reports the figures at every rate; these
tests check the claims the firmware makes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

_HERE = Path(__file__).resolve().parent


def _run(micropython: Callable[..., Any], **kw: Any) -> dict[str, Any]:
    args = ", ".join(f"{k}={v!r}" for k, v in kw.items())
    code = f"""
        import hostio, json, timing_fw
        hostio.emit(json.dumps(timing_fw.run_app({args})))
        """
    result: dict[str, Any] = micropython(code, settrace=True, mounts={_HERE: "/tf"}).last
    return result


@pytest.mark.parametrize(("rate_hz", "pad"), [(100, "mux"), (200, "direct")])
def test_timer_samples_on_time(micropython: Callable[..., Any], rate_hz: int, pad: str) -> None:
    r = _run(micropython, rate_hz=rate_hz, pad=pad, timer=True, seconds=1.5)
    assert r["slots"] >= rate_hz  # the stream ran
    assert r["lost"] == 0 and r["overruns"] == 0 and r["pool_dropped"] == 0
    assert r["in_order"]
    assert r["err_max_us"] <= 1000  # every record's time within 1 ms of its read
    assert r["timer_inits"] == 2  # armed at boot, re-armed in phase at START
    assert r["restarts"] == 0 and r["logs"] == []
    assert r["watchdog_feeds"] >= 1  # every task beats, the sampler task too


def test_the_model_sees_the_tick(micropython: Callable[..., Any]) -> None:
    # Without the timer the sampler task sleeps with asyncio, whose wakes come on 10 ms ticks:
    # records are stamped with deadlines the read missed by up to a tick, and at 400 Hz whole
    # periods are skipped. (What the timer fixes; if this stops failing, the model is wrong.)
    r = _run(micropython, rate_hz=100, pad="direct", timer=False, seconds=1.0)
    assert r["err_max_us"] > 5000
    r = _run(micropython, rate_hz=400, pad="direct", timer=False, seconds=1.0)
    assert r["lost"] > r["slots"] // 4


def test_limit_beeps_within_a_sample_with_the_link_down(
    micropython: Callable[..., Any],
) -> None:
    # SET_LIMIT at position 80; the link drops at 300 ms, when about 25 samples were taken;
    # the device keeps reading the sled on its timer and beeps in the read that passes 80.
    r = _run(micropython, rate_hz=100, timer=True, seconds=1.5, limit=80, drop_at_ms=300)
    assert r["streaming"] is False
    assert r["limit_passed_us"] > 300_000
    assert len(r["beeps_us"]) == 1
    assert 0 <= r["limit_delay_us"] < r["period_us"]


def test_400_hz_streams_without_a_collection_until_there_is_garbage(
    micropython: Callable[..., Any],
) -> None:
    # The 10-second check while the timer samples at 400 Hz: with nothing allocated (what the
    # firmware allocates while streaming, bench_memory.py) no collection pauses the sampler and
    # every record is within 1 ms of its read; with garbage, one collection (4 ms on the model,
    # longer than the 2.5 ms period) runs right after a sample, and that sample is late.
    clean = _run(micropython, rate_hz=400, timer=True, seconds=1.0, collect_at_ms=500)
    assert clean["slots"] >= 300
    assert clean["gc_collects"] == 1  # housekeeping's first pass, before START
    assert clean["lost"] == 0 and clean["err_max_us"] <= 1000
    dirty = _run(
        micropython, rate_hz=400, timer=True, seconds=1.0, collect_at_ms=500, garbage_bytes=8192
    )
    assert dirty["gc_collects"] == 2
    assert dirty["err_max_us"] > 1000 or dirty["lost"] > 0
