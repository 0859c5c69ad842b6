"""Where the broker is: ``mqtt://user:password@host:port/prefix`` parsed into a
:class:`BrokerConfig` (sans-I/O: nothing here opens a socket)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import unquote, urlsplit

from legpress.errors import UsageError

__all__ = [
    "DEFAULT_OUTBOX_MAX",
    "DEFAULT_PREFIX",
    "PASSWORD_ENV",
    "BrokerConfig",
    "parse_broker_url",
    "slug",
]

#: The topic prefix unless the URL gives one.
DEFAULT_PREFIX: Final = "legpress"
#: The password, when the URL names a user but no password (keeps it out of ``ps``).
PASSWORD_ENV: Final = "LEGPRESS_MQTT_PASSWORD"
#: QoS 1 messages kept for the broker while it is away (events, reps, sessions): about 3 days
#: of one machine in constant use, or a few hours of a full site; past that, the oldest unsent
#: messages are refused and counted (see docs/mqtt.md).
DEFAULT_OUTBOX_MAX: Final = 10_000
_TOPIC_WORD: Final = re.compile(r"^[^#+/\x00]+$")


def slug(name: str) -> str:
    """A topic-safe word for ``name`` ("Leg press 2" -> "leg-press-2")."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "x"


@dataclass(frozen=True, slots=True)
class BrokerConfig:
    """How to reach the MQTT broker.

    Attributes:
        host: the broker's name or address.
        port: its port (1883 for ``mqtt://``, 8883 for ``mqtts://`` unless given).
        prefix: the first level of every topic (``legpress``); may hold several levels
            (``gyms/north``).
        username: the broker account (None: anonymous; then commands are not accepted).
        password: its password.
        tls: connect with TLS (``mqtts://``).
        ca_file: the CA certificate(s) that signed the broker's certificate (None: the system's).
        cert_file: a client certificate, for brokers that ask for one.
        key_file: its private key.
        keepalive_s: seconds between pings when nothing else is sent; the broker declares the
            client gone (and publishes its last will) after 1.5 times this without a word.
        reconnect_min_s: the first wait before reconnecting (doubles after each failure).
        reconnect_max_s: the longest wait.
        outbox_max: QoS 1 messages kept while the broker is away (see :data:`DEFAULT_OUTBOX_MAX`).
    """

    host: str
    port: int = 1883
    prefix: str = DEFAULT_PREFIX
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    keepalive_s: int = 30
    reconnect_min_s: int = 1
    reconnect_max_s: int = 30
    outbox_max: int = DEFAULT_OUTBOX_MAX

    def __post_init__(self) -> None:
        if not self.host:
            raise UsageError("the MQTT broker URL needs a host: mqtt://HOST:PORT/PREFIX")
        if not 0 < self.port < 65536:
            raise UsageError(f"MQTT port must be 1-65535, got {self.port}")
        words = self.prefix.split("/")
        if not all(_TOPIC_WORD.match(w) for w in words):
            raise UsageError(
                f"MQTT topic prefix {self.prefix!r} is not usable: levels separated by '/', "
                "without '+', '#' or empty levels"
            )
        if not 5 <= self.keepalive_s <= 3600:
            raise UsageError("MQTT keepalive must be 5-3600 s")
        if not 1 <= self.reconnect_min_s <= self.reconnect_max_s:
            raise UsageError("MQTT reconnect waits: 1 s <= min <= max")
        # paho numbers messages with 16 bits; a queue at least that long could reuse a number.
        if not 1 <= self.outbox_max <= 60_000:
            raise UsageError(f"the MQTT outbox holds 1-60000 messages, got {self.outbox_max}")
        for name in ("ca_file", "cert_file", "key_file"):
            path = getattr(self, name)
            if path is not None and not Path(path).is_file():
                raise UsageError(f"{name.replace('_', ' ')} {path} does not exist")
        if (self.cert_file is None) != (self.key_file is None):
            raise UsageError("a client certificate needs both the certificate and its key")
        if (self.ca_file or self.cert_file) and not self.tls:
            raise UsageError("certificates are for TLS: use an mqtts:// URL")

    @property
    def url(self) -> str:
        """The broker URL without the password (for logs and pages)."""
        user = f"{self.username}@" if self.username else ""
        scheme = "mqtts" if self.tls else "mqtt"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{user}{host}:{self.port}/{self.prefix}"


def parse_broker_url(
    url: str,
    *,
    ca_file: str | os.PathLike[str] | None = None,
    cert_file: str | os.PathLike[str] | None = None,
    key_file: str | os.PathLike[str] | None = None,
    outbox_max: int = DEFAULT_OUTBOX_MAX,
) -> BrokerConfig:
    """``mqtt://[user[:password]@]host[:port][/prefix]`` (``mqtts://`` for TLS).

    User and password may be percent-encoded (``p%40ss`` for ``p@ss``). A user without a
    password takes it from ``$LEGPRESS_MQTT_PASSWORD``; with neither, a user is refused unless
    a client certificate identifies it (``user:@`` is an empty password).

    Raises:
        UsageError: not such a URL, a user without a password, or a file named is missing.
    """
    text = url.strip()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise UsageError(
            f"MQTT URL {url!r}: {exc}; use mqtt://user:pass@host:1883/prefix"
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in ("mqtt", "mqtts"):
        raise UsageError(
            f"MQTT URL {url!r}: use mqtt://user:pass@host:1883/prefix (or mqtts:// for TLS)"
        )
    if parts.query or parts.fragment:
        raise UsageError(f"MQTT URL {url!r}: no '?' or '#' parts (give TLS files as options)")
    tls = scheme == "mqtts"
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password is not None else None
    if username and password is None:
        password = os.environ.get(PASSWORD_ENV) or None
        if password is None and not cert_file:
            # The broker would refuse it at every reconnection, long after the start.
            raise UsageError(
                f"MQTT URL {url!r} names the user {username!r} without a password: put it in "
                f"${PASSWORD_ENV} (kept out of the process list), or in the URL "
                f"(mqtt://{username}:PASSWORD@...); mqtt://{username}:@... sends an empty one"
            )
    prefix = parts.path.strip("/") or DEFAULT_PREFIX
    return BrokerConfig(
        host=parts.hostname or "",
        port=port or (8883 if tls else 1883),
        prefix=unquote(prefix),
        username=username,
        password=password,
        tls=tls,
        ca_file=Path(ca_file) if ca_file else None,
        cert_file=Path(cert_file) if cert_file else None,
        key_file=Path(key_file) if key_file else None,
        outbox_max=outbox_max,
    )
