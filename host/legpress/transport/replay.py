"""``replay:FILE``: a recording played back as if it were the device.

As fast as the consumer takes it (default), or paced like the original session with
``realtime=1`` (``speed`` scales the pace). Packets keep their recorded host times, so a replay
decodes to exactly the samples of the live session; recorded link losses come back as
``Disconnected``/``Connected`` events.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from legpress.errors import RecordingError
from legpress.storage.recording import RecordingReader, RecordKind
from legpress.transport.base import (
    Connected,
    Disconnected,
    LinkEnd,
    LinkFailed,
    LinkSink,
    RawPacket,
    link_event_from_record,
)
from legpress.transport.local import LocalLink


class ReplayLink(LocalLink):
    """Plays a recording.

    Args:
        url: the URL, for messages.
        path: the recording.
        realtime: pace packets like the original session.
        speed: pace multiplier with ``realtime`` (2 = twice as fast).
    """

    scheme = "replay"
    not_open_error = RecordingError

    def __init__(self, url: str, path: str, *, realtime: bool = False, speed: float = 1.0) -> None:
        super().__init__(url)
        self.path = Path(path).expanduser()
        self.realtime = realtime
        self.speed = speed
        self._reader: RecordingReader | None = None
        self._clock_ns = 0

    @property
    def reader(self) -> RecordingReader:
        """The recording being played (after :meth:`open`)."""
        if self._reader is None:
            raise RecordingError(f"{self.url} is not open")
        return self._reader

    async def open(self, sink: LinkSink) -> None:
        """Read the recording's header and start playing."""
        if not str(self.path):
            raise RecordingError("replay: needs a file, e.g. replay:session.lprec")
        self._reader = await asyncio.to_thread(RecordingReader, self.path)
        t0 = self._reader.header.get("t0_host_ns")
        self._clock_ns = t0 if isinstance(t0, int) else 0
        self._start(
            sink,
            self._reader.info_body,
            "a recording",
            str(self.path),
            self._run(sink),
            name=f"legpress-replay:{self.path}",
        )

    async def _run(self, sink: LinkSink) -> None:
        try:
            await self._play(sink)
        except Exception as exc:  # a bug must end the session, not hang it
            sink.put(LinkFailed(RecordingError(f"replay of {self.path} failed: {exc!r}")))

    async def _play(self, sink: LinkSink) -> None:
        assert self._reader is not None
        stats = self.stats
        t_first: int | None = None
        start_ns = time.monotonic_ns()
        for i, rec in enumerate(self._reader.records()):
            if t_first is None:
                t_first = rec.t_host_ns
            await self._pace(sink, start_ns + (rec.t_host_ns - t_first) / self.speed, i)
            self._clock_ns = rec.t_host_ns
            if rec.kind is RecordKind.DEVICE:
                stats.packets += 1
                stats.bytes += len(rec.payload)
                sink.put(RawPacket(rec.t_host_ns, rec.payload))
            elif rec.kind is RecordKind.EVENT:
                event = link_event_from_record(rec.t_host_ns, rec.event())
                if isinstance(event, Disconnected):
                    stats.disconnects += 1
                    sink.put(event)
                elif isinstance(event, Connected) and event.reconnect:
                    stats.reconnects += 1
                    sink.put(event)
        self.stats.connected = False
        sink.put(LinkEnd(self.now_ns()))

    def now_ns(self) -> int:
        """The recording's clock: the time of the record played last."""
        return self._clock_ns

    def describe(self) -> str:
        """The recording's file name."""
        return str(self.path)
