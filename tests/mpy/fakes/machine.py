# Fake `machine` module (ESP32 flavour) for running firmware off-board.
#
# Imports under MicroPython (tests/mpy/runner.mjs mounts this directory first on sys.path) and
# under CPython. Constants are the ESP32 port's real values (ports/esp32/machine_pin.c,
# machine_adc.c, modmachine.c; cross-checked with micropython-esp32-stubs 1.29).
#
# Like the real port, Pin, ADC and Encoder objects are singletons per id, so a test can reach
# the object the firmware created with e.g. `machine.ADC(machine.Pin(34))`.
#
# Test hooks (not part of the real API):
#   Pin/ADC/Encoder/Timer.instances   {id: object} of everything constructed; WDT.instances list
#   Pin.drive(level)             an external signal sets the input level (fires the irq)
#   ADC.feed(values)             queue raw 16-bit readings; ADC.source = callable() -> int
#   Encoder.move(delta)          the encoder turns by `delta` counts
#   Timer.fire(n=1)              run the timer callback n times
#   WDT.feeds                    number of feed() calls
#   set_reset_cause(cause)       the value reset_cause() returns
#   RTC.user_memory              what RTC().memory() holds (survives reset(), like RTC RAM)
#   reset_fakes()                forget every singleton and recorded call (CPython tests)
#   MachineReset                 raised by reset()/soft_reset()/deepsleep()


class MachineReset(BaseException):
    """Raised by the fake reset(); a BaseException so `except Exception` can't swallow it."""


# --- module constants (ports/esp32/modmachine.c) -------------------------------------------

PWRON_RESET = 1
HARD_RESET = 2
WDT_RESET = 3
DEEPSLEEP_RESET = 4
SOFT_RESET = 5

SLEEP = 2
DEEPSLEEP = 4

_state = {"reset_cause": PWRON_RESET, "freq": 160_000_000, "resets": 0, "irq_disabled": 0}
_UNIQUE_ID = b"\x24\x0a\xc4\x5e\x1e\x90"


def reset():
    """Hard reset: records the call and raises MachineReset (the real one never returns)."""
    _state["resets"] += 1
    raise MachineReset("machine.reset()")


def soft_reset():
    """Soft reset: records the call and raises MachineReset."""
    _state["resets"] += 1
    raise MachineReset("machine.soft_reset()")


def deepsleep(time_ms=None):
    """Deep sleep ends in a reset on the ESP32: raises MachineReset."""
    raise MachineReset("machine.deepsleep(%r)" % (time_ms,))


def lightsleep(time_ms=None):
    """Returns at once."""


def idle():
    """Returns at once."""


def reset_cause():
    """The cause set by set_reset_cause() (PWRON_RESET by default)."""
    return _state["reset_cause"]


def wake_reason():
    return 0


def unique_id():
    """Six bytes, like the ESP32's base MAC address."""
    return _UNIQUE_ID


def freq(hz=None):
    """Get the CPU frequency (160 MHz by default) or set it."""
    if hz is None:
        return _state["freq"]
    _state["freq"] = hz
    return None


def disable_irq():
    _state["irq_disabled"] += 1
    return _state["irq_disabled"]


def enable_irq(state=None):
    _state["irq_disabled"] = max(0, _state["irq_disabled"] - 1)


# --- test hooks --------------------------------------------------------------------------


def set_reset_cause(cause):
    """Test hook: make reset_cause() return `cause`."""
    _state["reset_cause"] = cause


def reset_count():
    """Test hook: how many times reset() or soft_reset() was called."""
    return _state["resets"]


def reset_fakes():
    """Test hook: forget all singletons and recorded state."""
    Pin.instances.clear()
    ADC.instances.clear()
    Encoder.instances.clear()
    Timer.instances.clear()
    WDT.instances.clear()
    RTC.user_memory = b""
    _state.update(reset_cause=PWRON_RESET, freq=160_000_000, resets=0, irq_disabled=0)


# --- Pin ---------------------------------------------------------------------------------


def _pin_id(pin):
    return pin.id if isinstance(pin, Pin) else pin


