# The buzzer (BZ1, driven through Q1 from `buzzer_pin`): plays on/off patterns so that the
# person on the machine hears what the host saw (BEEP) or what the device saw itself (the sled
# past the SET_LIMIT depth). Pure logic over `drive(on)` (board.buzzer on the device).
#
# A pattern is a u16: bit i is 100 ms slot i, bit 0 first, so the longest pattern lasts 1.6 s;
# 0 is silence. play() sounds the first slot at once and may be called from the sampler's
# timer callback (no allocation); step() runs every 100 ms in the housekeeping task. A play()
# that interrupts a step() restarts the pattern; at worst one slot is cut short.

from .compat import const

_SLOTS = const(16)


class Buzzer:
    def __init__(self, drive=None):
        self._drive = drive
        self._pattern = 0
        self._slot = 0
        self._on = False
        self.plays = 0  # patterns started since boot

    def play(self, pattern):
        pattern &= 0xFFFF
        self._pattern = pattern
        self._slot = 0
        if pattern:
            self.plays += 1
        self._set(pattern & 1)

    def step(self):
        pattern = self._pattern
        if not pattern:
            if self._on:
                self._set(0)
            return
        slot = self._slot + 1
        if slot >= _SLOTS or not pattern >> slot:  # no more sound in this pattern
            self._pattern = 0
            self._set(0)
            return
        self._slot = slot
        self._set((pattern >> slot) & 1)

    def playing(self):
        return self._pattern != 0

    def _set(self, on):
        on = bool(on)
        if on != self._on:
            self._on = on
            if self._drive is not None:
                self._drive(on)
