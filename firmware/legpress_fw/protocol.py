# Wire format, version 1: the firmware side of PROTOCOL.md.
#
# Every message starts with a 9-byte header:
#
#   offset size type name     notes
#   0      1    u8   version  1
#   1      1    u8   type     SAMPLES, SAMPLES_COMPACT, DEVICE_INFO, STATUS, COMMAND, REPLY, LOG
#   2      1    u8   flags    samples only (DROPPED, OVERRUN, SENSOR_FAULT, CLIPPED, RESTART)
#   3      2    u16  seq      per stream, wraps at 65536
#   5      4    u32  t_us     device microseconds, wraps at 2**32
#
# SAMPLES records are K x u16 ADC counts (seat upward) then i32 encoder counts. Everything is
# packed with struct.pack_into into buffers allocated once: the sampling path allocates nothing.

import struct

from .compat import const

# The protocol's numbers that this module uses, folded into its code. Each firmware module keeps
# its own copy of those it uses (a constant imported from another module would cost a dict
# entry and a lookup on the device); PROTOCOL.md has them all, and tests/firmware/test_consts.py
# checks every copy against it (tests/firmware/wire.py).
_VERSION = const(1)
_T_SAMPLES_COMPACT = const(0x02)
_T_REPLY = const(0x06)
_T_LOG = const(0x07)
_F_CLIPPED = const(0x08)
_HEADER_SIZE = const(9)
# "<BBBH" then the time as two u16 halves: the 32-bit value would be a heap-allocated long int
# on a 32-bit MicroPython port, its halves are small ints: "<BBBHHH".
_REPLY_HEADER_SIZE = const(13)  # header + request_seq u16 + command u8 + result u8
_STATUS_BODY_SIZE = const(53)
STATUS_BODY_FMT = "<BBHIIIIIIIIIHHHIHB"
_NAME_MAX = const(29)

_HALF_PERIOD = const(1 << 29)
_TICKS_MAX = const((1 << 30) - 1)


def record_size(n_cells):
    return 2 * n_cells + 4


def compact_record_size(n_cells):
    return n_cells + 2


def batch_samples(rate_hz, payload_max, n_cells):
    # About 25 notifications a second, never more records than fit in the payload.
    fit = (payload_max - _HEADER_SIZE) // record_size(n_cells)
    want = (rate_hz + 24) // 25
    return min(want, fit) if fit > 0 else 0


class DeviceClock:
    """Extends MicroPython's 2**30 microsecond ticks to the protocol's 32-bit `t_us`."""

    # The extended clock is ticks + epoch * 2**30 (mod 2**32), so only the epoch's two low bits
    # matter. `pack_time` accepts tick values slightly out of order (a sample's scheduled time
    # may precede the last clock read): a jump of more than half a period back is a wrap, one of
    # more than half a period forward is a value from before the last wrap.

    def __init__(self, ticks_us):
        self._ticks_us = ticks_us
        self._last = ticks_us() & _TICKS_MAX
        self._epoch = 0

    def now(self):
        # Call at least once every 8 minutes (the supervisor does, every second) so no wrap of
        # the 17.9-minute tick counter goes unseen.
        t = self._ticks_us()
        self._update(t & _TICKS_MAX)
        return t

    def _update(self, t):
        last = self._last
        epoch = self._epoch
        if t < last:
            if last - t > _HALF_PERIOD:
                epoch = (epoch + 1) & 3
                self._epoch = epoch
                self._last = t
        elif t - last > _HALF_PERIOD:
            return (epoch - 1) & 3
        else:
            self._last = t
        return epoch

    def pack_time(self, buf, offset, t):
        # Only the low 30 bits of a tick count are the clock: the ESP32's ticks wrap there, but
        # a port with wider ticks (the unix port's wrap at 2**62) sets bits 30 and up, which
        # must not mix with the epoch's.
        t &= _TICKS_MAX
        epoch = self._update(t)
        struct.pack_into("<HH", buf, offset, t & 0xFFFF, (t >> 16) | (epoch << 14))


def pack_header(buf, msg_type, flags, seq, clock, t):
    struct.pack_into("<BBBH", buf, 0, _VERSION, msg_type, flags, seq)
    clock.pack_time(buf, 5, t)


