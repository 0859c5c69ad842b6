"""The counters of one device session."""

from __future__ import annotations

from dataclasses import dataclass

from legpress.protocol.decoder import DecoderStats
from legpress.transport.base import LinkStats

__all__ = ["DeviceStats"]


@dataclass(slots=True)
class DeviceStats:
    """Counters of one device session.

    Attributes:
        decoder: what the decoder saw (samples, lost packets, corrupt packets, ...).
        link: the link's counters (reconnects, MTU, serial framing, ...).
        commands: commands sent.
        command_errors: commands the device refused.
        command_timeouts: commands that got no reply in time.
        unmatched_replies: replies to no pending command (late after a timeout).
        items_dropped: items thrown away because nobody read them (``max_backlog``).
        recorded_records: records written to the recording.
    """

    decoder: DecoderStats
    link: LinkStats
    commands: int = 0
    command_errors: int = 0
    command_timeouts: int = 0
    unmatched_replies: int = 0
    items_dropped: int = 0
    recorded_records: int = 0

    @property
    def reconnects(self) -> int:
        """Reconnections after a loss of the link."""
        return self.link.reconnects
