# Timing scenarios for test_timing.py and tests/bench/bench_timing.py: the real app (its four
# tasks under the supervisor, the sampler on a hardware timer or on asyncio sleeps) streaming
# over BLE on the model of the ESP32's timing (tests/mpy/support/chipmodel.py). MicroPython
# only, on the settrace build: the model charges a cost per executed firmware line and runs
# timer callbacks between bytecodes with micropython.schedule.
#
# Ground truth: the fake encoder returns the index of each read and records when that
# sample's first ADC conversion started, so every received record's time (its packet's t_us +
# i x period_us) can be compared with the instant it was really read.

import sys

import chipmodel
from fw_rigs import QuietBLE

_MASK = (1 << 30) - 1


def run_app(
    rate_hz=100,
    pad="direct",
    timer=True,
    seconds=3.0,
    cells=8,
    chip=None,
    limit=None,
    drop_at_ms=None,
    collect_at_ms=None,
    garbage_bytes=0,
):
    # limit: SET_LIMIT at that position (the encoder counts its reads, so it passes once);
    # drop_at_ms: the BLE link drops then (streaming stops; the limit is still watched);
    # collect_at_ms: the app's 10-second collection check falls due then (what housekeeping
    # does), with garbage_bytes allocated since the last collection (the model's mem_alloc).
    chip = chip or chipmodel.Chip()
    from legpress_fw import compat

    chip.install(compat)
    saved = sys.modules.get("asyncio")
    sys.modules["asyncio"] = chip.asyncio
    import legpress_fw

    # Fresh copies of the modules that bound the clocks and asyncio at import.
    for name in ("app", "device", "sampler", "pad", "ble_link", "radio", "control"):
        sys.modules.pop("legpress_fw." + name, None)
        if hasattr(legpress_fw, name):
            delattr(legpress_fw, name)
    try:
        return _run(
            chip, rate_hz, pad, timer, seconds, cells, limit, drop_at_ms, collect_at_ms,
            garbage_bytes,
        )  # fmt: skip
    finally:
        chip.stop_trace()
        if saved is not None:
            sys.modules["asyncio"] = saved


class _ADC:
    def __init__(self, chip, rig, v):
        self._chip = chip
        self._rig = rig
        self.v = v

    def read_u16(self):
        chip = self._chip
        rig = self._rig
        if rig.first_read is None:
            rig.first_read = chip.now_us
        chip.spend(chip.adc_us)
        return self.v << 4


class _MuxADC(_ADC):
    def __init__(self, chip, rig, pins):
        super().__init__(chip, rig, 0)
        self.pins = pins

    def read_u16(self):
        p = self.pins
        self.v = 100 + 37 * (p[0].v | p[1].v << 1 | p[2].v << 2 | p[3].v << 3)
        return _ADC.read_u16(self)


class _Pin:
    def __init__(self):
        self.v = 0

    def value(self, v):
        self.v = v


class _Encoder:
    def __init__(self, rig):
        self._rig = rig

    def value(self, *v):
        rig = self._rig
        rig.read_at.append(rig.first_read if rig.first_read is not None else rig.now())
        rig.first_read = None
        return len(rig.read_at) - 1


class _Board:
    def __init__(self, chip):
        self._chip = chip
        self.timer = None
        self.feeds = 0

    def led(self, on):
        pass

    def watchdog_start(self, ms):
        pass

    def watchdog_feed(self):
        self.feeds += 1

    def sample_timer(self, period_us, callback):
        if self.timer is None:
            self.timer = self._chip.Timer(0)
        self.timer.init(mode=1, period=period_us, tick_hz=1000000, callback=callback)


class _GC:
    # gc on the model: a collection costs the chip's gc_us; mem_alloc() is the heap after the
    # last collection plus `garbage`, what the scenario says was allocated since.
    def __init__(self, chip, garbage=0):
        self._chip = chip
        self.collects = 0
        self.garbage = garbage

    def collect(self):
        self.collects += 1
        self.garbage = 0
        self._chip.collect()

    def mem_alloc(self):
        return 40000 + self.garbage

    def mem_free(self):
        return 60000


class _Rig:
    def __init__(self, chip):
        self.first_read = None
        self.read_at = []
        self.now = chip.ticks_us
        self.beeps = []

    def buzzer(self, on):
        if on:
            self.beeps.append(self.now())


