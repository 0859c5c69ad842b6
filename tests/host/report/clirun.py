"""Run ``legpress`` in-process and capture its exit code and output."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import pytest

from legpress.errors import LegPressError


def _fallback_main(argv: Sequence[str]) -> int:
    """Until ``legpress.cli.main`` exists: the store commands under the same rules (exit 0 ok,
    2 usage, LegPressError.exit_code otherwise, one-line errors)."""
    from legpress.cli import people, report, sessions

    parser = argparse.ArgumentParser(prog="legpress")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in (sessions, people, report):
        module.register(sub)
    args = parser.parse_args(list(argv))
    try:
        return int(args.func(args))
    except LegPressError as exc:
        print(f"legpress: {exc}", file=sys.stderr)
        return exc.exit_code


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``legpress ARGV...`` → (exit code, stdout, stderr)."""
    try:
        from legpress.cli.main import main
    except ImportError:
        main = _fallback_main
    capsys.readouterr()
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out, err = capsys.readouterr()
    return int(code or 0), out, err
