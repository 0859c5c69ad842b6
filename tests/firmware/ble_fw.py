# BLE scenarios for test_ble.py: the real radio.py and ble_link.py over the fake `bluetooth`.
#
# A scenario builds the firmware from its real modules with hand-written fakes, runs it and
# returns a JSON-able dict; the test next to this file runs it under CPython and under
# MicroPython (this directory mounted at /tf) and asserts on the result.

import os
import struct
from binascii import unhexlify

import wire
from fw_rigs import BLERig, packet_fields, stream_summary


def ble_batching(mtu, rate_hz, cells, seconds=2):
    rig = BLERig(cells, rate_hz)
    rig.connect(mtu)
    rig.subscribe(rig.radio.h_stream)  # invisible on NimBLE; START implies it
    rig.write(wire.CMD_START)
    rig.run(rate_hz * seconds)
    out = stream_summary(rig, cells, compact=rig.dev.compact)
    out["per_second"] = out["packets"] // seconds
    out["compact"] = rig.dev.compact
    out["faults"] = rig.dev.faults()
    out["info"] = rig.info()
    out["start_result"] = rig.replies()[0]["result"]
    if rig.dev.compact and rig.stream():
        # First record, decoded: cells >> 4, position i16.
        p = rig.stream()[0]
        out["compact_cells"] = [p[9 + c] for c in range(cells)]
        out["compact_position"] = struct.unpack_from("<h", p, 9 + cells)[0]
        out["adc"] = [a.v for a in rig.adcs]
    return out


def ble_mtu_too_small(cells=10):
    rig = BLERig(cells, 100)
    rig.connect()  # no MTU exchange: 23
    rig.subscribe(rig.radio.h_stream)
    rig.write(wire.CMD_START)
    rig.run(100)
    before = {
        "packets": len(rig.stream()),
        "faults": rig.dev.faults(),
        "running": rig.dev.sampler.running,
    }
    rig.ble.exchange_mtu(0, 247)
    rig.service()
    rig.run(100)
    after = stream_summary(rig, cells)
    after["faults"] = rig.dev.faults()
    return {"before": before, "after": after, "start": rig.replies()[0]["result"]}


def ble_subscriptions_nimble():
    rig = BLERig(8, 100)
    h_stream, h_status = rig.radio.h_stream, rig.radio.h_status
    rig.connect(247)
    rig.run(100)  # connected, nothing asked: nothing sent
    idle = len(rig.stream())
    rig.dev.update_status()
    rig.link.send_status()  # nobody subscribed to status: the stack sends nothing
    status_unsubscribed = len(rig.sent(h_status))
    rig.subscribe(h_status)
    rig.link.send_status()
    status_subscribed = len(rig.sent(h_status))
    rig.subscribe(h_stream)
    rig.write(wire.CMD_START)
    rig.run(100)
    streaming = len(rig.stream())
    rig.write(wire.CMD_STOP)
    rig.run(100)
    after_stop = len(rig.stream())
    return {
        "idle": idle,
        "status_unsubscribed": status_unsubscribed,
        "status_subscribed": status_subscribed,
        "streaming": streaming,
        "after_stop": after_stop,
        "unsolicited": len(rig.ble.unsolicited),
        "replies": [r["result"] for r in rig.replies()],
    }


def ble_subscriptions_cccd():
    # A stack that reports CCCD writes: they alone decide.
    rig = BLERig(8, 100, cccd_events=True)
    h_stream = rig.radio.h_stream
    rig.connect(247)
    rig.subscribe(rig.radio.h_control)
    rig.write(wire.CMD_START)  # not subscribed to the stream yet
    rig.run(100)
    before = len(rig.stream())
    rig.subscribe(h_stream)
    rig.run(100)
    subscribed = len(rig.stream())
    rig.subscribe(h_stream, on=False)  # unsubscribing stops the stream
    rig.run(100)
    return {
        "before": before,
        "subscribed": subscribed,
        "after_unsubscribe": len(rig.stream()),
        "streaming_after": rig.dev.want_stream,
        "unsolicited": len(rig.ble.unsolicited),
        "replies": len(rig.replies()),
    }


