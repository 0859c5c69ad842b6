"""The ``legpress`` command.

Every subcommand is a module of this package with a ``register(subparsers)`` function that adds
its parser and sets ``func`` (``func(args) -> int``). To add a command, write the module and add
its name to :data:`COMMANDS`.

Errors a user can act on (:class:`~legpress.errors.LegPressError`) print as one line,
``legpress: error: ...``, and exit with the error's ``exit_code``; Ctrl-C exits with 130. No
traceback is ever shown (set ``LEGPRESS_DEBUG=1`` to see one for an internal error).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
import textwrap
from typing import Any, Final

from legpress import __version__
from legpress.cli.exitcodes import EXIT_INTERNAL, EXIT_INTERRUPTED
from legpress.cli.exitcodes import table as exit_table
from legpress.errors import LegPressError

#: Subcommand modules of :mod:`legpress.cli`, in the order ``legpress --help`` lists them.
COMMANDS: Final[list[str]] = [
    "monitor",
    "analyze",
    "calibrate",
    "scan",
    "record",
    "replay",
    "export",
    "sessions",
    "people",
    "machines",
    "report",
    "firmware",
    "serve",
]


def build_parser() -> argparse.ArgumentParser:
    """The parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="legpress",
        description=textwrap.fill(
            "See lumbar lift-off and excessive range of motion on the leg press as they "
            "happen. Devices are URLs: ble:NAME, serial:PORT, sim:OPTIONS, replay:FILE.",
            79,
        ),
        epilog="Not a medical device. `legpress COMMAND --help` describes each command.\n\n"
        "Exit codes (every command):\n" + exit_table(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"legpress {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"legpress.cli.{name}")
        module.register(subparsers)
    return parser


def _one_line(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return "; ".join(part.strip() for part in text.splitlines() if part.strip())


def main(argv: list[str] | None = None, *, ble_backend: Any = None) -> int:
    """Run the ``legpress`` command.

    Args:
        argv: the arguments (default: ``sys.argv[1:]``).
        ble_backend: bleak backend classes ``(ScannerClass, ClientClass)`` to use instead of
            the platform's (tests, custom stacks).

    Returns:
        The exit status: 0 on success, the error's ``exit_code`` otherwise.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error argparse printed
        return exc.code if isinstance(exc.code, int) else 2
    func = getattr(args, "func", None)
    if func is None:
        parser.print_usage(sys.stderr)
        print("legpress: error: choose a command (legpress --help lists them)", file=sys.stderr)
        return 2
    args.ble_backend = ble_backend
    notes = _notes_to_stderr(args.command)
    try:
        return int(func(args) or 0)
    except LegPressError as error:
        _flush_quietly()
        print(f"legpress: error: {_one_line(error)}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        _flush_quietly()
        print("legpress: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`legpress export x --csv - | head`): not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except Exception as error:
        if os.environ.get("LEGPRESS_DEBUG"):
            raise
        print(
            f"legpress: internal error: {type(error).__name__}: {_one_line(error)} "
            "(please report it; LEGPRESS_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
    finally:
        if notes is not None:
            logging.getLogger("legpress").removeHandler(notes)


#: Commands that say a damaged recording's damage themselves, with where in the session it is.
_SAY_DAMAGE = frozenset({"analyze", "export", "replay"})


def _notes_to_stderr(command: str) -> logging.Handler | None:
    """The library's warnings (a damaged recording read by ``report``, ...) as the command's
    own notes, ``legpress: note: ...`` on stderr, for the length of one command; not for
    ``serve``, which logs with time stamps, nor twice where the command says it itself."""
    if command == "serve":
        return None
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("legpress: note: %(message)s"))
    if command in _SAY_DAMAGE:
        handler.addFilter(lambda record: not getattr(record, "recording_damage", False))
    logging.getLogger("legpress").addHandler(handler)
    return handler


def _flush_quietly() -> None:
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
