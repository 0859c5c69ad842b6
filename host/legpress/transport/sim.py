"""``sim:OPTIONS``: the simulator as a device (e.g. ``sim:scenario=liftoff,seed=3,realtime=0``).

The simulator (:mod:`legpress.sim`) runs the firmware's own encoder, so its packets are the
device's bytes. This link streams them as fast as the consumer takes them, or paced in real time
with ``realtime=1``; commands that need no hardware are answered locally.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from legpress.errors import LegPressError, TransportError, UsageError
from legpress.protocol.spec import HEADER_SIZE, MsgType
from legpress.transport.base import LinkEnd, LinkFailed, LinkSink, RawPacket
from legpress.transport.local import LocalLink
from legpress.transport.url import as_bool


class SimLink(LocalLink):
    """The simulator, streaming.

    Args:
        url: the URL, for messages.
        spec: the text after ``sim:`` (the simulator's options).
        **overrides: options that override the URL's (``realtime``, ``seed``, ...).

    Raises:
        UsageError: the simulator rejects the options.
    """

    scheme = "sim"
    reads_info = True  # its first packet is DEVICE_INFO

    def __init__(self, url: str, spec: str, **overrides: Any) -> None:
        super().__init__(url)
        from legpress import sim

        try:
            params: dict[str, Any] = dict(sim.parse_sim_url(spec))
        except ValueError as exc:
            raise UsageError(f"{url}: {exc}") from None
        params.update({k: v for k, v in overrides.items() if v is not None})
        self.realtime = as_bool(params.pop("realtime", True), "realtime")
        name = str(params.pop("scenario", "") or sim.DEFAULT_SCENARIO)
        seed = params.pop("seed", 0)
        if params.get("duration_s") is None:
            params.pop("duration_s", None)
        try:
            self._scenario = sim.make_scenario(name, int(seed), **params)
        except (ValueError, TypeError, KeyError) as exc:
            raise UsageError(f"{url}: {exc}") from None
        self._packets: Iterator[tuple[int, bytes]] | None = None
        self._shift_ns = 0
        self._clock_ns = 0

    async def open(self, sink: LinkSink) -> None:
        """Start the simulation; its first packet is DEVICE_INFO."""
        packets = iter(self._scenario.stream(realtime=False))
        try:
            first_t, first = next(packets)
        except StopIteration:
            raise TransportError(f"{self.url} produced no packets") from None
        if len(first) < HEADER_SIZE or first[1] != MsgType.DEVICE_INFO:
            raise TransportError(f"{self.url}: the simulator did not start with DEVICE_INFO")
        # The simulated receive times, shifted to start at this host's monotonic clock now;
        # with realtime=0 they run ahead of it, and now_ns() follows them.
        self._shift_ns = time.monotonic_ns() - first_t
        self._clock_ns = first_t + self._shift_ns
        self._start(
            sink,
            first[HEADER_SIZE:],
            "the simulator",
            "sim",
            self._run(sink, first_t, first, packets),
            name=f"legpress-sim:{self.url}",
        )

    async def _run(
        self, sink: LinkSink, first_t: int, first: bytes, packets: Iterator[tuple[int, bytes]]
    ) -> None:
        try:
            await self._play(sink, first_t, first, packets)
        except LegPressError as exc:
            sink.put(LinkFailed(exc))
        except Exception as exc:  # a simulator bug must end the session, not hang it
            sink.put(LinkFailed(TransportError(f"the simulator failed: {exc!r}")))

    async def _play(
        self, sink: LinkSink, first_t: int, first: bytes, packets: Iterator[tuple[int, bytes]]
    ) -> None:
        stats = self.stats
        shift = self._shift_ns
        t, packet = first_t, first
        i = 0
        while True:
            await self._pace(sink, t + shift, i)
            stats.packets += 1
            stats.bytes += len(packet)
            self._clock_ns = t + shift
            sink.put(RawPacket(t + shift, packet))
            i += 1
            try:
                t, packet = next(packets)
            except StopIteration:
                break
        stats.connected = False
        sink.put(LinkEnd(self.now_ns()))

    def now_ns(self) -> int:
        """The host's monotonic clock in real time; with ``realtime=0`` the simulated one (the
        receive time of the latest packet), which runs faster."""
        return time.monotonic_ns() if self.realtime else self._clock_ns

    def describe(self) -> str:
        """``the simulator (sim:...)``."""
        return f"the simulator ({self.url})"
