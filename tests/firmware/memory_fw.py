# Memory scenario for tests/bench/bench_memory.py: the app as main()
# builds it (config defaults, Board on the fake `machine`, the radio on the fake `bluetooth`,
# the serial link on the console), booted and then streaming over BLE at MTU 247, under
# MicroPython. gc.mem_alloc() counts the whole heap, so what the rig itself holds is measured
# first and subtracted: the figures are the firmware's modules and objects.
#
# Streaming drives the app's own steps on the model clock (tests/mpy/support/chipmodel.py), as
# its tasks would: a sample each period, the BLE step per packet, the serial step every 10 ms,
# housekeeping every 100 ms (STATUS, watchdog, and the 10-second gc.collect()). (Not through an
# asyncio loop: the WebAssembly port retains a few dozen bytes per awaited object, which is
# not the device's.) gc is the real one, but the WebAssembly port can only reclaim once the
# code has yielded to JavaScript (it cannot scan the wasm stack), so the loop yields every
# 100 ms of device time: the app's own gc.collect() then works as on the board, and the peak
# is what the heap holds between two of them.

import asyncio as _aio
import gc
import sys

import bluetooth
import chipmodel
import machine

CONFIG = '{"rate_hz": %d}'


async def _settle():
    # Back to JavaScript (through the port's own asyncio), after which gc.collect() reclaims.
    model = sys.modules.get("asyncio")
    sys.modules["asyncio"] = _aio
    try:
        await _aio.sleep(0)
    finally:
        sys.modules["asyncio"] = model


async def boot_and_stream(seconds=3.0, rate_hz=100, start=True):
    machine.reset_fakes()
    ble = bluetooth.BLE()
    ble.reset()
    chip = chipmodel.Chip()
    await _settle()
    gc.collect()
    base = gc.mem_alloc()
    from legpress_fw import compat

    chip.install(compat)
    saved = sys.modules.get("asyncio")
    sys.modules["asyncio"] = chip.asyncio
    try:
        from legpress_fw import app
        from legpress_fw import board as board_mod
        from legpress_fw.config import load_text

        cfg, ok = load_text(CONFIG % rate_hz, "esp32")
        a = app.build(cfg, ok, board_mod.Board(cfg), "esp32")
        del cfg
        a.log = lambda text: None
        await _settle()
        gc.collect()
        boot = gc.mem_alloc() - base
        boot_free = gc.mem_free()
        dev = a.device
        radio = a.radio

        ble.connect(0)
        ble.exchange_mtu(0, 247)
        ble.subscribe(0, radio.h_control, notify=True)
        ble.subscribe(0, radio.h_stream, notify=True)
        if start:
            ble.client_write(0, radio.h_control, bytes((1, 5, 0, 1, 0, 0, 0, 0, 0, 1)))
        a.ble_step()
        ring = dev.ring
        period_us = dev.sampler.period_us
        t_us = 0
        tick = 0
        next_serial = 0
        next_house = 0
        peak = 0
        for _ in range(int(seconds * 1000000) // period_us):
            t_us += period_us
            chip.now_us = t_us
            a.sample_step()
            if ring.pending():
                a.ble_step()
            if t_us >= next_serial:
                a.serial_step()
                next_serial += 10000
            if t_us >= next_house:
                a.housekeeping_step(t_us // 1000, tick)
                tick += 1
                next_house += 100000
                ble.notifications.clear()  # the fake central keeps nothing
                ble.unsolicited.clear()
                await _settle()
            m = gc.mem_alloc() - base
            if m > peak:
                peak = m
        streamed = dev.sampler.samples_total
        await _settle()
        gc.collect()
        steady = gc.mem_alloc() - base
        return {
            "boot_bytes": boot,
            "boot_free_bytes": boot_free,
            "stream_peak_bytes": peak,
            "stream_steady_bytes": steady,
            "samples": streamed,
            "packets": dev.packets_sent,
            "ring_bytes": len(dev.ring._slots) * dev.ring.slot_size,
            "modules": sorted(m for m in sys.modules if m.startswith("legpress_fw")),
        }
    finally:
        if saved is not None:
            sys.modules["asyncio"] = saved
