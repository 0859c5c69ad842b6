"""The dashboard in a real browser (Playwright + Debian's Chromium), as a person uses it:
several simulated machines, tiles appear, alerts show on the right tile quickly, a person is
picked on the tablet page and calibrated from it, and their session is browsable from the
therapist's pages.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from legpress.detect.events import EventType

from .browser import CHROMIUM_ARGS, require_chromium, require_playwright, serving

pytest.importorskip("starlette", reason="the hub needs its extra: pip install 'legpress[hub]'")

MACHINES = [
    ("Clean press", "sim:scenario=clean,seed=1,realtime=1"),
    ("Lift press", "sim:scenario=liftoff,seed=2,realtime=1"),
    ("Lift press B", "sim:scenario=liftoff,seed=4,realtime=1"),
    ("Deep press", "sim:scenario=rom_overshoot,seed=3,realtime=1,limit=300"),
]
MIN_ALERTS = 6
#: The target is 250 ms at the 95th percentile (issue 15); this test measures and prints it
#: (and writes latency.json), and docs/benchmarks.md reports it. What the test asserts is only
#: that alerts are pushed, not polled or reloaded: a loaded machine slows a push, never by
#: seconds. A timed target in a test would fail on a busy machine, not on a slow dashboard.
PUSHED_P95_MS = 2000.0


def wait_until(page: Any, js_function: str, timeout_s: float) -> None:
    """Poll ``js_function`` in the page until it returns true (``wait_for_function`` would
    evaluate a string, which the dashboard's Content-Security-Policy rightly forbids)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(js_function):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {js_function}")
        time.sleep(0.1)


def _p(values: list[float], q: float) -> float:
    xs = sorted(values)
    return xs[min(len(xs) - 1, max(0, round(q * (len(xs) - 1))))]


@pytest.mark.slow
def test_dashboard_live_in_chromium(tmp_path: Path) -> None:
    chromium = require_chromium()
    sync_api = require_playwright()
    args = [a for name, url in MACHINES for a in ("--machine", f"{name}={url}")]
    with serving(args, tmp_path) as (base, token), sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{base}/login?token={token}")
            tiles = page.locator("article.tile[data-machine]")
            wait_until(
                page,
                """() => {
                    const conns = [...document.querySelectorAll('article.tile .conn')];
                    return conns.length === 4 && conns.every(e => e.textContent === '● connected');
                }""",
                20,
            )
            assert [tiles.nth(i).get_attribute("data-machine") for i in range(4)] == [
                name for name, _ in MACHINES
            ]
            page.screenshot(path=str(tmp_path / "1-tiles.png"), full_page=True)

            # Alerts arrive on the machines that raise them, and quickly.
            wait_until(page, f"() => window.legpressLatencies.length >= {MIN_ALERTS}", 60)
            latencies: list[dict[str, Any]] = page.evaluate("() => window.legpressLatencies")
            page.screenshot(path=str(tmp_path / "2-alerts.png"), full_page=True)
            by_machine = {m["machine"] for m in latencies}
            assert "Clean press" not in by_machine
            assert by_machine & {"Lift press", "Lift press B"}
            lift = page.locator('article.tile[data-machine="Lift press"]')
            if lift.get_attribute("data-alert-type") is None:
                lift = page.locator('article.tile[data-machine="Lift press B"]')
            # The alert type and its word, read together: another alert may replace both.
            kind, word = lift.evaluate(
                "t => [t.dataset.alertType, t.querySelector('.word').textContent.trim()]"
            )
            assert word == EventType(kind).alert
            # Once a back has lifted, its tile marks the depth it lifted at, on the bar and in
            # words; a clean press never shows one.
            marked = "article.tile[data-machine^='Lift press'] .lift-mark:not([hidden])"
            wait_until(page, f"() => document.querySelector({marked!r}) !== null", 30)
            text = page.locator(marked).first.locator("xpath=../..").locator(".depth-text")
            assert re.search(r"· back lifted at \d+ mm$", text.first.inner_text())
            clean_mark = page.locator('article.tile[data-machine="Clean press"] .lift-mark')
            assert not clean_mark.is_visible()
            ms = [float(m["ms"]) for m in latencies]
            p50, p95 = _p(ms, 0.5), _p(ms, 0.95)
            (tmp_path / "latency.json").write_text(
                json.dumps({"n": len(ms), "p50_ms": p50, "p95_ms": p95, "all_ms": ms})
            )
            print(f"alert-to-page latency: n={len(ms)} p50={p50:.1f} ms p95={p95:.1f} ms")
            assert p95 <= PUSHED_P95_MS, ms

            # The tablet picker: put Ben on the clean press.
            page.locator('article.tile[data-machine="Clean press"] a.pick').click()
            page.get_by_role("textbox", name="Someone new").fill("Ben")
            page.get_by_role("button", name="Put them on").click()
            page.wait_for_url(f"{base}/")
            clean = page.locator('article.tile[data-machine="Clean press"]')
            tile_js = "document.querySelector('article.tile[data-machine=\"Clean press\"]')"
            wait_until(
                page, f"() => {tile_js}?.querySelector('.person').textContent === 'Ben'", 10
            )
            wait_until(
                page, f"() => Number({tile_js}?.querySelector('.rep-count').textContent) > 0", 30
            )
            assert "session" in clean.locator(".tile-foot").inner_text()
            page.screenshot(path=str(tmp_path / "3-picked.png"), full_page=True)
            # Ben is new: his tile says he has no calibration yet, and his machine's page
            # calibrates him; the tile then says which rep he is at.
            assert "Ben has no calibration yet" in clean.locator(".tile-foot").inner_text()
            page.locator('article.tile[data-machine="Clean press"] a.pick').click()
            page.get_by_role("button", name="Calibrate Ben").click()
            page.wait_for_url(f"{base}/")
            banner = f"{tile_js}?.querySelector('.calib')"
            wait_until(
                page, f"() => {banner}.textContent.includes('calibrating Ben: rep 1 of 3')", 10
            )
            calib = clean.locator(".calib")
            assert calib.is_visible() and "running" in (calib.get_attribute("class") or "")
            page.screenshot(path=str(tmp_path / "3b-calibrating.png"), full_page=True)

            # The therapist's pages: Ben's sessions, then the session's report.
            page.get_by_role("link", name="People").click()
            page.get_by_role("link", name="Ben").click()
            assert page.get_by_role("heading", name="Ben").is_visible()
            page.locator("table.sessions a").first.click()
            page.wait_for_load_state()
            assert "Ben" in page.content()
            assert page.locator("h1").first.is_visible()
            page.screenshot(path=str(tmp_path / "4-session.png"), full_page=True)
            page.go_back()
            page.get_by_role("link", name="Progress report").click()
            page.wait_for_load_state()
            assert "Ben" in page.content()
            page.screenshot(path=str(tmp_path / "5-progress.png"), full_page=True)
        finally:
            browser.close()
