"""Killing a recording process with a real SIGKILL, and measuring what it lost.

The loss of one kill is the time from the kill back to the last record that reached the file
(both on the system's monotonic clock, which every process shares). Used by
tests/host/storage/test_kill_loss.py and tests/bench/bench_kill_loss.py.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

from legpress.storage.recording import read_recording

REPO = Path(__file__).resolve().parents[3]

#: A process that writes a recording as fast as a fast BLE link delivers (about 400 packets/s)
#: and notes the time of each record it handed to the writer in a shared file (argv[2]), so a
#: kill's loss is what the writer had accepted and not written, not a pause of a starved CPU.
WRITER = textwrap.dedent(
    """
    import mmap, struct, sys, time
    from legpress.storage.recording import RecordingWriter, make_header
    from tests.host.transport.fake_legpress import INFO
    with open(sys.argv[2], "r+b") as f:
        accepted = mmap.mmap(f.fileno(), 8)
    w = RecordingWriter(sys.argv[1], make_header(INFO))
    i = 0
    while True:
        t = time.monotonic_ns()
        w.write_packet(t, i.to_bytes(4, "little") * 20)
        accepted[:8] = struct.pack("<q", t)
        i += 1
        time.sleep(0.0025)
    """
)


def writer_command(path: Path) -> list[str]:
    """The bare writer, noting what it accepted beside ``path``."""
    accepted = path.with_suffix(".accepted")
    accepted.write_bytes(bytes(8))
    return [sys.executable, "-c", WRITER, str(path), str(accepted)]


def env() -> dict[str, str]:
    path = os.pathsep.join([str(REPO), str(REPO / "host"), os.environ.get("PYTHONPATH", "")])
    return dict(os.environ, PYTHONPATH=path)


@contextlib.contextmanager
def cpu_load(processes: int = 2) -> Iterator[None]:
    """Busy processes competing for the CPU (one per core of the development machine)."""
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(processes)]
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


def kill_loss(argv: list[str], path: Path, rng: random.Random, *, ready_s: float = 1.0) -> float:
    """Run ``argv`` (it writes the recording ``path``), SIGKILL it at a random moment once it
    has recorded for ``ready_s``, and return the seconds of records lost: from the last
    record in the file to the last one the writer accepted (:func:`writer_command`), or to
    the kill (an upper bound: it also counts any time the process was starved of CPU)."""
    proc = subprocess.Popen(
        argv, cwd=REPO, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while not (path.exists() and path.stat().st_size > 2000):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError(f"{argv} did not start recording")
            time.sleep(0.02)
        time.sleep(ready_s + rng.random())  # land anywhere in the writer's cycle
        killed_ns = time.monotonic_ns()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None and proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL, proc.returncode
    rec = read_recording(path)
    times = [
        *rec.t_host_ns.tolist(),
        *(t for t, _ in rec.events),
        *(t for t, _ in rec.host_packets),
    ]
    accepted = path.with_suffix(".accepted")
    if accepted.exists():  # the writer says what it had accepted
        return (int.from_bytes(accepted.read_bytes(), "little", signed=True) - max(times)) / 1e9
    return (killed_ns - max(times)) / 1e9


def record_command(path: Path, seed: int) -> list[str]:
    """``legpress record`` of the simulator in real time."""
    return [
        sys.executable,
        "-m",
        "legpress.cli",
        "record",
        f"sim:scenario=demo,seed={seed}",
        "-o",
        str(path),
        "-q",
    ]
