"""The session report in a real browser (headless Chromium): it loads and shows something.

Skipped when Chromium is not installed (``apt-get install chromium`` on Debian; ``./tools/test``
installs it as root); under ``CI=true`` a missing Chromium fails the test.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from legpress.dsp.calibration import CalibratedBlock
from legpress.report import render_session_report

from ..hub.browser import CHROMIUM_ARGS, require_chromium, require_playwright

pytest.importorskip("matplotlib", reason="reports need matplotlib: pip install 'legpress[report]'")


def test_report_renders_in_chromium(
    first_session: tuple[dict[str, Any], CalibratedBlock], tmp_path: Path
) -> None:
    browser = require_chromium()
    image = pytest.importorskip("PIL.Image", reason="needs Pillow (installed with matplotlib)")
    session, block = first_session
    html = render_session_report(session, block, tmp_path / "report.html")
    png = tmp_path / "shot.png"
    profile = tmp_path / "profile"
    cmd = [
        browser,
        *CHROMIUM_ARGS,
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--screenshot={png}",
        "--window-size=1200,2000",
        html.resolve().as_uri(),
    ]
    env = {**os.environ, "HOME": str(tmp_path)}
    proc = subprocess.run(cmd, capture_output=True, timeout=90, env=env, check=False)
    assert png.exists(), proc.stderr.decode(errors="replace")[-2000:]
    with image.open(png) as shot:
        assert shot.size == (1200, 2000)
        rgb = shot.convert("RGB")
        colours = rgb.getcolors(maxcolors=1 << 20) or []
        # A blank page has one or two colours; the report has text, cards and charts.
        assert len(colours) > 200
        # The depth chart's blue bars (Okabe-Ito blue, #0072B2) are on the first screen.
        blue = sum(
            n
            for n, c in colours
            if abs(c[0] - 0) < 30 and abs(c[1] - 114) < 30 and abs(c[2] - 178) < 30
        )
        assert blue > 2000


@pytest.mark.parametrize("width", [1200, 800, 390])
def test_report_header_values_never_run_into_each_other(
    first_session: tuple[Any, CalibratedBlock], tmp_path: Path, width: int
) -> None:
    """A long device URL (no spaces to break at) stays inside its own cell of the header."""
    from dataclasses import replace

    chromium = require_chromium()
    sync_api = require_playwright()
    session, _ = first_session
    long = replace(
        session,
        device_name="LegPress-3A7F",
        device_url="sim:scenario=rom_overshoot,seed=12345,realtime=0,duration=600,loss=0.002",
    )
    html = render_session_report(long, None, tmp_path / "report.html")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(html.resolve().as_uri())
            boxes = page.evaluate(
                """() => [...document.querySelectorAll('dl.meta > div')].map(d => {
                    const c = d.getBoundingClientRect();
                    const v = d.querySelector('dd');
                    return {cell: [c.left, c.right], text: [v.scrollWidth, v.clientWidth],
                            label: d.querySelector('dt').textContent};
                })"""
            )
        finally:
            browser.close()
    assert [b["label"] for b in boxes][:4] == ["Date", "Machine", "Device", "Session"]
    for b in boxes:
        assert b["text"][0] <= b["text"][1] + 1, b  # the value fits its cell: nothing spills
