"""Device URLs: ``scheme:target?key=value&key=value``.

=========================  ======================================================================
``ble:``                   the first leg press found over Bluetooth LE
``ble:NAME-or-ADDRESS``    a leg press by advertised name (``LegPress-3A7F``) or address
``serial:PORT``            USB serial (``serial:/dev/ttyUSB0``, ``serial:COM3``); ``serial:``
                           alone picks the only USB serial port present
``sim:OPTIONS``            the simulator, e.g. ``sim:scenario=liftoff,seed=3,realtime=0``
                           (options are the simulator's own, comma separated)
``replay:FILE``            a recording, as fast as possible; ``replay:FILE?realtime=1`` paces it
                           like the original session (``speed=2`` twice as fast)
=========================  ======================================================================

Everything after the first ``?`` is options for ``ble:``, ``serial:`` and ``replay:``; keyword
arguments of :func:`legpress.open_device` with the same names override them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from legpress.errors import UsageError

SCHEMES: Final = ("ble", "serial", "sim", "replay")
_SCHEME_HELP: Final = (
    "ble:NAME-or-ADDRESS (or ble: for the first found), serial:PORT, sim:OPTIONS, replay:FILE"
)
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True, slots=True)
class DeviceURL:
    """A parsed device URL.

    Attributes:
        text: the URL as given.
        scheme: ``ble``, ``serial``, ``sim`` or ``replay``.
        target: name or address, port, or file (for ``sim:`` everything after the colon).
        options: ``key=value`` options after ``?`` (not parsed for ``sim:``).
    """

    text: str
    scheme: str
    target: str
    options: dict[str, str] = field(default_factory=dict)


def parse_url(url: str) -> DeviceURL:
    """Split a device URL into scheme, target and options.

    Raises:
        UsageError: not a URL of a known scheme, or a malformed option.
    """
    scheme, sep, rest = url.partition(":")
    scheme = scheme.strip().lower()
    if not sep or scheme not in SCHEMES:
        hint = ""
        if url.endswith(".lprec"):
            hint = f" (did you mean replay:{url}?)"
        raise UsageError(f"unknown device URL {url!r}{hint}: use {_SCHEME_HELP}")
    if scheme == "sim":
        return DeviceURL(url, scheme, rest)
    target, q, query = rest.partition("?")
    options: dict[str, str] = {}
    if q:
        for part in query.split("&"):
            if not part:
                continue
            key, eq, value = part.partition("=")
            key = key.strip().lower()
            if not eq or not key:
                raise UsageError(f"malformed option {part!r} in {url!r}: use key=value")
            options[key] = value.strip()
    return DeviceURL(url, scheme, target.strip(), options)


def merge_options(
    url: DeviceURL, overrides: Mapping[str, object], allowed: Mapping[str, str]
) -> dict[str, object]:
    """URL options overridden by keyword options, checked against ``allowed`` (name → help).

    Raises:
        UsageError: an option the scheme does not know.
    """
    merged: dict[str, object] = dict(url.options)
    merged.update({k: v for k, v in overrides.items() if v is not None})
    unknown = sorted(set(merged) - set(allowed))
    if unknown:
        names = ", ".join(f"{k} ({v})" for k, v in allowed.items()) or "none"
        raise UsageError(f"{url.scheme}: does not take option {unknown[0]!r}; options: {names}")
    return merged


def as_bool(value: object, name: str) -> bool:
    """An option value as a bool (``1/0``, ``true/false``, ``yes/no``, ``on/off``).

    Raises:
        UsageError: not a boolean.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise UsageError(f"option {name}={value!r} must be 1 or 0")


def as_float(value: object, name: str, minimum: float | None = None) -> float:
    """An option value as a float, at least ``minimum``.

    Raises:
        UsageError: not a number, or too small.
    """
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise UsageError(f"option {name}={value!r} must be a number") from None
    if number != number or (minimum is not None and number < minimum):
        raise UsageError(f"option {name}={value!r} must be at least {minimum}")
    return number