def ble_reconnect():
    rig = BLERig(8, 100)
    ble = rig.ble
    out = {"adverts_at_start": len(ble.adverts), "advertising_at_start": ble.advertising}
    adv = ble.adverts[-1]
    out["adv_len"] = len(adv[1])
    out["resp_len"] = len(adv[2])
    uuid = bytes(reversed(unhexlify("6c7000019b5e4d3a8f1c2e4a6b8c0d1e")))
    out["adv_has_uuid"] = uuid in adv[1]
    out["resp_name"] = bytes(adv[2][2:]).decode()
    rig.connect(247)
    out["advertising_connected"] = ble.advertising
    rig.write(wire.CMD_START)
    rig.run(40)
    out["first_session"] = len(rig.stream())
    ble.disconnect(0)
    rig.service()
    out["advertising_after_disconnect"] = ble.advertising
    out["adverts_after_disconnect"] = len(ble.adverts)
    out["streaming_after_disconnect"] = rig.dev.want_stream
    out["ring_after_disconnect"] = rig.dev.ring.pending()
    rig.run(40)  # nothing runs while nobody is connected
    out["samples_while_away"] = rig.dev.sampler.running
    rig.connect(247)
    rig.write(wire.CMD_START)
    rig.run(40)
    pkts = rig.stream()
    second = pkts[out["first_session"] :]
    out["second_session"] = len(second)
    out["second_first_flags"] = second[0][2] if second else None
    st = rig.dev.update_status()
    out["connections"] = st.connections
    out["link"] = st.link
    out["mtu"] = st.mtu
    # A disconnect and a new connection between two steps are both seen.
    ble.disconnect(0)
    ble.connect(0)
    rig.service()
    out["quick_reconnect_connected"] = rig.dev.ble_connected
    out["quick_reconnect_streaming"] = rig.dev.want_stream
    out["connections_final"] = rig.dev.update_status().connections
    return out


def ble_link_lost_mid_packet():
    # The link goes with a packet partly filled (42 samples: 10 sent, 2 in the next one) and
    # one the stack refused (ENOMEM) still waiting: both are forgotten, counted as dropped.
    rig = BLERig(8, 100)
    rig.connect(247)
    rig.write(wire.CMD_START)
    rig.run(40)
    sent = len(rig.stream())
    rig.ble.fail_notify(3)  # each of the 3 tries while the 6 samples are taken
    rig.run(6)  # one more packet, refused, and 2 samples of the next
    waiting = rig.dev.ring.pending()
    rig.ble.disconnect(0)
    rig.service()
    out = {"sent": sent, "waiting": waiting, "ring_after": rig.dev.ring.pending()}
    out["dropped"] = rig.dev.update_status().samples_dropped
    rig.connect(247)
    rig.write(wire.CMD_START)
    rig.run(8)
    second = rig.stream()[sent:]
    out["second_first_flags"] = second[0][2] if second else None
    out["second_flags"] = [pkt[2] for pkt in second[1:]]
    # START again while a refused packet and a partly filled one wait: forgotten, counted.
    sent = len(rig.stream())
    rig.ble.fail_notify(3)
    rig.run(6)
    rig.write(wire.CMD_START)
    rig.run(4)
    out["dropped_after_restart"] = rig.dev.update_status().samples_dropped
    third = rig.stream()[sent:]
    out["third_flags"] = [pkt[2] for pkt in third]
    return out


def ble_enomem(failures, ring_slots=None, samples=200, recover=True):
    rig = BLERig(8, 100, ring_slots=ring_slots)
    rig.connect(247)
    rig.write(wire.CMD_START)
    rig.ble.fail_notify(failures)
    raised = None
    try:
        rig.run(samples)
        if recover:
            rig.ble._fail = []
            rig.run(samples)
    except Exception as e:
        raised = repr(e)
    pkts = rig.stream()
    fields = [packet_fields(p, 8) for p in pkts]
    seqs = [f["seq"] for f in fields]
    gaps = 0
    for i in range(1, len(seqs)):
        gaps += (seqs[i] - seqs[i - 1] - 1) & 0xFFFF
    st = rig.dev.update_status()
    return {
        "raised": raised,
        "received": len(pkts),
        "seq_gaps": gaps,
        "enomem": st.notify_enomem,
        "dropped_samples": st.samples_dropped,
        "dropped_flags": sum(1 for f in fields if f["flags"] & wire.F_DROPPED),
        "samples_total": st.samples_total,
        "received_samples": sum(f["records"] for f in fields),
        "pending": rig.dev.ring.pending(),
        "packets_sent": st.packets_sent,
        "send_errors": rig.link.send_errors,
    }


