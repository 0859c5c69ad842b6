"""Session recordings: every raw packet with its host receive time (docs/recording-format.md).

A recording is append-only::

    LEGPRESS-RECORDING 1\\n                   magic line
    {"format": "legpress-recording", ...}\\n  JSON header, one line
    record, record, ...                      until the end of the file

    record = u32 size | u8 kind | i64 t_host_ns | payload (size bytes) | u32 crc32
             (little-endian; the CRC covers the 13 bytes before the payload and the payload)

:class:`RecordingWriter` makes the file crash-safe: records go to the operating system every
0.05 s and to the disk (``fsync``) every 0.25 s from background threads, so an interruption
loses at most :data:`KILL_LOSS_S` (0.5 s), and a torn last record is detected by its CRC and
skipped by :class:`RecordingReader` (counted in :class:`ReadStats`).
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import platform
import struct
import threading
import time
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from legpress.closing import Closing
from legpress.dsp.calibration import Calibration
from legpress.errors import ProtocolError, RecordingError
from legpress.protocol.decoder import Decoder, DecoderStats, Gap, SampleBlock
from legpress.protocol.messages import DeviceInfo
from legpress.storage.resync import RecordScanner
from legpress.version import __version__

__all__ = [
    "END_MARK",
    "FORMAT_VERSION",
    "KILL_LOSS_S",
    "MAGIC",
    "Damage",
    "DecodedRecording",
    "ReadStats",
    "Record",
    "RecordKind",
    "Recording",
    "RecordingReader",
    "RecordingWriter",
    "decode_recording",
    "is_recording",
    "make_header",
    "read_recording",
]

_log = logging.getLogger(__name__)
#: Damage already logged (file, description): a file read twice is not said twice.
_SAID: set[tuple[str, str]] = set()

FORMAT_VERSION: Final = 1
MAGIC: Final = b"LEGPRESS-RECORDING 1\n"
FORMAT_NAME: Final = "legpress-recording"
_REC: Final = struct.Struct("<IBq")
_CRC: Final = struct.Struct("<I")
_REC_SIZE: Final = _REC.size  # 13
_MAX_PAYLOAD: Final = 1 << 20
_MAX_HEADER: Final = 1 << 20


class RecordKind(IntEnum):
    """What a record holds."""

    #: A message from the device (a packet), as received.
    DEVICE = 0
    #: A message sent to the device (a ``COMMAND``).
    HOST = 1
    #: A link event as a UTF-8 JSON object, e.g. ``{"type": "disconnected", "reason": "..."}``.
    EVENT = 2


#: The last record of a recording that was closed: an :attr:`RecordKind.EVENT` the reader
#: takes away. A file whose header says ``"end_mark": true`` and that lacks it was cut short
#: or interrupted, even where the cut fell exactly between two records.
END_MARK: Final = b'{"type":"end"}'


@dataclass(frozen=True, slots=True)
class Record:
    """One record of a recording.

    Attributes:
        kind: what it holds.
        t_host_ns: host time (``time.monotonic_ns()`` of the recording host).
        payload: the bytes.
    """

    kind: RecordKind
    t_host_ns: int
    payload: bytes

    def event(self) -> dict[str, Any]:
        """The JSON object of an :attr:`RecordKind.EVENT` record (empty if malformed)."""
        try:
            obj = json.loads(self.payload.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return {}
        return obj if isinstance(obj, dict) else {}


def _info_summary(info: DeviceInfo) -> dict[str, Any]:
    return {
        "body_hex": info.body().hex(),
        "name": info.name,
        "device_id": bytes(info.device_id).hex(":"),
        "fw_version": ".".join(str(v) for v in info.fw_version),
        "n_cells": info.n_cells,
        "period_us": info.period_us,
        "rate_hz": info.rate_hz,
        "encoder_counts_per_m": info.encoder_counts_per_m,
        "position_sensor": info.position_sensor.name.lower(),
        "cell_pitch_mm": info.cell_pitch_mm,
        "batch_samples": info.batch_samples,
        "mtu": info.mtu,
        "tare": list(info.tare),
    }


def make_header(
    info: DeviceInfo,
    *,
    url: str = "",
    calibration: Calibration | Mapping[str, Any] | None = None,
    person: str | None = None,
    machine: str | None = None,
    extra: Mapping[str, Any] | None = None,
    t0_host_ns: int | None = None,
) -> dict[str, Any]:
    """The JSON header of a new recording.

    Args:
        info: the device's ``DEVICE_INFO`` (stored as hex bytes plus a readable summary).
        url: the device URL the session was opened with.
        calibration: the calibration in use, if any.
        person: who trained (a name or an id), if known.
        machine: which leg press, if known.
        extra: more JSON-serialisable fields (they must not replace the standard ones).
        t0_host_ns: the host monotonic clock at creation (default: now).

    Returns:
        A JSON-ready dict.
    """
    now = _dt.datetime.now(_dt.UTC)
    if isinstance(calibration, Calibration):
        calibration = calibration.to_dict()
    header: dict[str, Any] = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "created": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "created_unix_ns": time.time_ns(),
        "t0_host_ns": time.monotonic_ns() if t0_host_ns is None else t0_host_ns,
        "clock": "monotonic_ns",
        "url": url,
        "device_info": _info_summary(info),
        "calibration": dict(calibration) if calibration is not None else None,
        "person": person,
        "machine": machine,
        "host": {
            "legpress": _version(),
            "python": platform.python_version(),
            "platform": platform.platform(terse=True),
        },
    }
    for key, value in (extra or {}).items():
        if key in header and key not in ("person", "machine", "calibration"):
            raise RecordingError(f"header field {key!r} is reserved")
        header[key] = value
    return header


def _version() -> str:
    return __version__


def _encode_record(kind: int, t_host_ns: int, payload: bytes) -> bytes:
    head = _REC.pack(len(payload), kind, t_host_ns)
    crc = zlib.crc32(payload, zlib.crc32(head))
    return head + payload + _CRC.pack(crc)


#: The promise: an interruption (a kill, a crash, a power loss) loses at most this much of a
#: recording. Records reach the operating system every :data:`WRITE_INTERVAL_S` (what a killed
#: or crashed process can lose) and the disk every :data:`SYNC_INTERVAL_S` (what a power loss
#: can lose); the margin is for a loaded machine. Tested with real ``SIGKILL``\\ s under load.
KILL_LOSS_S: Final = 0.5
WRITE_INTERVAL_S: Final = 0.05
SYNC_INTERVAL_S: Final = 0.25


class RecordingWriter(Closing):
    """Appends records to a new recording, crash-safe.

    :meth:`write_packet` only appends to a memory buffer (cheap, safe from the event loop). A
    background thread writes the buffer to the file every ``write_interval_s``, and another
    ``fsync``\\ s the file every ``sync_interval_s``, so neither a slow disk nor a slow ``fsync``
    ever blocks :meth:`write_packet`, and a slow ``fsync`` does not hold back the writes. After
    a ``SIGKILL`` or a crash at most :data:`KILL_LOSS_S` of records is lost.

    Args:
        path: the file to create.
        header: the JSON header (see :func:`make_header`).
        sync_interval_s: how often the file is ``fsync``\\ ed to the disk.
        write_interval_s: longest time a record stays only in this process's memory.
        overwrite: replace an existing file instead of refusing.

    Raises:
        RecordingError: the file exists (without ``overwrite``) or cannot be created.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        header: Mapping[str, Any],
        *,
        sync_interval_s: float = SYNC_INTERVAL_S,
        write_interval_s: float = WRITE_INTERVAL_S,
        overwrite: bool = False,
    ) -> None:
        self.path = Path(path)
        self.header = dict(header)
        self.header["end_mark"] = True  # close() ends the file with END_MARK (see the reader)
        self.records = 0
        self.bytes = 0
        self._sync_interval_s = sync_interval_s
        self._write_interval_s = min(write_interval_s, sync_interval_s)
        self._buf = bytearray()
        self._lock = threading.Lock()  # the buffer and the state
        self._io = threading.Lock()  # keeps writes to the file in order
        self._wake = threading.Event()
        self._closed = False
        self._error: BaseException | None = None
        self._last_t_host_ns = int(self.header.get("t0_host_ns", 0) or 0)
        try:
            head = MAGIC + json.dumps(self.header, separators=(",", ":")).encode() + b"\n"
        except (TypeError, ValueError) as exc:
            raise RecordingError(f"recording header is not JSON-serialisable: {exc}") from None
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_BINARY", 0)
        flags |= os.O_TRUNC if overwrite else os.O_EXCL
        try:
            self._fd = os.open(self.path, flags, 0o644)
        except FileExistsError:
            raise RecordingError(
                f"{self.path} already exists: choose another name, or overwrite it (--overwrite)"
            ) from None
        except OSError as exc:
            raise RecordingError(f"cannot create recording {self.path}: {exc.strerror}") from None
        try:
            self._write_all(head)
            os.fsync(self._fd)
            _fsync_dir(self.path.parent)
        except OSError as exc:
            os.close(self._fd)
            raise RecordingError(f"cannot write recording {self.path}: {exc.strerror}") from None
        name = self.path.name
        self._threads = [
            threading.Thread(target=self._run_writes, name=f"legpress-write:{name}", daemon=True),
            threading.Thread(target=self._run_syncs, name=f"legpress-sync:{name}", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def write_packet(
        self, t_host_ns: int, payload: bytes, kind: RecordKind = RecordKind.DEVICE
    ) -> None:
        """Append one packet (device → host by default).

        Raises:
            RecordingError: the writer is closed, or an earlier write to disk failed.
        """
        if len(payload) > _MAX_PAYLOAD:
            raise RecordingError(f"record of {len(payload)} bytes is too large")
        rec = _encode_record(kind, t_host_ns, payload)
        with self._lock:
            self._check()
            self._buf += rec
            self.records += 1
            self.bytes += len(rec)
            self._last_t_host_ns = t_host_ns

    def write_event(self, t_host_ns: int, event: Mapping[str, Any]) -> None:
        """Append a link event (a JSON object with at least ``"type"``)."""
        payload = json.dumps(dict(event), separators=(",", ":")).encode()
        self.write_packet(t_host_ns, payload, RecordKind.EVENT)

    def flush(self) -> None:
        """Write everything buffered to the file and the disk now.

        Raises:
            RecordingError: the write failed.
        """
        with self._lock:
            self._check()
        try:
            self._write_pending()
            os.fsync(self._fd)
        except OSError as exc:
            self._fail(exc)
            raise RecordingError(f"cannot write recording {self.path}: {exc}") from None

    def close(self) -> None:
        """Flush and close. Safe to call twice.

        Raises:
            RecordingError: the last write failed.
        """
        with self._lock:
            if self._closed:
                return
            if self._error is None:  # on the last record's clock: one clock per file
                self._buf += _encode_record(RecordKind.EVENT, self._last_t_host_ns, END_MARK)
            self._closed = True
        self._wake.set()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=5)
        try:
            if self._error is None:
                self._write_pending()
                os.fsync(self._fd)
        except OSError as exc:
            self._fail(exc)
        finally:
            os.close(self._fd)
        if self._error is not None:
            raise RecordingError(f"cannot write recording {self.path}: {self._error}") from None

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    # -- internals -------------------------------------------------------------------------

    def _check(self) -> None:
        if self._closed:
            raise RecordingError(f"recording {self.path} is closed")
        if self._error is not None:
            raise RecordingError(f"cannot write recording {self.path}: {self._error}")

    def _fail(self, exc: OSError) -> None:
        with self._lock:
            if self._error is None:
                self._error = exc
                _log.error("recording %s: write failed: %s", self.path, exc)

    def _write_all(self, data: bytes | bytearray) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]

    def _write_pending(self) -> None:
        """Hand the buffered records to the operating system, in order."""
        with self._io:
            with self._lock:
                data = bytes(self._buf)
                self._buf.clear()
            if data:
                self._write_all(data)

    def _run_writes(self) -> None:
        while not self._wake.wait(self._write_interval_s):
            if self._error is not None:
                return
            try:
                self._write_pending()
            except OSError as exc:
                self._fail(exc)
                return

    def _run_syncs(self) -> None:
        while not self._wake.wait(self._sync_interval_s):
            if self._error is not None:
                return
            try:
                os.fsync(self._fd)
            except OSError as exc:
                self._fail(exc)
                return


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class Damage:
    """One stretch of a recording that could not be read.

    Attributes:
        offset: where it starts, in bytes from the start of the file.
        length: how many bytes were skipped.
        torn: a last record cut short because the recording was interrupted (a kill, a power
            loss), rather than damage to bytes that had been written whole.
        after_t_host_ns: the time of the last good record before it (None at the start).
    """

    offset: int
    length: int
    torn: bool = False
    after_t_host_ns: int | None = None


