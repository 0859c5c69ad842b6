"""The README's library example runs as written (on the simulator instead of a board)."""

from __future__ import annotations

import asyncio
import re
import textwrap
from pathlib import Path
from typing import Any

import legpress

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _library_example() -> str:
    section = README.split("## As a library", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README: no python block under 'As a library'"
    return match.group(1)


def test_the_library_example_runs_on_the_simulator(tmp_path: Path, capsys: Any) -> None:
    code = _library_example()
    assert 'legpress.open_device("ble:' in code
    # The one change a reader without a board makes: a simulated device, faster than real time.
    code = re.sub(
        r'open_device\("ble:[^"]*"',
        'open_device("sim:scenario=liftoff,seed=3,realtime=0,duration=30"',
        code,
    ).replace('record="set1.lprec"', f"record={str(tmp_path / 'set1.lprec')!r}")
    body = textwrap.indent(code, "    ")
    namespace: dict[str, Any] = {}
    exec(compile(f"async def example():\n{body}", "README.md", "exec"), namespace)
    asyncio.run(namespace["example"]())
    printed = capsys.readouterr().out
    assert "lift_off" in printed, printed[-2000:]
    assert (tmp_path / "set1.lprec").stat().st_size > 1000
    assert legpress.open_blocking  # the README names it too
