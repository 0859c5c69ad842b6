"""The ``legpress`` commands ``record`` and ``monitor`` against the unmodified firmware on the
real NimBLE stack.

The CLI runs its own event loop (``asyncio.run``), so the board (its pty HCI transport, its
controller on the air and the MicroPython process) is made inside that loop, on first use
(:class:`LazyAir`), and powered off inside it too, before the loop closes: asyncio.run cancels
the tasks still running and runs them to their end, so a task that waits for that and then
powers the board off closes the pty and the process's pipes in the loop that opened them.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from legpress.cli.main import main
from legpress.storage.recording import decode_recording, read_recording
from tests.e2e.firmware_stack import BOARD_NAME, FirmwareBoard, check_samples
from tests.host.transport.bumble_backend import LazyAir, VirtualAir


class _Boards:
    """Makes the board in the CLI's loop and powers it off as that loop ends."""

    def __init__(self, folder: Path, config: dict[str, Any]) -> None:
        self.folder = folder
        self.config = config
        self.boards: list[FirmwareBoard] = []
        self._keepers: set[asyncio.Task[None]] = set()

    async def setup(self, air: VirtualAir) -> None:
        board = FirmwareBoard(air, self.folder, self.config)
        self.boards.append(board)
        await board.boot()
        task = asyncio.get_running_loop().create_task(self._power_off_at_the_end(board))
        self._keepers.add(task)

    async def _power_off_at_the_end(self, board: FirmwareBoard) -> None:
        try:
            await asyncio.Event().wait()
        finally:  # cancelled by asyncio.run's shutdown, still inside the loop
            await board.power_off()

    def backend(self) -> Any:
        return LazyAir(self.setup).backend()

    def log(self) -> str:
        return "\n".join(b.log() for b in self.boards)


def test_record_from_the_firmware(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    boards = _Boards(tmp_path / "board", {"security": "open"})
    rec = tmp_path / "fw.lprec"
    args = ["record", f"ble:{BOARD_NAME}", "-o", str(rec), "--duration", "1.5", "-q"]
    assert main(args, ble_backend=boards.backend()) == 0, boards.log()
    assert capsys.readouterr().out.startswith(f"wrote {rec}: ")
    assert all(b.process is None for b in boards.boards)  # powered off in the CLI's loop
    recording = read_recording(rec)
    assert recording.info.name == BOARD_NAME and recording.info.n_cells == 6
    decoded = decode_recording(rec)
    assert len(decoded.samples) >= 100 and not decoded.gaps
    check_samples(decoded.samples, first=0)  # every sample the firmware's, from its first


def test_monitor_paired_stores_the_session(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    boards = _Boards(tmp_path / "board", {"security": "bonded"})
    rec = tmp_path / "mon.lprec"
    db = tmp_path / "sessions.db"
    args = ["monitor", f"ble:{BOARD_NAME}?pair=1", "--json", "--duration", "1.5"]
    args += ["--person", "Ada", "--new-person", "--db", str(db), "--record", str(rec)]
    args += ["--rom-limit-mm", "300"]
    assert main(args, ble_backend=boards.backend()) == 0, boards.log()
    out = capsys.readouterr().out
    records = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert not [r for r in records if r.get("type") in ("gap", "disconnected", "fault")], records
    assert all(b.process is None for b in boards.boards)
    decoded = decode_recording(rec)
    assert len(decoded.samples) >= 100 and not decoded.gaps
    check_samples(decoded.samples, first=0)
    # The bond the pairing made is the firmware's own, in its file.
    assert (tmp_path / "board" / "ble_secrets.json").read_text().strip() not in ("", "[]")
    assert main(["sessions", "list", "--db", str(db), "--json"]) == 0
    sessions = json.loads(capsys.readouterr().out)
    assert [s["person"] for s in sessions] == ["Ada"], sessions