@dataclass(slots=True)
class ReadStats:
    """What reading a recording found.

    Attributes:
        records: good records read.
        corrupt_records: damaged stretches skipped (a bad CRC or length), in the middle of the
            file or at its end; reading resumes at the next whole record after each.
        skipped_bytes: bytes thrown away with them.
        truncated_bytes: bytes of a torn last record (the writer was killed mid-record);
            ignored.
        damage: every skipped stretch, in file order (where, how long).
        unfinished_at: the byte where a recording that should end with its end mark stops
            without it (cut short or interrupted), else None.
    """

    records: int = 0
    corrupt_records: int = 0
    skipped_bytes: int = 0
    truncated_bytes: int = 0
    damage: list[Damage] = field(default_factory=list)
    unfinished_at: int | None = None

    @property
    def damaged(self) -> bool:
        """True if anything was skipped, or the end of the recording is missing."""
        return bool(self.corrupt_records or self.truncated_bytes or self.unfinished_at is not None)

    def describe(self, t0_host_ns: int | None = None) -> str:
        """One line on what was skipped and where, or ``""``.

        Args:
            t0_host_ns: with it, each place also says how far into the session it is.
        """
        parts = []
        stretches = [d for d in self.damage if not d.torn]

        def at(d: Damage) -> str:
            text = f"{d.length} at byte {d.offset}"
            if t0_host_ns is not None and d.after_t_host_ns is not None:
                text += f" ({max(0.0, (d.after_t_host_ns - t0_host_ns) / 1e9):.1f} s in)"
            return text

        if stretches:
            where = ", ".join(at(d) for d in stretches[:3])
            if len(stretches) > 3:
                where += f", and {len(stretches) - 3} more"
            parts.append(
                f"{len(stretches)} damaged stretch{'es' if len(stretches) > 1 else ''} "
                f"skipped ({self.skipped_bytes} bytes: {where}); {self.records} good "
                "records kept"
            )
        torn = [d for d in self.damage if d.torn]
        if torn:
            parts.append(
                f"the last record was torn ({self.truncated_bytes} bytes ignored at byte "
                f"{torn[0].offset}; the recording was interrupted)"
            )
        elif self.unfinished_at is not None:
            parts.append(
                f"the recording stops at byte {self.unfinished_at} without its end mark "
                "(it was interrupted or cut short)"
            )
        return "; ".join(parts)

    def _skip(self, offset: int, length: int, t_host_ns: int | None, torn: bool = False) -> None:
        self.damage.append(Damage(offset, length, torn, t_host_ns))
        if torn:
            self.truncated_bytes += length
        else:
            self.corrupt_records += 1
            self.skipped_bytes += length


