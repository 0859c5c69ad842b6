"""The HTML reports: structure, content, accessibility basics, and the helpers behind them."""

from __future__ import annotations

import base64
import sys
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

from legpress.detect import DetectorConfig
from legpress.dsp.calibration import CalibratedBlock
from legpress.report import (
    MissingDependencyError,
    render_progress_report,
    render_session_report,
    session_report_html,
)
from legpress.report.html import DISCLAIMER, num
from legpress.report.series import envelope, lift_off_spans, lower_back_contact
from legpress.session import Person, Session, clock
from legpress.storage.store import SessionStore

pytest.importorskip("matplotlib", reason="reports need matplotlib: pip install 'legpress[report]'")


class Doc(HTMLParser):
    """The parts of a report the tests look at."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.sections: list[str] = []
        self.images: list[dict[str, str]] = []
        self.tables: list[list[list[str]]] = []  # rows of cell texts (body rows only)
        self.table_sections: list[str] = []  # the section each table is in
        self.text: list[str] = []
        self._in_tbody = False
        self._cell: list[str] | None = None
        self._style = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        if tag == "section":
            self.sections.append(a.get("id", ""))
        elif tag == "img":
            self.images.append(a)
        elif tag == "table":
            self.tables.append([])
            self.table_sections.append(self.sections[-1] if self.sections else "")
        elif tag == "tbody":
            self._in_tbody = True
        elif tag == "tr" and self._in_tbody:
            self.tables[-1].append([])
        elif tag == "td" and self._in_tbody:
            self._cell = []
        elif tag == "style":
            self._style = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_tbody = False
        elif tag == "td" and self._cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "style":
            self._style = False

    def handle_data(self, data: str) -> None:
        if self._style:
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def table_in(self, section: str) -> list[list[str]]:
        (table,) = [
            t for t, s in zip(self.tables, self.table_sections, strict=True) if s == section
        ]
        return table

    @property
    def plain(self) -> str:
        return " ".join(" ".join(self.text).split())


def check_png(img: dict[str, str]) -> None:
    prefix = "data:image/png;base64,"
    assert img["src"].startswith(prefix)
    data = base64.b64decode(img["src"][len(prefix) :])
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    assert len(img["alt"]) > 40  # says what the chart shows


def check_page(doc: Doc) -> None:
    assert doc.plain.count("not a medical device") == 1
    assert DISCLAIMER.split(".")[0] in doc.plain
    assert ("html", {"lang": "en"}) in doc.tags
    assert not any(t == "script" for t, _ in doc.tags)
    # Self-contained: nothing is fetched.
    for tag, attrs in doc.tags:
        for key in ("src", "href"):
            assert not attrs.get(key, "data:").startswith(("http", "//", "file:")), (tag, attrs)


# -- session report ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def with_series(first_session: tuple[Session, CalibratedBlock], tmp_path_factory) -> Doc:  # type: ignore[no-untyped-def]
    session, block = first_session
    out = tmp_path_factory.mktemp("rep") / "session.html"
    assert render_session_report(session, block, out) == out
    return Doc(out.read_text("utf-8"))


def test_session_report_sections_images_tables(
    with_series: Doc, first_session: tuple[Session, CalibratedBlock]
) -> None:
    session, _ = first_session
    doc = with_series
    check_page(doc)
    assert doc.sections == ["summary", "charts", "reps", "events", "settings", "technical"]
    # Depth per rep, one timeline per set (two sets), tempo.
    assert len(doc.images) == 4
    for img in doc.images:
        check_png(img)
    rep_table = doc.table_in("reps")
    assert len(rep_table) == len(session.reps)
    assert [row[1] for row in rep_table] == [str(i) for i in range(1, 11)]
    flagged = [row for row in rep_table if "past limit" in row[-1]]
    assert [row[1] for row in flagged] == ["8", "9", "10"]
    assert all("back lifted" in row[-1] for row in flagged)
    event_table = doc.table_in("events")
    assert len(event_table) == len(session.events)
    assert any("lower back off the pad" in row[3] for row in event_table)
    assert any("Lowered too fast" in row[2] for row in event_table)


def test_session_report_says_what_happened(with_series: Doc) -> None:
    text = with_series.plain
    assert "Ana" in text and "Clinic 45 (45° incline)" in text and "legpress-3F2A" in text
    assert "The lower back lifted off the pad in 3 reps (reps 8, 9 and 10)" in text
    assert "3 reps went past the 360 mm limit (reps 8, 9 and 10), by up to 45 mm" in text
    assert "lowered too fast in rep 10" in text
    # Settings used: limit, thresholds, calibration, link quality from the summary.
    assert "360 mm of sled travel from the top (the therapist's limit)" in text
    assert "20.00 encoder counts per mm (measured)" in text
    assert "Link quality" in text and "0 of 2100 packets lost" in text
    assert "liftoff_position" in text  # every threshold, in the technical details


def test_session_report_without_recording(
    first_session: tuple[Session, CalibratedBlock], tmp_path: Path
) -> None:
    session, _ = first_session
    doc = Doc(session_report_html(session, None))
    check_page(doc)
    assert len(doc.images) == 2  # depth and tempo; no time course
    assert "no linked recording" in doc.plain and "is not shown" in doc.plain
    moved = replace(session, recording_path="/nowhere/s.lpr")
    text = Doc(session_report_html(moved, None, "It is gone")).plain
    assert "It is gone, so the time course" in text


def test_session_without_reps_or_limit(tmp_path: Path) -> None:
    with SessionStore(tmp_path / "x.db") as store:
        sid = store.start_session(config=DetectorConfig())
        session = store.get_session(sid)
    doc = Doc(session_report_html(session, None))
    check_page(doc)
    assert "No complete reps were recorded" in doc.plain
    assert "No alerts were raised" in doc.plain
    assert "none set (ROM alerts were off)" in doc.plain
    assert doc.images == []


def test_text_is_escaped(first_session: tuple[Session, CalibratedBlock]) -> None:
    session, _ = first_session
    evil = replace(
        session, person=Person("<script>alert(1)</script>"), device_name='"><img src=x>'
    )
    text = session_report_html(evil, None)
    doc = Doc(text)
    assert not any(t == "script" for t, _ in doc.tags)
    assert not any(a.get("src") == "x" for _, a in doc.tags)
    assert "&lt;script&gt;" in text


def test_missing_matplotlib_says_how_to_install(
    first_session: tuple[Session, CalibratedBlock], monkeypatch: pytest.MonkeyPatch
) -> None:
    session, _ = first_session
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingDependencyError) as err:
        session_report_html(session, None)
    assert str(err.value) == "reports need matplotlib: pip install 'legpress[report]'"
    assert err.value.exit_code == 10


# -- progress report ---------------------------------------------------------------------------


def test_progress_report(reportdb: tuple[Path, list[int]], tmp_path: Path) -> None:
    path, ids = reportdb
    with SessionStore(path) as store:
        person = store.get_person("Ana")
        rows = store.list_sessions("Ana")
    out = render_progress_report(person.to_dict(), list(reversed(rows)), tmp_path / "p.html")
    doc = Doc(out.read_text("utf-8"))
    check_page(doc)
    assert doc.sections == ["summary", "charts", "sessions"]
    assert len(doc.images) == 1
    check_png(doc.images[0])
    (table,) = doc.tables
    assert [row[1] for row in table] == [f"#{i}" for i in ids[:4]]  # oldest first
    # Reps with the back lifted, of the session's completed reps; where it first lifted.
    assert [row[8] for row in table] == ["3/10 (30 %)", "2/10 (20 %)", "1/10 (10 %)", "0/10 (0 %)"]
    assert [row[7] for row in table] == ["343", "343", "363", "–"]
    text = doc.plain
    assert "Reps with the lower back lifted: 3/10 (30 %) in the first session" in text
    assert "0/10 (0 %) in the latest" in text and "post-op L4/L5" in text and "360 mm" in text
    assert "The lower back first lifted at 343 mm of sled travel on" in text and "deeper" in text
    # Rows as dicts work too, and a person given by name.
    again = Doc(
        render_progress_report("Ana", [r.to_dict() for r in rows], tmp_path / "q.html").read_text()
    )
    assert len(again.tables[0]) == 4


def test_progress_report_without_sessions(tmp_path: Path) -> None:
    doc = Doc(render_progress_report("Nobody", [], tmp_path / "p.html").read_text())
    check_page(doc)
    assert "No sessions with completed reps yet" in doc.plain and doc.images == []


def test_unwritable_output_is_a_file_error(
    first_session: tuple[Session, CalibratedBlock], tmp_path: Path
) -> None:
    from legpress.errors import FileError

    with pytest.raises(FileError, match="cannot write"):  # exit 6, as export and record
        render_progress_report("Ana", [], tmp_path / "no" / "such" / "dir.html")


# -- helpers -----------------------------------------------------------------------------------


def test_lower_back_contact_follows_the_detector(
    first_session: tuple[Session, CalibratedBlock],
) -> None:
    session, block = first_session
    assert session.config is not None
    cfg = DetectorConfig(**session.config)
    trace = lower_back_contact(block, session.reps, session.events, cfg)
    spans = lift_off_spans(session.reps, session.events)
    assert [i for _, _, i in spans] == [7, 8, 9]
    # The trace is the detector's own decision quantity, judged inside reps only: near the
    # top of each rep the lower back is as usual (1).
    at_top = (block.depth_mm < 30) & np.isfinite(trace.contact)
    assert at_top.sum() > 50
    assert np.nanmedian(trace.contact[at_top]) == pytest.approx(1.0, abs=0.05)
    lifts = [e for e in session.events if e.type == "lift_off"]
    for e in lifts:  # the chart shows the very value the event fired on
        i = int(np.searchsorted(trace.t_s, e.t_s))
        assert trace.contact[i] == pytest.approx(e.evidence["position"], abs=1e-6)
    for a, b, _ in spans:
        inside = (trace.t_s > a + 0.25 * (b - a)) & (trace.t_s < b - 0.25 * (b - a))
        assert np.nanmax(trace.contact[inside]) < cfg.liftoff_recover_position


def test_envelope_keeps_extremes() -> None:
    t = np.arange(100_000, dtype=np.float64)
    y = np.sin(t / 500.0)
    y[12_345] = 5.0
    y[54_321] = -7.0
    ts, ys = envelope(t, y, 2000)
    assert len(ts) <= 2000 and ys.max() == 5.0 and ys.min() == -7.0
    assert np.all(np.diff(ts) >= 0)


def test_formats() -> None:
    assert clock(75.4) == "1:15" and clock(75.46, 1) == "1:15.5" and clock(3725) == "1:02:05"
    assert clock(None) == "–" and clock(float("nan")) == "–"
    assert num(1234.5, 1, "mm") == "1\u2009234.5\u00a0mm" and num(-3) == "\u22123"


def test_lift_off_before_the_limit_is_pointed_out(tmp_path: Path) -> None:
    from .sessiondata import analysed, two_sets

    _, a, cfg = analysed(two_sets(deep=2), limit_mm=450)
    with SessionStore(tmp_path / "x.db") as store:
        sid = store.import_analysis(None, a.reps, a.events, config=cfg)
        session = store.get_session(sid)
    text = Doc(session_report_html(session, None)).plain
    assert "Every rep stayed within the 450 mm limit" in text
    assert "before the 450 mm limit was reached: the limit may be deeper" in text


def test_interrupted_session_and_partial_rep_are_said(
    first_session: tuple[Session, CalibratedBlock],
) -> None:
    session, _ = first_session
    last = session.reps[-1]
    cut = replace(
        session,
        ended_at=None,
        interrupted=True,
        reps=session.reps[:-1],
        summary={"partial_rep": {"index": last.index, "depth_mm": 301.0, "events": ["lift_off"]}},
    )
    text = Doc(session_report_html(cut, None)).plain
    assert "This session was interrupted" in text
    assert f"in the middle of rep {last.index + 1} (partial: the session ended mid-rep" in text
    assert f"{last.index + 1} (partial)" in text or not [
        e for e in cut.events if e.rep == last.index
    ]
    # Said once, in words, not again as the summary's raw fields among the settings.
    assert "Partial rep" not in text and "partial_rep" not in text
    assert "Interrupted" not in text


def test_alert_times_read_the_same_in_the_report_and_sessions_show(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from legpress.cli.main import main
    from legpress.detect import Event

    with SessionStore(tmp_path / "x.db") as store:
        sid = store.start_session(config=DetectorConfig())
        store.add_event(sid, Event("rom_warning", 5.45, 0, "approaching"))
        store.end_session(sid)
        session = store.get_session(sid)
    assert clock(5.45, 1) == "0:05.5"  # rounded, never truncated
    assert "0:05.5" in Doc(session_report_html(session, None)).plain
    assert main(["sessions", "show", str(sid), "--db", str(tmp_path / "x.db")]) == 0
    assert "  0:05.5  rep 1" in capsys.readouterr().out


def test_progress_compares_rates_per_rep_not_counts(tmp_path: Path) -> None:
    """10 of 10 reps is worse than 5 of 11, though 10 > 5."""
    from legpress.report.progress import progress_report_html

    def row(i: int, lifted: int, reps: int, depth: float) -> dict[str, object]:
        return {
            "id": i,
            "started_at": f"2025-03-0{i}T10:00:00+00:00",
            "reps": reps,
            "sets": 1,
            "lift_offs": lifted,
            "rom_exceeded": 0,
            "form_events": 0,
            "max_depth_mm": 350.0,
            "rom_limit_mm": 360.0,
            "lift_off_depth_mm": depth,
        }

    text = Doc(progress_report_html("Ana", [row(1, 10, 10, 300.0), row(2, 5, 11, 330.0)])).plain
    assert "10/10 (100 %) in the first session" in text and "5/11 (45 %) in the latest" in text
    assert "first lifted at 300 mm" in text and "at 330 mm" in text
    worse = Doc(progress_report_html("Ana", [row(1, 5, 11, 330.0), row(2, 10, 10, 300.0)]))
    assert "shallower" in worse.plain