def _run(
    chip, rate_hz, pad_kind, timer, seconds, cells, limit, drop_at_ms, collect_at_ms, garbage
):
    import wire

    from legpress_fw import app, config
    from legpress_fw.ble_link import BLELink
    from legpress_fw.buzzer import Buzzer
    from legpress_fw.device import Device, DeviceInfo
    from legpress_fw.pad import DirectPad, MuxPad
    from legpress_fw.position import EncoderPosition
    from legpress_fw.radio import BLERadio

    rig = _Rig(chip)
    model_gc = _GC(chip)
    app.gc = model_gc  # before App(): it binds gc.mem_alloc
    cfg = config.validate({"cells": cells, "rate_hz": rate_hz, "pad": "mux"})
    info = DeviceInfo(cfg, b"\x24\x0a\xc4\x5e\x1e\x92", "LegPress-1E92")
    if pad_kind == "mux":
        select = [_Pin() for _ in range(4)]
        pad = MuxPad(_MuxADC(chip, rig, select), select, cells, settle_us=cfg.mux_settle_us)
    else:
        pad = DirectPad([_ADC(chip, rig, 100 + 37 * c) for c in range(cells)])
    dev = Device(
        cfg,
        info,
        pad,
        EncoderPosition(_Encoder(rig)),
        chip.ticks_us,
        mem_free=model_gc.mem_free,
        buzzer=Buzzer(rig.buzzer),
    )
    if limit is not None:
        dev.set_limit(limit, 10, 1)
    ble = QuietBLE(chip.spend, chip.notify_us, keep_handle=11)  # 11: the stream
    radio = BLERadio(ble, "LegPress-1E92", security=0)
    link = BLELink(radio, dev)
    board = _Board(chip)
    a = app.App(dev, board, link, radio, watchdog_s=8, timer=timer)
    logs = []
    a.log = logs.append
    # A host connects with MTU 247 and sends START, 50 ms into the run.
    ble.handler(1, (0, 0, memoryview(b"\xc0\xff\xee\x00\x00\x01")))
    ble.handler(21, (0, 247))
    ble.value = bytes((1, 5, 0, 1, 0, 0, 0, 0, 0, wire.CMD_START))

    async def host():
        await chip.asyncio.sleep_ms(50)
        ble.handler(3, (0, radio.h_control))
        if drop_at_ms is not None:
            await chip.asyncio.sleep_ms(drop_at_ms - 50)
            ble.handler(2, (0, 0, memoryview(b"\xc0\xff\xee\x00\x00\x01")))

    async def collect_due():
        await chip.asyncio.sleep_ms(collect_at_ms)
        model_gc.garbage = garbage
        a.collect_if_due()

    chip.asyncio.create_task(host())
    if collect_at_ms is not None:
        chip.asyncio.create_task(collect_due())
    chip.start_trace("/firmware/")
    chip.asyncio.run(a.run(), int(seconds * 1000000))
    chip.stop_trace()
    r = _analyse(chip, rig, ble.packets, dev, a, board, model_gc, cells, logs, timer)
    if limit is not None:
        # From the read that passed the limit to the buzzer sounding.
        passed = rig.read_at[limit + 1] if len(rig.read_at) > limit + 1 else None
        r["limit_passed_us"] = passed
        r["beeps_us"] = rig.beeps
        r["limit_delay_us"] = rig.beeps[0] - passed if rig.beeps and passed else None
        r["streaming"] = dev.want_stream
    return r


def _analyse(chip, rig, packets, dev, a, board, model_gc, cells, logs, timer):
    period = dev.sampler.period_us
    rec = 2 * cells + 4
    first_t = None
    errors = []
    slots = []
    indices = []
    flags = 0
    for p in packets:
        if p[1] != 1:
            continue
        t = p[5] | (p[6] << 8) | (p[7] << 16) | (p[8] << 24)
        flags |= p[2]
        n = (len(p) - 9) // rec
        for r in range(n):
            o = 9 + r * rec + 2 * cells
            idx = p[o] | (p[o + 1] << 8) | (p[o + 2] << 16) | (p[o + 3] << 24)
            reported = t + r * period
            actual = rig.read_at[idx] & _MASK
            if first_t is None:
                first_t = reported
            errors.append(reported - actual)
            slots.append((reported - first_t) // period)
            indices.append(idx)
    received = len(slots)
    expected = slots[-1] - slots[0] + 1 if slots else 0
    abs_err = sorted(e if e >= 0 else -e for e in errors)
    s = dev.sampler
    return {
        "timer": timer,
        "period_us": period,
        "received": received,
        "slots": expected,
        "lost": expected - received,
        "lost_pct": round(100 * (expected - received) / expected, 2) if expected else None,
        "in_order": indices == sorted(indices),
        "err_max_us": abs_err[-1] if abs_err else None,
        "err_p99_us": abs_err[(len(abs_err) * 99) // 100] if abs_err else None,
        "err_mean_us": sum(abs_err) // len(abs_err) if abs_err else None,
        "overruns": s.overruns,
        "pool_dropped": s.pool_dropped,
        "ring_dropped": dev.ring.dropped_samples,
        "jitter_max_us": s.jitter_max_us,
        "flags": flags,
        "sched_lost": chip.sched_lost,
        "timer_inits": board.timer.inits if board.timer else 0,
        "gc_collects": model_gc.collects,
        "restarts": a.supervisor.restarts,
        "watchdog_feeds": board.feeds,
        "lines": chip.lines,
        "sim_us": chip.now_us,
        "logs": logs[:5],
    }
