"""Run code under real MicroPython 1.29 (the official WebAssembly build, in Node) from pytest.

Every run starts a fresh interpreter (``node tests/mpy/runner.mjs``) with these directories
copied in and put on ``sys.path``, in this order:

==================  =========================================================================
``/absent``         ``tests/mpy/esp32_absent``: makes importing micropython-lib modules that
                    the WebAssembly build has but ESP32 firmware lacks (``logging``,
                    ``functools``, ...) fail (``esp32_only=False`` drops it)
``/fakes``          ``tests/mpy/fakes``: fake ``machine``, ``bluetooth``, ``esp32``
                    (``fakes=False`` drops it)
``/firmware``       ``firmware/``: ``import legpress_fw.sampler`` works
``/support``        ``tests/mpy/support``: ``linetrace`` (settrace line counts)
``mounts``          extra ``{host_dir: "/mp_dir"}``
==================  =========================================================================

``tests/mpy/prelude.py`` runs first (``support/wasm_shims.py`` adds ``asyncio.ThreadSafeFlag``).
The code may use top-level ``await``. Data in and out: ``import hostio`` gives
``hostio.input`` (the ``input`` argument as JSON text, or ``None``) and ``hostio.emit(str)``;
emitted strings come back parsed as JSON in :attr:`MicroPythonResult.emitted`.

Use the ``micropython`` fixture from ``tests/conftest.py`` (it skips, or fails under ``CI=true``,
when Node or the npm package is missing) rather than calling :func:`run_micropython` bare.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
FIRMWARE_DIR = REPO_ROOT / "firmware"
MPY_DIR = Path(__file__).resolve().parent
FAKES_DIR = MPY_DIR / "fakes"
ABSENT_DIR = MPY_DIR / "esp32_absent"
SUPPORT_DIR = MPY_DIR / "support"
RUNNER = MPY_DIR / "runner.mjs"
PRELUDE = MPY_DIR / "prelude.py"
PACKAGE_DIR = REPO_ROOT / "node_modules" / "@micropython" / "micropython-webassembly-pyscript"
PACKAGE_VERSION = "1.29.0-6"
MIN_NODE_MAJOR = 18
FIRMWARE_MOUNT = "/firmware"

HOW_TO_GET_IT = (
    "MicroPython tests need Node.js >= 18 and the npm test tools: install Node.js, then run "
    "./tools/test (or `npm ci` in the repository root)."
)


class MicroPythonUnavailable(RuntimeError):
    """Node.js or the MicroPython npm package is missing; the message says how to get them."""


@dataclass(frozen=True)
class MicroPythonResult:
    """Outcome of one MicroPython run."""

    returncode: int
    stdout: str
    stderr: str
    emitted: list[Any] = field(default_factory=list)
    """Every ``hostio.emit(s)`` call, in order, with ``s`` parsed as JSON."""

    @property
    def last(self) -> Any:
        """The last emitted value (AssertionError when nothing was emitted)."""
        assert self.emitted, f"the MicroPython code emitted nothing; stdout:\n{self.stdout}"
        return self.emitted[-1]


@cache
def node_executable() -> str:
    """Path of a usable ``node`` (>= 18); raises MicroPythonUnavailable otherwise."""
    node = shutil.which("node")
    if node is None:
        raise MicroPythonUnavailable(f"`node` is not on PATH. {HOW_TO_GET_IT}")
    version = subprocess.run(
        [node, "--version"], capture_output=True, text=True, check=False
    ).stdout.strip()
    match = re.match(r"v(\d+)\.", version)
    if match is None or int(match.group(1)) < MIN_NODE_MAJOR:
        raise MicroPythonUnavailable(f"{node} is Node.js {version or '?'}. {HOW_TO_GET_IT}")
    return node


@cache
def micropython_unavailable_reason() -> str | None:
    """Why MicroPython can't run here (message includes how to fix it), or None if it can."""
    try:
        node_executable()
    except MicroPythonUnavailable as exc:
        return str(exc)
    manifest = PACKAGE_DIR / "package.json"
    if not manifest.is_file():
        return f"{PACKAGE_DIR.relative_to(REPO_ROOT)} is missing. {HOW_TO_GET_IT}"
    version = json.loads(manifest.read_text(encoding="utf-8")).get("version")
    if version != PACKAGE_VERSION:
        return (
            f"{PACKAGE_DIR.relative_to(REPO_ROOT)} is version {version}, "
            f"expected {PACKAGE_VERSION}. {HOW_TO_GET_IT}"
        )
    return None


def running_in_ci() -> bool:
    """True when the CI environment variable says so (``CI=true``, as CI services set it)."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def require_micropython() -> None:
    """Skip the calling test when MicroPython can't run here; fail instead under CI=true."""
    reason = micropython_unavailable_reason()
    if reason is None:
        return
    if running_in_ci():
        pytest.fail(f"CI=true but MicroPython is unavailable: {reason}", pytrace=False)
    pytest.skip(reason)


