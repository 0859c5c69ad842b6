"""Export a session as JSON (to import elsewhere) or CSV (one row per rep, for spreadsheets),
and read a JSON export back."""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Final

from legpress.errors import ConfigError, FileError
from legpress.session import REP_METRICS, Session, jsonable
from legpress.storage.csvio import csv_cell

#: The ``format`` of a JSON export (and of :meth:`SessionStore.import_session` input).
EXPORT_FORMAT: Final = "legpress-session"
EXPORT_VERSION: Final = 1

#: Columns of the CSV export, one row per rep.
CSV_COLUMNS: Final = (
    "session",
    "person",
    "started_at",
    "set",
    "rep",
    *REP_METRICS,
    "events",
    "event_messages",
)


def session_json(session: Session) -> str:
    """The JSON export: :meth:`~legpress.session.Session.to_dict` with ``format`` and
    ``format_version``."""
    doc = {"format": EXPORT_FORMAT, "format_version": EXPORT_VERSION, **session.to_dict()}
    return json.dumps(jsonable(doc), indent=2, allow_nan=False) + "\n"


def session_csv(session: Session) -> str:
    """The CSV export: one row per rep (:data:`CSV_COLUMNS`; the rep's events as
    ``;``-separated types and `` | ``-separated messages; floats exact, with ``repr``; text a
    spreadsheet would run as a formula, such as a name ``=HYPERLINK(...)``, starts with ``'``)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    messages: dict[int, list[str]] = {}
    for e in session.events:
        messages.setdefault(e.rep, []).append(e.message)
    for r in session.reps:
        row: list[Any] = [
            session.id,
            session.person.name if session.person else "",
            session.started_at,
            r.set,
            r.index,
        ]
        d = r.to_dict()
        row += [d[name] for name in REP_METRICS]
        row.append(";".join(d["events"]))
        row.append(" | ".join(messages.get(r.index, [])))
        writer.writerow([csv_cell(v) for v in row])
    return buf.getvalue()


def write_export(text: str, out: str | os.PathLike[str] | IO[str]) -> None:
    """Write an export to a file path or an open text file.

    Raises:
        FileError: the file cannot be written.
    """
    if isinstance(out, (str, os.PathLike)):
        try:
            Path(out).write_text(text, encoding="utf-8", newline="")
        except OSError as exc:
            raise FileError(
                f"cannot write {out}: {exc.strerror or exc}; choose another file"
            ) from None
    else:
        out.write(text)


def session_from_export(data: Mapping[str, Any]) -> Session:
    """The session in a JSON export.

    Raises:
        ConfigError: not a legpress session export, written by a newer legpress, or malformed.
    """
    if data.get("format") != EXPORT_FORMAT:
        raise ConfigError("not a legpress session export (expected a JSON export)")
    version = data.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ConfigError(f"format_version must be a whole number, got {version!r}")
    if version > EXPORT_VERSION:
        raise ConfigError("the export was written by a newer legpress: upgrade legpress")
    _check_shape(data)
    session = Session.from_dict(data)
    indices = [r.index for r in session.reps]
    if len(set(indices)) != len(indices):
        twice = next(i for i in indices if indices.count(i) > 1)
        raise ConfigError(f"two reps have the index {twice}: each rep must have its own")
    return session


#: Fields of an export and the JSON types they may have (None: null is allowed too).
_FIELDS: Final[dict[str, tuple[type, ...]]] = {
    "started_at": (str,),
    "ended_at": (str, type(None)),
    "person": (str, type(None)),
    "machine": (str, type(None)),
    "reps": (list,),
    "events": (list,),
    "summary": (dict, type(None)),
    "config": (dict, type(None)),
    "calibration": (dict, type(None)),
    "notes": (str, type(None)),
}


def _check_shape(data: Mapping[str, Any]) -> None:
    """What the export must hold before its reps and events are read, each named when wrong.

    Raises:
        ConfigError: a field is missing, of the wrong type, or an unreadable time.
    """
    from datetime import datetime

    for name, types in _FIELDS.items():
        if name not in data and type(None) not in types:
            raise ConfigError(f"the export has no {name!r}: it is not a whole session export")
        value = data.get(name)
        if not isinstance(value, types):
            raise ConfigError(f"{name!r} is malformed: got {type(value).__name__} {value!r:.40}")
    for name in ("reps", "events"):
        for i, item in enumerate(data[name]):
            if not isinstance(item, dict):
                raise ConfigError(
                    f"{name}[{i}] is malformed: expected an object, got {item!r:.40}"
                )
    for name in ("started_at", "ended_at"):
        if data.get(name) is not None:
            try:
                datetime.fromisoformat(data[name])
            except ValueError:
                raise ConfigError(
                    f"{name!r} is not an ISO 8601 date and time: {data[name]!r}"
                ) from None
