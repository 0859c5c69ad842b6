"""``legpress`` in a child process, for what only a real process shows (Ctrl-C, SIGKILL)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def legpress_process(*args: str) -> subprocess.Popen[str]:
    """``python -m legpress.cli ARGS...`` from this checkout, unbuffered, pipes on
    stdout and stderr."""
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "legpress.cli", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
