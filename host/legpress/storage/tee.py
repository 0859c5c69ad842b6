"""The recording tee: a live session written to a recording as it happens.

:class:`~legpress.device.Device` hands the tee every packet from the device, every command it
sends and every link event, in the order they happen. The recording's header needs the
device's ``DEVICE_INFO``, so what comes before it waits in memory; :meth:`RecordingTee.start`
creates the file with :class:`~legpress.storage.recording.RecordingWriter` and writes it all.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from legpress.dsp.calibration import Calibration
from legpress.errors import RecordingError, UsageError
from legpress.protocol.messages import DeviceInfo
from legpress.storage.recording import RecordingWriter, RecordKind, make_header

__all__ = ["RecordingTee"]

_STANDARD = ("person", "machine", "calibration")


class RecordingTee:
    """Writes one session's traffic to a new recording.

    Args:
        path: the recording to create.
        header: more header fields: ``person``, ``machine``, ``calibration`` (a
            :class:`~legpress.dsp.calibration.Calibration` or dict), anything JSON.
        overwrite: allow replacing an existing file.

    Raises:
        RecordingError: the file exists (without ``overwrite``) or its directory does not; this
            is checked at once, before a connection that may take seconds.
        UsageError: ``calibration`` is neither a Calibration nor a dict.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        header: Mapping[str, Any] | None = None,
        *,
        overwrite: bool = False,
    ) -> None:
        self.path = os.fspath(path)
        self._extra = dict(header or {})
        calibration = self._extra.get("calibration")
        if calibration is not None and not isinstance(calibration, Calibration | Mapping):
            raise UsageError("header calibration must be a Calibration or a dict")
        self._overwrite = overwrite
        self._writer: RecordingWriter | None = None
        self._closed = False
        self._early: list[tuple[RecordKind, int, bytes | Mapping[str, Any]]] = []
        _check_new_file(self.path, overwrite)

    @property
    def records(self) -> int:
        """Records written so far (those waiting for :meth:`start` not included)."""
        return self._writer.records if self._writer is not None else 0

    def device(self, t_host_ns: int, packet: bytes) -> None:
        """A message from the device, as received."""
        self._put(RecordKind.DEVICE, t_host_ns, packet)

    def host(self, t_host_ns: int, packet: bytes) -> None:
        """A message sent to the device (a ``COMMAND``)."""
        self._put(RecordKind.HOST, t_host_ns, packet)

    def event(self, t_host_ns: int, record: Mapping[str, Any]) -> None:
        """A link event, in its record form (e.g. :meth:`legpress.Connected.to_record`)."""
        self._put(RecordKind.EVENT, t_host_ns, record)

    def start(self, info: DeviceInfo, url: str) -> None:
        """Create the file (header from ``info``) and write everything so far.

        Raises:
            RecordingError: the file cannot be created.
        """
        if self._writer is not None or self._closed:
            return
        extra = dict(self._extra)
        known = {k: extra.pop(k, None) for k in _STANDARD}
        person, machine = known["person"], known["machine"]
        self._writer = RecordingWriter(
            self.path,
            make_header(
                info,
                url=url,
                calibration=known["calibration"],
                person=None if person is None else str(person),
                machine=None if machine is None else str(machine),
                extra=extra,
            ),
            overwrite=self._overwrite,
        )
        early, self._early = self._early, []
        for kind, t, payload in early:
            self._write(kind, t, payload)

    def close(self) -> None:
        """Flush and close the file. Safe to call twice.

        Raises:
            RecordingError: the last write failed.
        """
        self._closed = True
        self._early = []
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()

    def _put(self, kind: RecordKind, t_host_ns: int, payload: bytes | Mapping[str, Any]) -> None:
        if self._closed:
            return
        if self._writer is None:
            self._early.append((kind, t_host_ns, payload))
        else:
            self._write(kind, t_host_ns, payload)

    def _write(self, kind: RecordKind, t_host_ns: int, payload: bytes | Mapping[str, Any]) -> None:
        assert self._writer is not None
        if isinstance(payload, Mapping):
            self._writer.write_event(t_host_ns, payload)
        else:
            self._writer.write_packet(t_host_ns, payload, kind)


def _check_new_file(target: str, overwrite: bool) -> None:
    if os.path.exists(target) and not overwrite:
        raise RecordingError(
            f"{target} already exists: choose another name, or overwrite it (--overwrite)"
        )
    parent = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(parent):
        raise RecordingError(f"cannot create recording {target}: no directory {parent}")
