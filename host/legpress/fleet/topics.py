"""The topic tree and payloads of docs/mqtt.md (version :data:`VERSION`), sans-I/O.

Every topic starts with the broker URL's prefix ``P`` and the hub's id ``H``; machine topics add
the machine's id ``M`` (a slug of its name)::

    P/H/status            "online" / "offline"      retained, QoS 1; the last will says offline
    P/H/hub               the hub: machines, counters retained, QoS 1
    P/H/M/state           the machine's state         retained, QoS 1
    P/H/M/summary         figures since the hub start retained, QoS 1
    P/H/M/event           an alert                    QoS 1, unique "id"
    P/H/M/rep             a completed rep             QoS 1, unique "id"
    P/H/M/session         a session started or ended  QoS 1, unique "id"
    P/H/M/calibration     what a calibration learned  QoS 1, unique "id"
    P/H/M/cmd             commands in: start, stop, calibrate, tare, zero, assign
    P/H/M/person/set      plain-text person in (Home Assistant's text entity)
    P/H/M/reply           the answer to each command  QoS 1

JSON payloads are UTF-8 objects with ``"v": VERSION``.
"""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from typing import Any, Final, Literal

from legpress.errors import UsageError
from legpress.hub.bus import json_ready

__all__ = [
    "COMMANDS",
    "MACHINE_KINDS",
    "MAX_COMMAND_BYTES",
    "VERSION",
    "Command",
    "Route",
    "Topics",
    "dumps",
    "parse_command",
    "parse_person_text",
    "parse_topic",
]

#: The payload version. A change that breaks a reader bumps it; readers ignore unknown keys.
VERSION: Final = 1
#: Commands a machine takes.
COMMANDS: Final = ("start", "stop", "calibrate", "tare", "zero", "assign")
_WORDS: Final = frozenset(COMMANDS) - {"assign"}  # commands that take no argument
#: A command longer than this is refused unread.
MAX_COMMAND_BYTES: Final = 4096
_MAX_PERSON_CHARS: Final = 100
#: Topics under a machine that carry data out of a hub.
MACHINE_KINDS: Final = ("state", "summary", "event", "rep", "session", "calibration", "reply")

ONLINE: Final = "online"
OFFLINE: Final = "offline"


@dataclass(frozen=True, slots=True)
class Topics:
    """The topics of one hub.

    Attributes:
        prefix: the broker URL's prefix.
        hub: the hub's id (a slug of its name).
    """

    prefix: str
    hub: str

    @property
    def base(self) -> str:
        """``P/H``."""
        return f"{self.prefix}/{self.hub}"

    @property
    def status(self) -> str:
        """The hub's availability (``online``/``offline``, the last will)."""
        return f"{self.base}/status"

    @property
    def info(self) -> str:
        """The hub's description and counters."""
        return f"{self.base}/hub"

    def machine(self, machine_id: str, kind: str) -> str:
        """``P/H/M/kind``."""
        return f"{self.base}/{machine_id}/{kind}"

    @property
    def commands(self) -> str:
        """The subscription for every machine's commands."""
        return f"{self.base}/+/cmd"

    @property
    def person_set(self) -> str:
        """The subscription for every machine's plain-text person."""
        return f"{self.base}/+/person/set"


@dataclass(frozen=True, slots=True)
class Route:
    """A topic taken apart (see :func:`parse_topic`).

    Attributes:
        hub: the hub's id.
        machine: the machine's id, or None for hub topics.
        kind: ``status``, ``hub``, or one of :data:`MACHINE_KINDS`, ``cmd``, ``person/set``.
    """

    hub: str
    machine: str | None
    kind: str


def parse_topic(prefix: str, topic: str) -> Route | None:
    """The route of ``topic`` under ``prefix``, or None if it is not one of ours."""
    head = prefix + "/"
    if not topic.startswith(head):
        return None
    parts = topic[len(head) :].split("/")
    if len(parts) == 2 and parts[1] in ("status", "hub"):
        return Route(parts[0], None, parts[1])
    if len(parts) == 3 and parts[2] in (*MACHINE_KINDS, "cmd"):
        return Route(parts[0], parts[1], parts[2])
    if len(parts) == 4 and parts[2:] == ["person", "set"]:
        return Route(parts[0], parts[1], "person/set")
    return None


def dumps(payload: dict[str, Any]) -> bytes:
    """A payload as strict UTF-8 JSON (non-finite numbers become null)."""
    return json.dumps(
        json_ready(payload), allow_nan=False, separators=(",", ":"), default=str
    ).encode()


@dataclass(frozen=True, slots=True)
class Command:
    """A command for a machine.

    Attributes:
        command: ``start``, ``stop``, ``calibrate`` (the person on the machine, 3 slow reps),
            ``tare`` (the back pad, nobody on it), ``zero`` (the sled, at the top) or
            ``assign``.
        person: for ``assign``: who (None: nobody known).
        id: the sender's id for it, echoed in the reply (None if it gave none).
    """

    command: Literal["start", "stop", "calibrate", "tare", "zero", "assign"]
    person: str | None = None
    id: str | None = None


def _check_person(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise UsageError(f"'person' must be a name or null, not {type(value).__name__}")
    name = value.strip()
    if not name:
        return None
    if len(name) > _MAX_PERSON_CHARS:
        raise UsageError(f"'person' is longer than {_MAX_PERSON_CHARS} characters")
    if any(unicodedata.category(c).startswith("C") for c in name):
        raise UsageError("'person' holds control characters")
    return name


def _text(payload: bytes) -> str:
    if len(payload) > MAX_COMMAND_BYTES:
        raise UsageError(f"the command is {len(payload)} bytes; at most {MAX_COMMAND_BYTES}")
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError("the command is not UTF-8 text") from None


_HOW: Final = (
    'send {"command": "start"}, {"command": "stop"}, {"command": "calibrate"}, '
    '{"command": "tare"}, {"command": "zero"} or {"command": "assign", "person": "Ana"} '
    "(or the bare word start, stop, calibrate, tare or zero)"
)


def parse_command(payload: bytes) -> Command:
    """A command from a ``cmd`` payload: a JSON object or a bare word (``start``, ``stop``,
    ``calibrate``, ``tare``, ``zero``).

    Raises:
        UsageError: what is wrong with it, and what to send instead.
    """
    text = _text(payload).strip()
    if text.lower() in _WORDS:
        return Command(text.lower())  # type: ignore[arg-type]
    try:
        data = json.loads(text)
    except ValueError:
        raise UsageError(f"the command is not JSON: {_HOW}") from None
    if not isinstance(data, dict):
        raise UsageError(f"the command must be a JSON object: {_HOW}")
    cid = data.get("id")
    if cid is not None and not isinstance(cid, (str, int)):
        raise UsageError("'id' must be a string or a number")
    cid = str(cid)[:100] if cid is not None else None
    name = data.get("command")
    if not isinstance(name, str) or name.strip().lower() not in COMMANDS:
        raise UsageError(f"unknown command {name!r}: {_HOW}")
    word = name.strip().lower()
    if word == "assign":
        if "person" not in data:
            raise UsageError('"assign" needs "person": a name, or null for nobody')
        return Command("assign", _check_person(data["person"]), cid)
    return Command(word, None, cid)  # type: ignore[arg-type]


def parse_person_text(payload: bytes) -> Command:
    """An ``assign`` from a ``person/set`` payload: the name as plain text (empty: nobody).

    Raises:
        UsageError: not a usable name.
    """
    return Command("assign", _check_person(_text(payload)))
