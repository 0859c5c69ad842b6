# The sensors of the end-to-end tests, shared by the MicroPython side (fw_main.py feeds them to
# the fake `machine` ADCs and encoder) and the CPython side (the tests check every sample the
# host received against them). Each reading is a pure function of the sample number k: the
# k-th read of that cell since the firmware booted (the sampler reads each cell once per
# sample, seat first, then the position). Cells 0 and 1 spell k itself (k = 3000 * (c1 - 200)
# + (c0 - 200)), so a sample names its own number; no reading touches a rail (0 or 4095).


def cell_raw(c, k):
    """The 12-bit reading of cell ``c`` in sample ``k``."""
    if c == 0:
        return 200 + k % 3000
    if c == 1:
        return 200 + (k // 3000) % 3000
    return 200 + (k * (37 + 11 * c) + 500 * c) % 3600


def position(k):
    """The encoder count in sample ``k``: the sled going down 400 samples and up 400."""
    phase = k % 800
    return 25 * (phase if phase < 400 else 800 - phase)


def sample_number(c0, c1):
    """k from the readings of cells 0 and 1 (full 12-bit SAMPLES records)."""
    return 3000 * (c1 - 200) + (c0 - 200)
