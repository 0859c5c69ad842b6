"""Who may use the hub: one access token, a signed cookie for browsers, CSRF tokens for forms.

The token is made at the hub's first start and kept in a file only its owner can read
(:func:`load_or_create_token`). A browser signs in once with it (``/login``) and then carries a
cookie signed with a key derived from the token, so changing the token signs everyone out.
Scripts send ``Authorization: Bearer TOKEN`` instead. Every form carries a CSRF token bound
to the cookie, and cross-site requests are refused by their ``Origin``/``Sec-Fetch-Site``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from legpress.errors import ConfigError

__all__ = ["COOKIE", "Auth", "load_or_create_token", "same_origin"]

#: The browser cookie's name.
COOKIE: Final = "legpress_hub"
_COOKIE_MAX_AGE_S: Final = 30 * 24 * 3600
_MIN_TOKEN_CHARS: Final = 16


def load_or_create_token(path: Path, *, renew: bool = False) -> tuple[str, bool]:
    """The hub's access token from ``path``, made (random, 192 bits) if missing.

    Returns:
        The token and whether it was just made.

    Raises:
        ConfigError: the file cannot be read or written, or holds a token too short to be safe.
    """
    if not renew:
        try:
            token = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise ConfigError(f"cannot read the hub token {path}: {exc.strerror}") from None
        else:
            if len(token) < _MIN_TOKEN_CHARS:
                raise ConfigError(
                    f"the hub token in {path} is shorter than {_MIN_TOKEN_CHARS} characters: "
                    "put a longer one there, or start with --new-token"
                )
            return token, False
    token = secrets.token_urlsafe(24)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(token + "\n")
        tmp.replace(path)
    except OSError as exc:
        raise ConfigError(
            f"cannot write the hub token {path}: {exc.strerror}; choose another with --token-file"
        ) from None
    return token, True


def _sign(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


class Auth:
    """Checks tokens, cookies and CSRF tokens.

    Args:
        token: the access token.
    """

    cookie_max_age_s: Final = _COOKIE_MAX_AGE_S

    def __init__(self, token: str) -> None:
        self._token = token.encode()
        self._key = hashlib.sha256(b"legpress-hub-v1:" + self._token).digest()

    def token_ok(self, candidate: str | None) -> bool:
        """Whether ``candidate`` is the token (constant time)."""
        return candidate is not None and hmac.compare_digest(candidate.encode(), self._token)

    def bearer_ok(self, authorization: str | None) -> bool:
        """Whether an ``Authorization`` header carries the token."""
        if not authorization:
            return False
        scheme, _, value = authorization.partition(" ")
        return scheme.lower() == "bearer" and self.token_ok(value.strip())

    def new_cookie(self, now_s: float | None = None) -> str:
        """A fresh signed cookie value."""
        issued = int(time.time() if now_s is None else now_s)
        nonce = secrets.token_hex(8)
        return f"{issued}.{nonce}.{_sign(self._key, f'cookie:{issued}:{nonce}')}"

    def cookie_ok(self, value: str | None, now_s: float | None = None) -> bool:
        """Whether a cookie value was signed by this hub and has not expired."""
        if not value:
            return False
        parts = value.split(".")
        if len(parts) != 3 or not parts[0].isdigit():
            return False
        issued, nonce, sig = parts
        if not hmac.compare_digest(sig, _sign(self._key, f"cookie:{issued}:{nonce}")):
            return False
        age = (time.time() if now_s is None else now_s) - int(issued)
        return -300 <= age <= self.cookie_max_age_s

    def csrf_token(self, cookie: str) -> str:
        """The CSRF token of the forms shown to the holder of ``cookie``."""
        return _sign(self._key, f"csrf:{cookie}")

    def csrf_ok(self, cookie: str | None, candidate: str | None) -> bool:
        """Whether ``candidate`` is the CSRF token for ``cookie``."""
        if not cookie or not candidate:
            return False
        return hmac.compare_digest(candidate, self.csrf_token(cookie))


def same_origin(origin: str | None, host: str | None, scheme: str) -> bool:
    """Whether an ``Origin`` header names this server (``host`` as the request's ``Host``)."""
    if origin is None:
        return True  # not sent by browsers for same-origin GETs and by non-browser clients
    if not host or origin == "null":
        return False
    parts = urlsplit(origin)
    return parts.scheme == scheme and parts.netloc.lower() == host.lower()