class _PinIRQ:
    def __init__(self, handler, trigger):
        self.handler = handler
        self._trigger = trigger

    def trigger(self):
        return self._trigger

    def flags(self):
        return self._trigger


class Pin:
    """GPIO pin; one object per id."""

    IN = 1
    OUT = 3
    OPEN_DRAIN = 7
    PULL_UP = 2
    PULL_DOWN = 1
    IRQ_RISING = 1
    IRQ_FALLING = 2
    WAKE_LOW = 4
    WAKE_HIGH = 5
    DRIVE_0 = 0
    DRIVE_1 = 1
    DRIVE_2 = 2
    DRIVE_3 = 3

    instances = {}

    def __new__(cls, id, *args, **kwargs):
        self = cls.instances.get(id)
        if self is None:
            self = object.__new__(cls)
            self.id = id
            self.mode = None
            self.pull = None
            self._value = 0
            self._irq = None
            cls.instances[id] = self
        return self

    def __init__(self, id, mode=-1, pull=-1, *, value=None, drive=None, hold=None):
        self.init(mode, pull, value=value, drive=drive, hold=hold)

    def init(self, mode=-1, pull=-1, *, value=None, drive=None, hold=None):
        if mode != -1:
            self.mode = mode
        if pull != -1:
            self.pull = pull
            if pull == Pin.PULL_UP:
                self._value = 1
        if value is not None:
            self._value = 1 if value else 0

    def value(self, x=None):
        if x is None:
            return self._value
        self._value = 1 if x else 0
        return None

    def __call__(self, x=None):
        return self.value(x)

    def on(self):
        self._value = 1

    def off(self):
        self._value = 0

    def irq(
        self, handler=None, trigger=IRQ_FALLING | IRQ_RISING, *, priority=1, wake=None, hard=False
    ):
        self._irq = _PinIRQ(handler, trigger)
        return self._irq

    def drive(self, level):
        """Test hook: an external signal sets the level; runs the irq handler on a
        matching edge."""
        level = 1 if level else 0
        old, self._value = self._value, level
        irq = self._irq
        if irq is None or irq.handler is None or old == level:
            return
        edge = Pin.IRQ_RISING if level else Pin.IRQ_FALLING
        if irq.trigger() & edge:
            irq.handler(self)

    def __repr__(self):
        return "Pin(%d)" % self.id


# --- ADC ---------------------------------------------------------------------------------


class ADC:
    """ADC channel; one object per pin. Readings come from feed()/source (test hooks)."""

    ATTN_0DB = 0
    ATTN_2_5DB = 1
    ATTN_6DB = 2
    ATTN_11DB = 3
    WIDTH_9BIT = 9
    WIDTH_10BIT = 10
    WIDTH_11BIT = 11
    WIDTH_12BIT = 12

    instances = {}

    def __new__(cls, pin, *args, **kwargs):
        key = _pin_id(pin)
        self = cls.instances.get(key)
        if self is None:
            self = object.__new__(cls)
            self.pin = key
            self._atten = ADC.ATTN_0DB
            self._width = ADC.WIDTH_12BIT
            self._queue = []
            self._last = 0
            self.source = None
            self.reads = 0
            cls.instances[key] = self
        return self

    def __init__(self, pin, *, atten=None, sample_ns=None):
        self.init(atten=atten, sample_ns=sample_ns)

    def init(self, *, atten=None, sample_ns=None):
        if atten is not None:
            self._atten = atten

    def deinit(self):
        pass

    def atten(self, atten):
        self._atten = atten

    def width(self, bits):
        self._width = bits

    def feed(self, values):
        """Test hook: queue raw 16-bit readings (0..65535), returned in order by read_u16()."""
        self._queue.extend(values)

    def read_u16(self):
        """Next queued reading, else source(), else the last reading (initially 0)."""
        self.reads += 1
        if self._queue:
            self._last = self._queue.pop(0)
        elif self.source is not None:
            self._last = self.source()
        return self._last

    def read(self):
        """Reading scaled to the configured width (12 bits by default)."""
        return self.read_u16() >> (16 - self._width)

    def read_uv(self):
        """Reading as microvolts over the 11 dB range (0..~3.1 V), linear."""
        return self.read_u16() * 3_100_000 // 65535

    def __repr__(self):
        return "ADC(Pin(%d), atten=%d)" % (self.pin, self._atten)