def _numbered(code: str) -> str:
    lines = code.splitlines()
    width = len(str(len(lines)))
    return "\n".join(f"{n:>{width}} | {line}" for n, line in enumerate(lines, 1))


def run_micropython(
    code: str | None = None,
    *,
    script: str | os.PathLike[str] | None = None,
    input: Any = None,
    mounts: Mapping[str | os.PathLike[str], str] | None = None,
    settrace: bool = False,
    fakes: bool = True,
    esp32_only: bool = True,
    heap: str = "4M",
    args: Sequence[str] = (),
    timeout: float = 120.0,
    check: bool = True,
) -> MicroPythonResult:
    """Run ``code`` (dedented) or the file ``script`` under MicroPython; see the module docs.

    ``input``: a str is passed as is, anything else as ``json.dumps(input)``; the code reads
    it from ``hostio.input``. ``settrace`` selects the build with ``sys.settrace``.
    ``args`` become ``sys.argv[1:]``.

    With ``check`` (the default) a non-zero exit raises AssertionError carrying the
    MicroPython traceback, the numbered source and the output. Raises MicroPythonUnavailable
    when Node or the npm package is missing.
    """
    if (code is None) == (script is None):
        raise TypeError("give exactly one of code or script")
    reason = micropython_unavailable_reason()
    if reason is not None:
        raise MicroPythonUnavailable(reason)

    dirs: list[tuple[Path, str]] = []
    if esp32_only:
        dirs.append((ABSENT_DIR, "/absent"))
    if fakes:
        dirs.append((FAKES_DIR, "/fakes"))
    dirs += [(FIRMWARE_DIR, FIRMWARE_MOUNT), (SUPPORT_DIR, "/support")]
    dirs += [(Path(host), mp) for host, mp in (mounts or {}).items()]

    with tempfile.TemporaryDirectory(prefix="mpy-") as tmp:
        emit_file = Path(tmp, "emitted.json")
        cmd = [node_executable(), str(RUNNER), "--prelude", str(PRELUDE), "--heap", heap]
        cmd += ["--emit", str(emit_file)]
        for host, mp in dirs:
            cmd += ["--mount", f"{host}:{mp}"]
        if settrace:
            cmd.append("--settrace")
        if input is not None:
            input_file = Path(tmp, "input.json")
            input_file.write_text(input if isinstance(input, str) else json.dumps(input))
            cmd += ["--input", str(input_file)]
        if code is not None:
            code = textwrap.dedent(code).lstrip("\n")  # line 1 = the snippet's first line
            cmd += ["-c", code]
        else:
            cmd.append(os.fspath(script))  # type: ignore[arg-type]
        cmd += list(args)
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(
                f"MicroPython run timed out after {timeout:g} s"
                + (f"\n--- code ---\n{_numbered(code)}" if code is not None else "")
            ) from exc
        raw = json.loads(emit_file.read_text()) if emit_file.exists() else []

    if check and proc.returncode != 0:
        source = f"--- code ---\n{_numbered(code)}\n" if code is not None else f"script {script}\n"
        raise AssertionError(
            f"MicroPython exited with status {proc.returncode}\n"
            f"--- traceback / stderr ---\n{proc.stderr.rstrip()}\n"
            f"{source}"
            f"--- stdout ---\n{proc.stdout.rstrip()}"
        )
    emitted = []
    for text in raw:
        try:
            emitted.append(json.loads(text))
        except json.JSONDecodeError as exc:
            raise AssertionError(f"hostio.emit() got non-JSON text: {text!r}") from exc
    return MicroPythonResult(proc.returncode, proc.stdout, proc.stderr, emitted)


def count_firmware_lines(
    code: str,
    *,
    setup: str = "",
    by_line: bool = False,
    input: Any = None,
    mounts: Mapping[str | os.PathLike[str], str] | None = None,
    timeout: float = 120.0,
) -> dict[str, int]:
    """Count line events in firmware files while ``code`` runs, under the settrace build.

    ``setup`` runs untraced first (imports, object construction); then ``code`` runs with
    tracing on (it may use top-level ``await``). Only files under ``firmware/`` count, so
    fakes, asyncio internals and the snippet itself are excluded and the result is the same
    on every run and machine. Returns ``{"legpress_fw/sampler.py": n, ...}`` (with
    ``by_line``: ``{"legpress_fw/sampler.py:42": n, ...}``); ``sum(...values())`` is the total.
    For allocation budgets measure ``gc.mem_alloc()`` deltas in the snippet itself.
    """
    program = "\n".join(
        [
            textwrap.dedent(setup).lstrip("\n"),
            "import linetrace as _linetrace",
            f"_linetrace.start({FIRMWARE_MOUNT + '/'!r}, {by_line!r})",
            textwrap.dedent(code),
            "import hostio as _hostio, json as _json",
            "_hostio.emit(_json.dumps(_linetrace.stop()))",
        ]
    )
    result = run_micropython(program, settrace=True, input=input, mounts=mounts, timeout=timeout)
    counts: dict[str, int] = result.last
    return dict(sorted(counts.items()))
