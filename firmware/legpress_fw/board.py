# The hardware: the only module that imports `machine`. Builds, from a validated Config, the
# duck-typed objects the logic modules take (pad, position source) and wraps the LED, the
# watchdog, resets and the "start the REPL, not the app" flag.
#
# ADC: every analog input is on ADC1 (config.py refuses others: ADC2 cannot be read while the
# radio runs) at the configured attenuation; 11 dB spans about 0.15-2.45 V linearly, which
# covers the readout's divider range (hardware/pinmap.json). read_u16() scales the 12-bit
# result to 16 bits; the pad shifts it back.

import sys

import machine

from .pad import DirectPad, MuxPad
from .position import AnalogPosition, EncoderPosition, PinQuadrature

_PCNT_UNIT = 0
# The stock ESP32_GENERIC and ESP32_GENERIC_S3 builds run at 160 MHz. Through the multiplexer
# a sample costs about 0.9-1.7 ms at 160 MHz (firmware/README.md, "Timing"), two thirds of the
# 2.5 ms period at 400 Hz; 240 MHz, which both chips support, leaves room for the radio.
_CPU_HZ = 240000000
_REPL_FLAG = b"legpress:repl"


def chip():
    from .config import chip_of  # config.py is boot-only (startup.release)

    return chip_of(getattr(sys.implementation, "_machine", ""))


class NoPosition:
    """No position sensor: position reads 0."""

    def value(self):
        return 0

    def zero(self):
        return 0


class Board:
    def __init__(self, cfg):
        if machine.freq() < _CPU_HZ:
            machine.freq(_CPU_HZ)
        self._atten = {
            0: machine.ADC.ATTN_0DB,
            2.5: machine.ADC.ATTN_2_5DB,
            6: machine.ADC.ATTN_6DB,
            11: machine.ADC.ATTN_11DB,
        }[cfg.atten_db]
        self.pad = self._make_pad(cfg)
        self.position = self._make_position(cfg)
        self._led = None
        if cfg.led_pin is not None:
            self._led = machine.Pin(cfg.led_pin, machine.Pin.OUT, value=not cfg.led_active_high)
        self._led_on = 1 if cfg.led_active_high else 0
        self._buzzer = None
        if cfg.buzzer_pin is not None:  # active high through Q1; the base pull-down keeps it off
            self._buzzer = machine.Pin(cfg.buzzer_pin, machine.Pin.OUT, value=0)
        self._wdt = None
        self._timer = None

    def _adc(self, gpio):
        return machine.ADC(machine.Pin(gpio), atten=self._atten)

    def _make_pad(self, cfg):
        if cfg.pad == "direct":
            adcs = [self._adc(p) for p in cfg.cell_pins[: cfg.cells]]
            return DirectPad(adcs, cfg.oversample)
        select = [machine.Pin(p, machine.Pin.OUT, value=0) for p in cfg.mux_select_pins]
        return MuxPad(self._adc(cfg.mux_pin), select, cfg.cells, cfg.mux_settle_us, cfg.oversample)

    def _make_position(self, cfg):
        kind = cfg.position
        if kind == "analog":
            return AnalogPosition(self._adc(cfg.position_pin), cfg.invert)
        if kind == "none":
            return NoPosition()
        pin = machine.Pin
        a = pin(cfg.encoder_pins[0], pin.IN, pin.PULL_UP)
        b = pin(cfg.encoder_pins[1], pin.IN, pin.PULL_UP)
        if kind == "pin_irq":
            return PinQuadrature(a, b, cfg.invert)
        encoder = getattr(machine, "Encoder", None)
        if encoder is None:
            from .config import ConfigError

            raise ConfigError(
                "position",
                '"pcnt" needs machine.Encoder (MicroPython >= 1.26 on an ESP32 or ESP32-S3); '
                'use "pin_irq" for a slow sled',
            )
        # 4x quadrature counted by the PCNT hardware; the filter ignores glitches shorter
        # than filter_ns (pulses from a 1 m/s sled at 24.6 counts/mm are ~40 us apart).
        enc = encoder(_PCNT_UNIT, a, b, phases=4, filter_ns=cfg.encoder_filter_ns)
        return EncoderPosition(enc, cfg.invert)

    # --- sampling timer ------------------------------------------------------------------

    def has_sample_timer(self):
        # The timer path needs the ESP32 port's Timer ISR, which wakes the main task. Elsewhere
        # (the unix and WebAssembly ports the tests run on, with the fake `machine`) the app
        # samples with asyncio sleeps, which are exact there.
        return sys.platform == "esp32"

    def sample_timer(self, period_us, callback):
        # Hardware timer 0 fires every period_us (counted in microseconds: tick_hz); its ISR
        # schedules callback(timer) and wakes the main task, so the callback runs within
        # microseconds, between two bytecodes (ports/esp32/machine_timer.c). Re-arming
        # replaces the period and the callback.
        if self._timer is None:
            self._timer = machine.Timer(0)
        # (The stubs lack init's period + tick_hz form, which machine_timer.c accepts.)
        self._timer.init(  # pyright: ignore[reportCallIssue]
            mode=machine.Timer.PERIODIC,
            period=period_us,
            tick_hz=1000000,
            callback=callback,
        )

    # --- LED -----------------------------------------------------------------------------

    def led(self, on):
        if self._led is not None:
            self._led.value(self._led_on if on else 1 - self._led_on)

    def buzzer(self, on):
        if self._buzzer is not None:
            self._buzzer.value(1 if on else 0)

    # --- watchdog, resets ----------------------------------------------------------------

    def watchdog_start(self, timeout_ms):
        # Once started the ESP32 watchdog cannot be stopped; only a reset ends it.
        self._wdt = machine.WDT(timeout=timeout_ms)

    def watchdog_feed(self):
        if self._wdt is not None:
            self._wdt.feed()

    def reset(self):
        machine.reset()

    def reset_cause(self):
        return machine.reset_cause()

    def watchdog_reset(self):
        return machine.reset_cause() == machine.WDT_RESET

    def unique_id(self):
        return bytes(machine.unique_id())

    def request_repl(self):
        set_repl_flag()


# The REPL flag lives in RTC memory, which survives machine.reset() but not a power cycle:
# the REPL command sets it and resets (a reset is the only way to stop the watchdog), and
# main.py's next app.main() sees it, clears it and returns to the REPL.


def set_repl_flag():
    machine.RTC().memory(_REPL_FLAG)


def take_repl_flag():
    rtc = machine.RTC()
    try:
        flagged = bytes(rtc.memory()) == _REPL_FLAG
    except (AttributeError, OSError):
        return False
    if flagged:
        rtc.memory(b"")
    return flagged