# --- Encoder -----------------------------------------------------------------------------


class Encoder:
    """Quadrature encoder on a PCNT unit; one object per id (as the ESP32 port's Encoder)."""

    instances = {}

    def __new__(cls, id, *args, **kwargs):
        self = cls.instances.get(id)
        if self is None:
            self = object.__new__(cls)
            self.id = id
            self._count = 0
            self._phases = 1
            self.filter_ns = 0
            self.phase_a = None
            self.phase_b = None
            self._active = False
            cls.instances[id] = self
        return self

    def __init__(self, id, *args, **kwargs):
        if args or kwargs or not self._active:
            self._configure(*args, **kwargs)

    def _configure(self, phase_a=None, phase_b=None, phases=1, *, filter_ns=0):
        if phases not in (1, 2, 4):
            raise ValueError("phases")
        self.phase_a = phase_a
        self.phase_b = phase_b
        self._phases = phases
        self.filter_ns = filter_ns
        self._count = 0
        self._active = True

    def init(self, *args, **kwargs):
        self._configure(*args, **kwargs)

    def deinit(self):
        self._active = False

    def phases(self):
        return self._phases

    def value(self, value=None):
        """Current count; when `value` is given, set the count and return the previous one."""
        if not self._active:
            raise RuntimeError("not initialised")
        result = self._count
        if value is not None:
            self._count = value
        return result

    def move(self, delta):
        """Test hook: the encoder turns by `delta` counts."""
        self._count += delta


# --- Timer -------------------------------------------------------------------------------


class Timer:
    """Hardware timer; the callback runs only when a test calls fire()."""

    ONE_SHOT = 0
    PERIODIC = 1

    instances = {}

    def __init__(
        self, id=-1, *, mode=PERIODIC, period=-1, tick_hz=1000, freq=None, callback=None, hard=None
    ):
        self.id = id
        self.callback = None
        self.mode = mode
        self.period = period
        self.tick_hz = tick_hz
        self.freq = freq
        self.running = False
        self.fired = 0
        Timer.instances[id] = self
        if callback is not None or period != -1 or freq is not None:
            self.init(
                mode=mode, period=period, tick_hz=tick_hz, freq=freq, callback=callback, hard=hard
            )

    def init(self, *, mode=PERIODIC, period=-1, tick_hz=1000, freq=None, callback=None, hard=None):
        if hard:  # ports/esp32/machine_timer.c
            raise ValueError("hard Timers are not implemented")
        self.mode = mode
        self.period = period
        self.tick_hz = tick_hz  # period is in ticks of tick_hz (1000: milliseconds)
        self.freq = freq
        self.callback = callback
        self.running = True

    def deinit(self):
        self.running = False

    def value(self):
        return 0

    def fire(self, n=1):
        """Test hook: run the callback n times (a ONE_SHOT timer stops after the first)."""
        for _ in range(n):
            if not self.running or self.callback is None:
                return
            if self.mode == Timer.ONE_SHOT:
                self.running = False
            self.fired += 1
            self.callback(self)


# --- WDT ---------------------------------------------------------------------------------


class WDT:
    """Watchdog; counts feed() calls in `feeds`."""

    instances = []

    def __init__(self, id=0, timeout=5000):
        self.id = id
        self.timeout = timeout
        self.feeds = 0
        WDT.instances.append(self)

    def feed(self):
        self.feeds += 1


# --- RTC ---------------------------------------------------------------------------------


class RTC:
    """Real-time clock; memory() is the RTC user RAM, which survives reset() (test hook:
    RTC.user_memory)."""

    user_memory = b""

    def __init__(self, id=0):
        self.id = id

    def memory(self, data=None):
        if data is None:
            return RTC.user_memory
        if len(data) > 2048:  # MICROPY_HW_RTC_USER_MEM_MAX on the ESP32
            raise ValueError("buffer too long")
        RTC.user_memory = bytes(data)
        return None