def ble_ring_stall(rate_hz, cells, stall_ms):
    # A link that stalls but stays up: every notification refused (ENOMEM) for stall_ms of
    # samples, then the stack takes them again. The ring (device.ring_slots_for) holds them.
    rig = BLERig(cells, rate_hz)
    rig.connect(247)
    rig.write(wire.CMD_START)
    rig.run(rate_hz // 10)
    rig.ble.fail_notify(1000000)
    rig.run(rate_hz * stall_ms // 1000)
    rig.ble._fail = []
    rig.run(rate_hz // 2)
    fields = [packet_fields(p, cells) for p in rig.stream()]
    st = rig.dev.update_status()
    return {
        "slots": len(rig.dev.ring._slots),
        "dropped_samples": st.samples_dropped,
        "samples_total": st.samples_total,
        "received_samples": sum(f["records"] for f in fields),
        "batch": rig.dev.sampler.batch,
    }


def ble_info_and_security():
    rig = BLERig(8, 100, security="bonded")
    defn = rig.ble.services[0][1]
    out = {"control_flags": defn[3][1], "stream_flags": defn[0][1], "info_flags": defn[1][1]}
    out["info_boot"] = rig.info()
    rig.connect(247)
    out["info_mtu"] = rig.info()
    # The fake stack delivers writes over an unencrypted link: the firmware refuses them itself.
    rig.write(wire.CMD_SET_RATE, struct.pack("<H", 200))
    out["unencrypted_replies"] = len(rig.replies())
    out["unencrypted_bad_commands"] = rig.dev.bad_commands
    out["unencrypted_period_us"] = rig.info()["period_us"]
    rig.ble.inject(28, (0, 1, 0, 1, 16))  # _IRQ_ENCRYPTION_UPDATE: encrypted, bonded
    rig.write(wire.CMD_SET_RATE, struct.pack("<H", 200))
    out["info_rate"] = rig.info()
    out["replies"] = [r["result"] for r in rig.replies()]
    # The control value holds the whole last reply (for a host whose MTU cuts notifications).
    out["control_value_is_reply"] = bytes(rig.ble.values[rig.radio.h_control]) == bytes(
        rig.sent(rig.radio.h_control)[-1]
    )
    # Bond keys: the stack hands them over in IRQs; the housekeeping task saves them; a new
    # radio (after a reset) hands them back.
    radio = rig.radio
    ok = rig.ble.inject(30, (1, memoryview(b"peer-addr"), memoryview(b"long-term-key")))
    out["set_secret"] = ok
    out["dirty"] = radio.secrets_dirty
    radio.save_secrets()
    rig2 = BLERig(8, 100, security="bonded")
    out["get_secret"] = bytes(rig2.ble.inject(29, (1, 0, memoryview(b"peer-addr")))).decode()
    out["get_by_index"] = bytes(rig2.ble.inject(29, (1, 0, None))).decode()
    out["get_missing"] = rig2.ble.inject(29, (2, 0, None))
    os.remove("/tmp/legpress-test-secrets.json")
    return out


def ble_security_levels():
    # Passkey: authenticated pairing only; the device answers NimBLE's display request with
    # the code from config.json. REPL and FORGET_BONDS are refused over BLE in every mode.
    out = {}
    rig = BLERig(8, 100, security="passkey", passkey=402913)
    ble = rig.ble
    out["control_flags"] = ble.services[0][1][3][1]
    dis_uuid, dis_chars = ble.services[1]
    out["dis"] = [repr(dis_uuid)] + [repr(u) for u, _flags in dis_chars]
    dis_handles = sorted(ble.values)[-4:]  # the last service registered
    out["dis_values"] = [bytes(ble.values[h]).decode() for h in dis_handles]
    rig.connect(247)
    out["passkey_answer"] = ble.inject(31, (0, 3, 0))  # _IRQ_PASSKEY_ACTION, display
    out["passkeys"] = [list(p) for p in ble.passkeys]
    ble.inject(28, (0, 1, 0, 1, 16))  # encrypted but not authenticated (Just Works)
    rig.write(wire.CMD_IDENTIFY, b"\x02")
    out["just_works_replies"] = len(rig.replies())
    ble.inject(28, (0, 1, 1, 1, 16))  # encrypted and authenticated (passkey entry)
    rig.write(wire.CMD_IDENTIFY, b"\x02")
    rig.write(wire.CMD_REPL)
    rig.write(wire.CMD_FORGET_BONDS)
    out["replies"] = [[r["command"], r["result"]] for r in rig.replies()]
    out["pending"] = rig.dev.pending
    out["bad_commands"] = rig.dev.bad_commands
    return out