def compact_into(dst, src, n_cells, record, flags_extra):
    # Rewrites SAMPLES record `record` of `src` as a one-record SAMPLES_COMPACT packet in `dst`
    # (MTU 23 links). Returns the packet length. Allocation-free; only used on small-MTU links.
    dst[0] = _VERSION
    dst[1] = _T_SAMPLES_COMPACT
    flags = src[2]
    dst[3] = src[3]
    dst[4] = src[4]
    dst[5] = src[5]
    dst[6] = src[6]
    dst[7] = src[7]
    dst[8] = src[8]
    off = _HEADER_SIZE + record * record_size(n_cells)
    for c in range(n_cells):
        dst[_HEADER_SIZE + c] = (src[off + 2 * c] | (src[off + 2 * c + 1] << 8)) >> 4
    # The i32 position, saturated to i16, from its bytes: unpack_from would allocate a tuple
    # for every compact packet, and the full 32-bit value may not be a small int.
    o = off + 2 * n_cells
    hi = src[o + 3]
    low = src[o] | (src[o + 1] << 8)
    if hi == 0 and src[o + 2] == 0 and low < 0x8000:
        pos = low
    elif hi == 0xFF and src[o + 2] == 0xFF and low > 0x8000:
        pos = low - 0x10000
    else:
        pos = 32767 if hi < 0x80 else -32767
        flags |= _F_CLIPPED
    struct.pack_into("<h", dst, _HEADER_SIZE + n_cells, pos)
    dst[2] = flags | flags_extra
    return _HEADER_SIZE + n_cells + 2


def pack_info_body(buf, offset, info):
    # info: an object with the DEVICE_INFO fields as attributes (device.DeviceInfo).
    k = info.n_cells
    fw = info.fw_version
    struct.pack_into(
        "<BBBIBBIBBBBBH",
        buf,
        offset,
        fw[0],
        fw[1],
        fw[2],
        info.period_us,
        k,
        info.tick_period_log2,
        info.encoder_counts_per_m,
        info.position_sensor,
        info.adc_bits,
        info.cell_pitch_mm,
        info.oversample,
        info.batch_samples,
        info.mtu,
    )
    o = offset + 20
    dev_id = info.device_id
    for i in range(6):
        buf[o + i] = dev_id[i] if i < len(dev_id) else 0
    o += 6
    for c in range(k):
        buf[o + c] = info.cell_channel[c]
    o += k
    for c in range(k):
        struct.pack_into("<H", buf, o + 2 * c, info.tare[c])
    o += 2 * k
    name = info.name
    n = len(name)
    if n > _NAME_MAX:
        n = _NAME_MAX
    buf[o] = n
    buf[o + 1 : o + 1 + n] = name[:n]
    return o + 1 + n


def pack_status_body(buf, offset, st):
    # st: an object with the STATUS fields as attributes (app.Status). Counters wrap at 2**30.
    struct.pack_into(
        STATUS_BODY_FMT,
        buf,
        offset,
        st.state,
        st.link,
        st.faults,
        st.uptime_s,
        st.samples_total,
        st.samples_dropped,
        st.overruns,
        st.jitter_max_us,
        st.jitter_mean_us,
        st.packets_sent,
        st.notify_enomem,
        st.bad_commands,
        st.task_restarts,
        st.mtu,
        st.connections,
        st.heap_free_bytes,
        st.dead_cells,
        st.reset_cause,
    )
    return offset + _STATUS_BODY_SIZE


def pack_reply(buf, seq, clock, t, request_seq, command, result):
    # Returns the offset where the payload goes; the caller adds it and sends buf[:length].
    pack_header(buf, _T_REPLY, 0, seq, clock, t)
    struct.pack_into("<HBB", buf, _HEADER_SIZE, request_seq, command, result)
    return _REPLY_HEADER_SIZE


def pack_log(buf, seq, clock, t, text):
    pack_header(buf, _T_LOG, 0, seq, clock, t)
    n = len(text)
    if n > 200:
        n = 200
    buf[_HEADER_SIZE : _HEADER_SIZE + n] = text[:n]
    return _HEADER_SIZE + n
