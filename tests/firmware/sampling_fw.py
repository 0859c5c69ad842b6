# Sampler and ring scenarios for test_sampling.py.
#
# A scenario builds the firmware from its real modules with hand-written fakes, runs it and
# returns a JSON-able dict; the test next to this file runs it under CPython and under
# MicroPython (this directory mounted at /tf) and asserts on the result.

import struct

import wire
from fw_fakes import TICKS_MASK
from fw_rigs import Rng, make_device, packet_fields

from legpress_fw.device import LINK_SERIAL


def sampling_drift(n_samples=100000, period_us=10000, seed=1):
    # Drives the sampler with a clock that reaches every deadline a little late (up to 30 % of
    # a period, a third of them on time), and now and then stalls for a few periods, across a
    # wrap of the 2**30 tick counter.
    # Every record's time must be exactly t0 + slot * period: no drift, ever.
    rng = Rng(seed)
    late_limit = period_us * 3 // 10
    t0 = (1 << 30) - 300000000  # wraps about 5 minutes into the run
    dev, _adcs, enc, clock = make_device(8, 1000000 // period_us, t0)
    s = dev.sampler
    ring = dev.ring
    dev.start(LINK_SERIAL)
    slot = 0  # deadline index the clock is at
    taken = 0
    expected_overruns = 0
    late_sum = 0
    late_max = 0
    stalls = 0
    next_slot = 0  # slot of the next record we expect to read from the ring
    drift_errors = 0
    packets = 0
    overrun_flags = 0
    restart_flags = 0
    gaps = 0
    last_seq = None
    first_t = t0 & 0xFFFFFFFF
    while taken < n_samples:
        r = rng.below(1000)
        if r < 2 and taken > 10:
            skip = 1 + rng.below(4)  # a stall: skip whole periods
            slot += skip
            expected_overruns += skip
            stalls += 1
        late = 0 if r % 3 == 0 else rng.below(late_limit)
        clock.t = (t0 + slot * period_us + late) & TICKS_MASK
        enc.v = slot
        wait = s.poll()
        if wait != period_us - late:
            drift_errors += 1
        taken += 1
        late_sum += late
        late_max = max(late_max, late)
        slot += 1
        pkt = ring.peek()
        while pkt is not None:
            f = packet_fields(pkt, 8)
            packets += 1
            if last_seq is not None and f["seq"] != (last_seq + 1) & 0xFFFF:
                gaps += 1
            last_seq = f["seq"]
            if f["flags"] & wire.F_OVERRUN:
                overrun_flags += 1
            if f["flags"] & wire.F_RESTART:
                restart_flags += 1
            for r_i in range(f["records"]):
                # The encoder value is the slot number: which slot was this record taken in?
                pos = struct.unpack_from("<i", pkt, 9 + r_i * 20 + 16)[0]
                if r_i == 0:
                    next_slot = pos
                    want_t = (first_t + pos * period_us) & 0xFFFFFFFF
                    if f["t_us"] != want_t:
                        drift_errors += 1
                elif pos != next_slot:
                    drift_errors += 1  # a skipped slot inside a packet
                next_slot = pos + 1
            ring.pop()
            pkt = ring.peek()
    return {
        "samples_total": s.samples_total,
        "taken": taken,
        "packets": packets,
        "seq_gaps": gaps,
        "drift_errors": drift_errors,
        "overruns": s.overruns,
        "expected_overruns": expected_overruns,
        "overrun_flags": overrun_flags,
        "stalls": stalls,
        "restart_flags": restart_flags,
        "jitter_max_us": s.jitter_max_us,
        "jitter_mean_us": s.jitter_mean_us(),
        "late_max": late_max,
        "late_mean": late_sum // taken,
        "dropped": ring.dropped_samples,
        "wrapped": clock.t < (t0 & TICKS_MASK),
    }


def ring_overflow(slots=4, packets=10):
    # Nobody sends: the ring keeps the newest slots - 1 packets and counts what it overwrote.
    dev, _adcs, _enc, clock = make_device(8, 100, 0, ring_slots=slots)
    s = dev.sampler
    ring = dev.ring
    dev.start(LINK_SERIAL)  # and no serial link drains the ring
    batch = s.batch
    for _ in range(packets * batch):
        s.poll()
        clock.advance(s.period_us)
    kept = []
    pkt = ring.peek()
    while pkt is not None:
        kept.append(packet_fields(pkt, 8))
        ring.pop()
        pkt = ring.peek()
    st = dev.update_status()
    return {
        "batch": batch,
        "pending_seqs": [f["seq"] for f in kept],
        "dropped_flags": [f["flags"] & wire.F_DROPPED for f in kept],
        "dropped_samples": ring.dropped_samples,
        "status_dropped": st.samples_dropped,
        "samples_total": st.samples_total,
    }


def ring_resize():
    # PacketRing.resize: the unsent packets move to the new slots, oldest first; those beyond
    # the new count (the oldest) or longer than a new slot are counted as dropped.
    from legpress_fw.ring import PacketRing

    out = {}
    ring = PacketRing(4, 40)
    ring.configure(40)
    for i in range(3):
        buf = ring.writable()
        buf[0] = i
        ring.commit(20 + i, 1 + i)  # packets of 20, 21, 22 bytes, 1, 2, 3 samples
    ring.resize(6, 30)
    out["grown"] = [ring.slots, ring.slot_size, ring.pending(), ring.dropped_samples]
    out["grown_packets"] = []
    while ring.pending():
        pkt = ring.peek()
        out["grown_packets"].append([len(pkt), pkt[0]])
        ring.pop()
    for i in range(5):
        ring.writable()[0] = 10 + i
        ring.commit(10 + 5 * i, 1)  # 10, 15, 20, 25, 30 bytes
    ring.resize(3, 20)  # room for 2: the 3 oldest go, and of the rest the 25 and 30 too long
    out["shrunk"] = [ring.slots, ring.pending(), ring.dropped_samples, ring.dropped_pending]
    return out


def ring_fits_the_stream():
    # The device's ring holds 0.5 s at the stream's rate, in slots of one packet: made anew
    # when a rate set at run time (or a smaller MTU) needs more, keeping what was unsent.
    from fw_rigs import BLERig

    out = {}
    rig = BLERig(8, 100)
    rig.dev.sampler.use_timer()  # the timer's pool, as on the device, is made anew with the ring

    def shape():
        ring = rig.dev.ring
        pool = rig.dev.sampler._pool
        return [ring.slots, ring.slot_size, len(pool[0]) if pool else 0]

    out["boot"] = shape()
    rig.connect(247)
    rig.write(wire.CMD_START)
    rig.run(30)
    out["streaming_100"] = shape()
    rig.ble.fail_notify(1000000)  # a stall: packets wait in the ring...
    rig.run(20)
    waiting = rig.dev.ring.pending()
    rig.write(wire.CMD_SET_RATE, struct.pack("<H", 400))  # ... across the new ring
    out["waiting_moved"] = [waiting, rig.dev.ring.pending()]
    out["streaming_400"] = shape()
    rig.run(400 * 3 // 10)  # the stall goes on, 0.5 s in all: held
    rig.ble._fail = []
    rig.run(40)
    st = rig.dev.update_status()
    fields = [packet_fields(p, 8) for p in rig.stream()]
    out["dropped"] = st.samples_dropped
    out["lost"] = st.samples_total - sum(f["records"] for f in fields)
    out["batch"] = rig.dev.sampler.batch
    rig.write(wire.CMD_SET_RATE, struct.pack("<H", 100))
    out["back_to_100"] = shape()  # kept: no churn
    return out
