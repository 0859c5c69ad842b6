"""A stream the device restarted (RESTART): what was lost before it is counted, a reboot's new
numbering is accepted, live and in a batch alike."""

from __future__ import annotations

from dataclasses import replace

from legpress.protocol.decoder import Decoder, Gap
from legpress.protocol.messages import Reply
from legpress.protocol.spec import Command, Flag, Result
from tests.host.transport.fake_legpress import INFO, FakeLegPress

PERIOD_US = 10_000


def _status(dev: FakeLegPress, dropped: int) -> bytes:
    return replace(dev.status(), samples_dropped=dropped).to_bytes(dev.next_seq(), dev.t_us)


def _status_reply(dev: FakeLegPress, dropped: int) -> bytes:
    body = replace(dev.status(), samples_dropped=dropped).body()
    return Reply(7, Command.GET_STATUS, Result.OK, body, dev.next_seq(), dev.t_us).to_bytes()


def _link_lost(dropped_before: int | None, dropped_after: int | None) -> list[bytes]:
    """Three packets, a STATUS, a fourth; the link goes with a fifth (2 samples) unsent; the
    host reads STATUS after reconnecting and restarts the stream 3 s later."""
    dev = FakeLegPress(info=replace(INFO, period_us=PERIOD_US))
    packets = [dev.info_message()]
    packets += [dev.samples(4) for _ in range(3)]
    if dropped_before is not None:
        packets.append(_status(dev, dropped_before))
    packets.append(dev.samples(4))
    dev.skip(1, 2)  # the partly filled packet the device forgot when the link went
    dev.t_us += 3_000_000  # stopped until the host came back and sent START
    if dropped_after is not None:
        packets.append(_status_reply(dev, dropped_after))
    dev._restart = True
    packets.append(dev.samples(4, flags=Flag.DROPPED))
    return packets


def _gaps_live_and_batch(packets: list[bytes]) -> tuple[list[Gap], list[Gap], Decoder]:
    live = Decoder()
    gaps = [out for p in packets for out in live.feed(p) if isinstance(out, Gap)]
    batch = Decoder()
    _, batch_gaps = batch.decode_batch(packets)
    return gaps, batch_gaps, live


def test_packets_lost_before_a_restart_are_a_gap_with_the_devices_count() -> None:
    gaps, batch_gaps, dec = _gaps_live_and_batch(_link_lost(5, 7))
    assert gaps == batch_gaps == [Gap(0.16, 1, 2)]  # 1 packet, the 2 samples the device dropped
    assert dec.stats.lost_packets == 1 and dec.stats.gaps == 1
    assert dec.stats.restarts == 2 and dec.stats.samples == 20


def test_without_the_devices_count_only_the_packets_are_known() -> None:
    gaps, batch_gaps, _ = _gaps_live_and_batch(_link_lost(None, 7))
    assert gaps == batch_gaps == [Gap(0.16, 1, 0)]
    gaps, _, _ = _gaps_live_and_batch(_link_lost(5, None))
    assert gaps == [Gap(0.16, 1, 0)]


def test_a_reboots_new_numbering_is_accepted_not_late() -> None:
    dev = FakeLegPress(info=replace(INFO, period_us=PERIOD_US), seq=1000)
    packets = [dev.info_message(), dev.samples(4), dev.samples(4)]
    rebooted = FakeLegPress(info=replace(INFO, period_us=PERIOD_US))  # seq 0, RESTART
    packets += [rebooted.info_message(), rebooted.samples(4), rebooted.samples(4)]
    gaps, batch_gaps, dec = _gaps_live_and_batch(packets)
    assert gaps == batch_gaps == []
    assert dec.stats.late == 0 and dec.stats.samples == 16
