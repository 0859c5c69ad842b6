"""Links to a leg press, opened by URL (``ble:``, ``serial:``, ``sim:``, ``replay:``).

Most code wants :func:`legpress.open_device`, which decodes; :func:`make_link` gives the raw
link underneath it. The URL syntax is described in :mod:`legpress.transport.url`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from legpress.errors import UsageError
from legpress.transport.base import (
    Connected,
    Disconnected,
    Link,
    LinkEnd,
    LinkFailed,
    LinkItem,
    LinkSink,
    LinkStats,
    RawPacket,
)
from legpress.transport.url import SCHEMES, DeviceURL, as_bool, as_float, merge_options, parse_url

if TYPE_CHECKING:
    from legpress.transport.ble import BackendPair

__all__ = [
    "SCHEMES",
    "Connected",
    "DeviceURL",
    "Disconnected",
    "Link",
    "LinkEnd",
    "LinkFailed",
    "LinkItem",
    "LinkSink",
    "LinkStats",
    "RawPacket",
    "make_link",
    "parse_url",
]

_BLE_OPTIONS = {
    "timeout": "seconds to scan, default 10",
    "reconnect": "1/0, reconnect after a loss, default 1",
    "reconnect_timeout": "seconds to keep trying, default forever",
    "pair": "1/0, pair before connecting, default 0",
    "passkey": "the 6-digit code on the device label: pair with passkey entry",
    "ble_backend": "(scanner, client) backend classes for bleak",
}
_SERIAL_OPTIONS = {
    "baudrate": "default 115200",
    "reconnect": "1/0, reopen the port after a loss, default 1",
    "reconnect_timeout": "seconds to keep trying, default forever",
}
_REPLAY_OPTIONS = {
    "realtime": "1/0, pace like the original session, default 0",
    "speed": "pace multiplier with realtime=1, default 1",
}


def _backend(value: object) -> BackendPair | None:
    if value is None:
        return None
    if (
        isinstance(value, tuple)
        and len(value) == 2
        and all(isinstance(cls, type) for cls in value)
    ):
        return value
    raise UsageError("ble_backend must be a (scanner class, client class) pair")


def _passkey(value: object) -> str | None:
    if value is None or value == "":
        return None
    text = str(value).strip()
    if len(text) != 6 or not text.isdigit():
        raise UsageError(
            f"passkey must be the 6 digits on the leg press label (e.g. 402913), got {value!r}"
        )
    return text


def _reconnect_timeout(opts: Mapping[str, object]) -> float | None:
    timeout = opts.get("reconnect_timeout")
    return None if timeout is None else as_float(timeout, "reconnect_timeout", 0.0)


def make_link(url: str, **options: Any) -> Link:
    """Create (not open) the link for ``url``.

    Args:
        url: ``ble:NAME-or-ADDRESS``, ``serial:PORT``, ``sim:OPTIONS`` or ``replay:FILE``.
        **options: link options; they override the URL's ``?key=value`` options.

    Raises:
        UsageError: unknown scheme or option, or a bad option value.
    """
    parsed = parse_url(url)
    if parsed.scheme == "ble":
        from legpress.transport.ble import BLELink

        opts = merge_options(parsed, options, _BLE_OPTIONS)
        return BLELink(
            url,
            parsed.target,
            scan_timeout_s=as_float(opts.get("timeout", 10.0), "timeout", 0.1),
            reconnect=as_bool(opts.get("reconnect", True), "reconnect"),
            reconnect_timeout_s=_reconnect_timeout(opts),
            pair=as_bool(opts.get("pair", False), "pair"),
            passkey=_passkey(opts.get("passkey")),
            backend=_backend(opts.get("ble_backend")),
        )
    if parsed.scheme == "serial":
        from legpress.transport.serial import SerialLink

        opts = merge_options(parsed, options, _SERIAL_OPTIONS)
        return SerialLink(
            url,
            parsed.target,
            baudrate=int(as_float(opts.get("baudrate", 115200), "baudrate", 1)),
            reconnect=as_bool(opts.get("reconnect", True), "reconnect"),
            reconnect_timeout_s=_reconnect_timeout(opts),
        )
    if parsed.scheme == "replay":
        from legpress.transport.replay import ReplayLink

        opts = merge_options(parsed, options, _REPLAY_OPTIONS)
        return ReplayLink(
            url,
            parsed.target,
            realtime=as_bool(opts.get("realtime", False), "realtime"),
            speed=as_float(opts.get("speed", 1.0), "speed", 1e-3),
        )
    from legpress.transport.sim import SimLink

    return SimLink(url, parsed.target, **options)
