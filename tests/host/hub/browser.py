"""Headless Chromium for the browser tests: Debian's ``chromium`` driven by Playwright.

Playwright's own browser download is not used (it is not reachable everywhere); its Python
package drives the system's Chromium through ``executable_path``. Without either the tests
are skipped with a note, except under ``CI=true``, where they fail: CI must run them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def in_ci() -> bool:
    """Whether this is CI (``CI=true``), where nothing may be skipped."""
    return os.environ.get("CI", "").lower() in ("true", "1", "yes")


def chromium_path() -> str | None:
    """The system's Chromium, if installed."""
    for name in ("chromium", "chromium-browser", "google-chrome", "chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def unavailable(message: str) -> None:
    """Skip the test for want of ``message``'s tool, or fail under CI."""
    if in_ci():
        pytest.fail(f"CI=true but {message}")
    pytest.skip(message)


def require_chromium() -> str:
    """The Chromium executable, or skip (fail under CI) saying how to get it."""
    found = chromium_path()
    if found is None:
        unavailable("headless Chromium is not installed (Debian: apt-get install chromium)")
    assert found is not None
    return found


def require_playwright() -> Any:
    """``playwright.sync_api``, or skip (fail under CI)."""
    try:
        from playwright import sync_api
    except ImportError:
        unavailable("the playwright package is not installed (pip install -e '.[dev]')")
    return sync_api


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(args: list[str], tmp: Path, timeout_s: float = 30.0) -> Iterator[tuple[str, str]]:
    """``legpress serve ARGS`` in a subprocess; yields its base URL and token."""
    port = free_port()
    token_file = tmp / "hub-token"
    log = (tmp / "serve.log").open("w")
    cmd = [
        sys.executable,
        "-m",
        "legpress.cli",
        "serve",
        "--port",
        str(port),
        "--token-file",
        str(token_file),
        "--db",
        str(tmp / "legpress.db"),
        *args,
    ]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"legpress serve exited: {(tmp / 'serve.log').read_text()}")
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"legpress serve did not start: {(tmp / 'serve.log').read_text()}"
                )
            time.sleep(0.1)
        yield base, token_file.read_text().strip()
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
