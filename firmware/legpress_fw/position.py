# Sled position in encoder counts, 0 at the zeroed top, larger = deeper.
#
# Every source has `value()` and `zero()`. The PCNT encoder (machine.Encoder, MicroPython >= 1.26)
# counts every quadrature edge in hardware and is the default. The pin-interrupt decoder is for
# boards without PCNT: MicroPython pin IRQs are soft on the ESP32, so it loses edges above a few
# thousand per second -- slow sled only. The draw-wire potentiometer reads an ADC1 pin.


# Quadrature state table: index (old_ab << 2) | new_ab -> step (-1, 0, +1).
_QUAD = (0, 1, -1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 0, -1, 1, 0)


class EncoderPosition:
    """Wraps machine.Encoder (or anything with value([v]))."""

    def __init__(self, encoder, invert=False):
        self._enc = encoder
        self._sign = -1 if invert else 1

    def value(self):
        return self._sign * self._enc.value()

    def zero(self):
        before = self.value()
        self._enc.value(0)
        return before


class PinQuadrature:
    """4x quadrature decoding in pin interrupts (no PCNT). Slow sleds only."""

    def __init__(self, pin_a, pin_b, invert=False, trigger=3):
        # trigger: Pin.IRQ_RISING | Pin.IRQ_FALLING (1 | 2) on the ESP32.
        self._a = pin_a
        self._b = pin_b
        self._count = 0
        self._state = (pin_a.value() << 1) | pin_b.value()
        self._sign = -1 if invert else 1
        self._edge_ref = self._edge  # bound method cached: binding in the IRQ would allocate
        pin_a.irq(self._edge_ref, trigger)
        pin_b.irq(self._edge_ref, trigger)

    def _edge(self, _pin):
        new = (self._a.value() << 1) | self._b.value()
        self._count += _QUAD[(self._state << 2) | new]
        self._state = new

    def value(self):
        return self._sign * self._count

    def zero(self):
        before = self.value()
        self._count = 0
        return before


class AnalogPosition:
    """Draw-wire potentiometer on an ADC1 pin; counts are 12-bit ADC steps."""

    def __init__(self, adc, invert=False):
        self._adc = adc
        self._sign = -1 if invert else 1
        self._zero = 0

    def _raw(self):
        return self._sign * (self._adc.read_u16() >> 4)

    def value(self):
        return self._raw() - self._zero

    def zero(self):
        before = self.value()
        self._zero = self._raw()
        return before
