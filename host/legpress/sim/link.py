"""Link effects between the radio and the application: latency, loss, duplicates, reordering,
and the device-to-host clock ([I] except where noted in docs/simulator.md).

Packets leave the simulated radio at connection events (device clock). On the host they
arrive ``latency_ms`` (plus jitter) later on the host clock, which runs at a crystal error of
a few ppm against the device's; the stack delivers in order. Losses come in bursts (a
two-state Gilbert-Elliott channel with mean burst length ``loss_burst_len``); a duplicated
packet arrives twice; a delayed packet is held ``reorder_delay_ms`` so later packets overtake
it. Output is in arrival order.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from legpress.sim.params import LinkParams


@dataclass(slots=True)
class ChannelStats:
    """What the link did.

    Attributes:
        sent: packets the radio sent.
        delivered: packets the host received (duplicates included).
        lost: packets lost.
        duplicated: extra copies delivered.
        delayed: packets held back so that later ones could overtake them.
    """

    sent: int = 0
    delivered: int = 0
    lost: int = 0
    duplicated: int = 0
    delayed: int = 0


class LinkChannel:
    """Turns radio sends ``(send_us, packet)`` into host arrivals ``(t_host_ns, packet)``.

    Args:
        params: link parameters.
        rng: generator (six draws per packet, whatever happens, so one effect's setting does not
            change another's draws).
        clock_ppm: device crystal error against the host clock.
    """

    def __init__(self, params: LinkParams, rng: np.random.Generator, clock_ppm: float) -> None:
        self.params = params
        self.rng = rng
        self.scale = 1.0 + clock_ppm * 1e-6
        self.stats = ChannelStats()
        p_bg = 1.0 / max(params.loss_burst_len, 1.0)
        q = min(max(params.loss_prob, 0.0), 0.95)
        self.p_good_to_bad = q * p_bg / (1.0 - q)
        self.p_bad_to_good = p_bg

    def host_ns(self, device_us: float) -> int:
        """Host clock (ns) at a device instant (elapsed microseconds)."""
        return self.params.host_start_ns + round(device_us * 1000.0 * self.scale)

    def deliver(self, sent: Iterable[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
        """Apply the link to the radio's sends, lazily, yielding arrivals in order."""
        p = self.params
        heap: list[tuple[int, int, bytes]] = []
        order = 0
        bad = False
        in_order = 0
        lat_ns = p.latency_ms * 1e6
        jit_ns = p.latency_jitter_ms * 1e6
        hold_ns = p.reorder_delay_ms * 1e6
        stats = self.stats
        for send_us, data in sent:
            now = self.host_ns(send_us)
            while heap and heap[0][0] <= now:
                t, _, d = heapq.heappop(heap)
                stats.delivered += 1
                yield t, d
            stats.sent += 1
            u = self.rng.random(6)
            bad = (u[0] >= self.p_bad_to_good) if bad else (u[0] < self.p_good_to_bad)
            if bad:
                stats.lost += 1
                continue
            # The BLE stack delivers notifications in order: jitter never reorders by itself.
            t = max(now + int(lat_ns + jit_ns * -np.log1p(-u[1])), in_order)
            in_order = t
            if u[2] < p.reorder_prob:
                t += int(hold_ns * (0.5 + u[3]))
                stats.delayed += 1
            heapq.heappush(heap, (t, order, data))
            order += 1
            if u[4] < p.dup_prob:
                heapq.heappush(heap, (t + int(1e6 + 20e6 * u[5]), order, data))
                order += 1
                stats.duplicated += 1
        while heap:
            t, _, d = heapq.heappop(heap)
            stats.delivered += 1
            yield t, d