class RecordingReader:
    """Reads a recording's header and records.

    Args:
        path: the recording.

    Raises:
        RecordingError: missing, unreadable, not a recording, or a damaged header.

    Attributes:
        path: the file.
        header: the JSON header.
        info: the device's ``DEVICE_INFO`` from the header.
        info_body: the same, as the message body bytes stored in the header.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self._data = self.path.read_bytes()
        except FileNotFoundError:
            raise RecordingError(f"recording {self.path} not found") from None
        except IsADirectoryError:
            raise RecordingError(f"{self.path} is a directory, not a recording") from None
        except OSError as exc:
            raise RecordingError(f"cannot read recording {self.path}: {exc.strerror}") from None
        self._stats: ReadStats | None = None
        self._cached: list[tuple[int, int, int, int]] | None = None
        self.header, self._start = self._parse_header()
        self.info_body = b""
        self.info = self._parse_info()

    @property
    def stats(self) -> ReadStats:
        """What reading the records found: good records, and every damaged stretch skipped."""
        self._index()
        assert self._stats is not None
        return self._stats

    # -- header -----------------------------------------------------------------------------

    def _parse_header(self) -> tuple[dict[str, Any], int]:
        data = self._data
        if not data.startswith(MAGIC):
            if data.startswith(b"LEGPRESS-RECORDING "):
                version = data[19:].split(b"\n", 1)[0].decode("ascii", "replace")
                raise RecordingError(
                    f"{self.path} is a version {version} recording; this legpress reads "
                    f"version {FORMAT_VERSION}: update legpress"
                )
            what = "empty" if not data else "not a legpress recording"
            raise RecordingError(f"{self.path} is {what}")
        end = data.find(b"\n", len(MAGIC), len(MAGIC) + _MAX_HEADER)
        if end < 0:
            raise RecordingError(f"{self.path} is truncated inside its header")
        try:
            header = json.loads(data[len(MAGIC) : end].decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RecordingError(f"{self.path} has a damaged header: {exc}") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
            raise RecordingError(f"{self.path} has a damaged header (no format field)")
        return header, end + 1

    def _parse_info(self) -> DeviceInfo:
        try:
            self.info_body = bytes.fromhex(self.header["device_info"]["body_hex"])
            return DeviceInfo.from_body(self.info_body)
        except (KeyError, TypeError, ValueError, ProtocolError) as exc:
            raise RecordingError(
                f"{self.path} has a damaged header (device_info: {exc})"
            ) from None

    @property
    def calibration(self) -> Calibration | None:
        """The calibration stored in the header, if any.

        Raises:
            ConfigError: it is malformed.
        """
        cal = self.header.get("calibration")
        return Calibration.from_dict(cal) if isinstance(cal, dict) else None

    @property
    def url(self) -> str:
        """The URL the session was recorded from."""
        return str(self.header.get("url", ""))

    # -- records ----------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Record]:
        return self.records()

    def records(self) -> Iterator[Record]:
        """Every good record in order; damage is skipped and counted in :attr:`stats`."""
        data = self._data
        for kind, t, start, end in self._index():
            yield Record(RecordKind(kind), t, data[start:end])

    def _index(self) -> list[tuple[int, int, int, int]]:
        """(kind, t_host_ns, payload start, payload end) of every good record.

        One pass; after damage, :class:`~legpress.storage.resync.RecordScanner` finds the next
        whole record with a valid CRC, whatever its time, in time linear in the file, so
        damage costs the damaged records only.
        """
        if self._cached is not None:
            return self._cached
        stats = ReadStats()
        data = self._data
        n = len(data)
        pos = self._start
        unpack = _REC.unpack_from
        crc_unpack = _CRC.unpack_from
        crc32 = zlib.crc32
        mv = memoryview(data)
        out: list[tuple[int, int, int, int]] = []
        keep = out.append
        limit = n - _REC_SIZE - 4
        scanner: RecordScanner | None = None
        last_t: int | None = None
        while pos < n:
            if pos <= limit:
                size, kind, t = unpack(data, pos)
                end = pos + _REC_SIZE + size
                if (
                    size <= _MAX_PAYLOAD
                    and kind <= 2
                    and end + 4 <= n
                    and crc32(mv[pos:end]) == crc_unpack(data, end)[0]
                ):
                    keep((kind, t, pos + _REC_SIZE, end))
                    last_t = t
                    pos = end + 4
                    continue
            if scanner is None:
                scanner = RecordScanner(data, _MAX_PAYLOAD)
            nxt = scanner.next_record(pos + 1)
            if nxt is None:
                stats._skip(pos, n - pos, last_t, torn=self._torn(pos))
                break
            stats._skip(pos, nxt - pos, last_t)
            pos = nxt
        if out and out[-1][0] == RecordKind.EVENT and data[out[-1][2] : out[-1][3]] == END_MARK:
            out.pop()  # (anything after it was skipped above, and is reported)
        elif self.header.get("end_mark") is True:
            last = stats.damage[-1] if stats.damage else None
            ends_damaged = last is not None and last.offset + last.length == n
            stats.unfinished_at = last.offset if last is not None and ends_damaged else n
        stats.records = len(out)
        if stats.damaged:
            said = (str(self.path), stats.describe())
            if said not in _SAID:  # once per file and damage, however often it is read
                _SAID.add(said)
                _log.warning("%s: %s", *said, extra={"recording_damage": True})
        self._stats, self._cached = stats, out
        return out

    def _torn(self, pos: int) -> bool:
        """Whether the unreadable end from ``pos`` is one record cut short by an interruption:
        too short for a record header, or a plausible header whose record runs past the end."""
        n = len(self._data)
        if n - pos < _REC_SIZE + 4:
            return True
        size, kind, _ = _REC.unpack_from(self._data, pos)
        return bool(size <= _MAX_PAYLOAD and kind <= 2 and pos + _REC_SIZE + size + 4 > n)


@dataclass(slots=True)
class Recording:
    """A whole recording in memory.

    Attributes:
        path: the file.
        header: the JSON header.
        info: the device's ``DEVICE_INFO`` at the start.
        packets: device messages in arrival order.
        t_host_ns: their host receive times.
        host_packets: (time, bytes) of the commands sent to the device.
        events: (time, JSON object) of the link events (connections, losses).
        stats: what reading found.
    """

    path: Path
    header: dict[str, Any]
    info: DeviceInfo
    packets: list[bytes]
    t_host_ns: npt.NDArray[np.int64]
    host_packets: list[tuple[int, bytes]] = field(default_factory=list)
    events: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    stats: ReadStats = field(default_factory=ReadStats)

    @property
    def calibration(self) -> Calibration | None:
        """The calibration from the header, if any."""
        cal = self.header.get("calibration")
        return Calibration.from_dict(cal) if isinstance(cal, dict) else None

    @property
    def duration_s(self) -> float:
        """Host time from the first to the last device packet."""
        if len(self.t_host_ns) < 2:
            return 0.0
        return float(self.t_host_ns[-1] - self.t_host_ns[0]) / 1e9


def read_recording(path: str | os.PathLike[str]) -> Recording:
    """Read a whole recording.

    Raises:
        RecordingError: missing, unreadable, or not a recording. A torn last record is not an
            error: it is skipped and counted in ``stats.truncated_bytes``.
    """
    reader = RecordingReader(path)
    data = reader._data
    index = reader._index()
    packets = [data[start:end] for kind, _, start, end in index if kind == 0]
    times = [t for kind, t, _, _ in index if kind == 0]
    host = [(t, data[start:end]) for kind, t, start, end in index if kind == 1]
    events = [
        (t, Record(RecordKind.EVENT, t, data[start:end]).event())
        for kind, t, start, end in index
        if kind == 2 and data[start:end] != END_MARK
    ]
    return Recording(
        reader.path,
        reader.header,
        reader.info,
        packets,
        np.asarray(times, np.int64),
        host,
        events,
        reader.stats,
    )


@dataclass(slots=True)
class DecodedRecording:
    """A recording decoded at once.

    Attributes:
        recording: the raw recording.
        samples: every sample.
        gaps: lost sample packets.
        stats: decoder counters.
    """

    recording: Recording
    samples: SampleBlock
    gaps: list[Gap]
    stats: DecoderStats


def decode_recording(source: str | os.PathLike[str] | Recording) -> DecodedRecording:
    """Read (if needed) and decode a recording in a few vectorised passes.

    Gives the same samples as replaying it through ``replay:`` and iterating: the decoder
    applies replies that change DEVICE_INFO (``SET_RATE``, ``GET_INFO``, ``TARE``) to the
    packets after them, as it does live.

    Raises:
        RecordingError: unreadable, or its packets cannot be decoded as one stream.
    """
    rec = source if isinstance(source, Recording) else read_recording(source)
    decoder = Decoder(rec.info)
    try:
        samples, gaps = decoder.decode_batch(rec.packets, rec.t_host_ns)
    except (ProtocolError, ValueError) as exc:
        raise RecordingError(f"{rec.path}: {exc}") from None
    return DecodedRecording(rec, samples, gaps, decoder.stats)


def is_recording(path: str | os.PathLike[str]) -> bool:
    """True if ``path`` is a readable file that starts like a legpress recording."""
    try:
        with open(path, "rb") as f:
            return f.read(len(MAGIC)) == MAGIC
    except OSError:
        return False
