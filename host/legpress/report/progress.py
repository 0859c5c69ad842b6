"""The progress report: one person's sessions over time, on one self-contained HTML page."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from legpress.report import plots
from legpress.report.html import (
    badge,
    card,
    date_only,
    date_short,
    esc,
    figure,
    meta_list,
    num,
    page,
    plural,
    table,
)
from legpress.report.write import write_html
from legpress.session import Person, finite


def _as_dict(row: Any) -> Mapping[str, Any]:
    if isinstance(row, Mapping):
        return row
    to_dict = getattr(row, "to_dict", None)
    if callable(to_dict):
        d = to_dict()
        if isinstance(d, Mapping):
            return d
    raise TypeError(f"expected a session row or a mapping, got {type(row).__name__}")


def _rate(row: Mapping[str, Any], key: str) -> tuple[int, int]:
    """(reps with ``key``, completed reps) of a session row."""
    return int(row.get(key) or 0), int(row.get("reps") or 0)


def rate_text(flagged: int, reps: int) -> str:
    """``5/11 (45 %)``: how many of the completed reps, and the share."""
    return f"{flagged}/{reps}" + (f" ({100 * flagged / reps:.0f} %)" if reps else "")


def _trend(rows: Sequence[Mapping[str, Any]], key: str, what: str) -> tuple[str, str] | None:
    """A sentence comparing the first and the latest session, per rep (sessions differ in
    length: 10 of 10 reps is worse than 5 of 11, though 10 > 5)."""
    if len(rows) < 2:
        return None
    (f1, n1), (f2, n2) = _rate(rows[0], key), _rate(rows[-1], key)
    text = (
        f"{what}: {rate_text(f1, n1)} in the first session "
        f"({date_only(rows[0].get('started_at'))}), {rate_text(f2, n2)} in the latest "
        f"({date_only(rows[-1].get('started_at'))})."
    )
    worse = n1 > 0 and n2 > 0 and f2 / n2 >= f1 / n1
    return ("ok" if f2 == 0 else ("warn" if worse else "info")), text


def _lift_off_trend(rows: Sequence[Mapping[str, Any]]) -> tuple[str, str] | None:
    """Where the lower back first lifted, first session against the latest (deeper is
    better: the person keeps the lower back on the pad further down)."""
    known: list[tuple[Mapping[str, Any], float]] = []
    for r in rows:
        d = finite(r.get("lift_off_depth_mm"))
        if d is not None:
            known.append((r, d))
    if len(known) < 2:
        return None
    (r1, d1), (r2, d2) = known[0], known[-1]
    how = "deeper" if d2 > d1 else "shallower" if d2 < d1 else "the same"
    return (
        "info",
        f"The lower back first lifted at {num(d1, 0, 'mm')} of sled travel on "
        f"{date_only(r1.get('started_at'))} and at {num(d2, 0, 'mm')} on "
        f"{date_only(r2.get('started_at'))} ({how}).",
    )


def progress_report_html(person: str | Person | Mapping[str, Any], sessions: Sequence[Any]) -> str:
    """The progress report as an HTML string (see :func:`render_progress_report`).

    Raises:
        MissingDependencyError: matplotlib is not installed.
    """
    plots.require_matplotlib()
    info: Mapping[str, Any] = (
        {"name": person}
        if isinstance(person, str)
        else person.to_dict()
        if isinstance(person, Person)
        else person
    )
    name = str(info.get("name") or "anonymous")
    rows = sorted(
        (_as_dict(s) for s in sessions), key=lambda r: (str(r.get("started_at")), r["id"])
    )
    with_reps = [r for r in rows if int(r.get("reps") or 0) > 0]
    limit_now = finite(info.get("effective_limit_mm", info.get("rom_limit_mm")))
    span = (
        f"{date_only(rows[0].get('started_at'))} – {date_only(rows[-1].get('started_at'))}"
        if rows
        else "no sessions"
    )
    sessions_text = str(len(rows)) + (
        f" ({len(with_reps)} with completed reps)" if len(with_reps) != len(rows) else ""
    )
    head = meta_list(
        [
            ("Sessions", esc(sessions_text)),
            ("Period", esc(span)),
            ("Current ROM limit", esc(num(limit_now, 0, "mm", missing="none set"))),
        ]
        + ([("Notes", esc(info["notes"]))] if info.get("notes") else [])
    )
    sections: list[str] = []

    items: list[tuple[str, str]] = []
    if not with_reps:
        items.append(("info", "No sessions with completed reps yet."))
    else:
        total = sum(int(r.get("reps") or 0) for r in with_reps)
        items.append(
            (
                "info",
                f"{plural(total, 'rep')} over {plural(len(with_reps), 'session')}.",
            )
        )
        for key, what in (
            ("lift_offs", "Reps with the lower back lifted"),
            ("rom_exceeded", "Reps past the ROM limit"),
        ):
            t = _trend(with_reps, key, what)
            if t is not None:
                items.append(t)
        first_lift = _lift_off_trend(with_reps)
        if first_lift is not None:
            items.append(first_lift)
        depths = [finite(r.get("max_depth_mm")) for r in with_reps]
        if len(with_reps) >= 2 and depths[0] is not None and depths[-1] is not None:
            items.append(
                (
                    "info",
                    f"Deepest rep: {num(depths[0], 0, 'mm')} in the first session, "
                    f"{num(depths[-1], 0, 'mm')} in the latest.",
                )
            )
    lis = "".join(f'<li class="{k}">{esc(text)}</li>' for k, text in items)
    latest = with_reps[-1] if with_reps else None
    cards = ""
    if latest is not None:
        lift = int(latest.get("lift_offs") or 0)
        over = int(latest.get("rom_exceeded") or 0)
        cards = (
            '<div class="cards">'
            + card(str(len(rows)), "Sessions", "", "info")
            + card(
                f"{lift}/{latest.get('reps')}",
                "Back lifted, latest",
                "reps with the lower back lifted, of the completed reps",
                "warn" if lift else "ok",
            )
            + card(
                f"{over}/{latest.get('reps')}",
                "Past limit, latest",
                "reps past the limit, of the completed reps",
                "warn" if over else "ok",
            )
            + card(
                num(latest.get("max_depth_mm"), 0, "mm"),
                "Deepest, latest",
                date_only(latest.get("started_at")),
                "info",
            )
            + "</div>"
        )
    sections.append(
        '<section id="summary" aria-labelledby="h-summary"><h2 id="h-summary">Summary</h2>'
        f'<ul class="findings">{lis}</ul>{cards}</section>'
    )
    if with_reps:
        alt = (
            f"Four charts over {len(with_reps)} sessions: the deepest rep and the depth where the "
            "lower back first lifted, against the limit; the share of reps with the lower back "
            "lifted; the share of reps past the limit; and mean lowering and pushing time."
        )
        sections.append(
            '<section id="charts" aria-labelledby="h-charts"><h2 id="h-charts">Trends</h2>'
            + figure(
                plots.progress(with_reps),
                alt,
                "One point or bar per session (date and session number below). Bars are the "
                "share of that session's completed reps (the label says how many of how many); "
                "hatched vermilion marks reps that lifted the lower back or went past the limit; "
                "vermilion squares mark sessions whose deepest rep was past the limit in force; "
                "triangles mark the shallowest depth at which the lower back lifted.",
                "fig-progress",
            )
            + "</section>"
        )
    table_rows = []
    classes = []
    for r in rows:
        lift = int(r.get("lift_offs") or 0)
        over = int(r.get("rom_exceeded") or 0)
        n = int(r.get("reps") or 0)
        flagged = lift or over
        classes.append("flagged" if flagged else "")
        table_rows.append(
            [
                esc(date_short(r.get("started_at"))),
                esc(f"#{r['id']}"),
                esc(r.get("machine") or "–"),
                esc(r.get("reps") or 0),
                esc(r.get("sets") or 0),
                num(r.get("max_depth_mm"), 0),
                num(r.get("rom_limit_mm"), 0),
                num(r.get("lift_off_depth_mm"), 0),
                badge(rate_text(lift, n), "warn" if lift else "ok"),
                badge(rate_text(over, n), "warn" if over else "ok"),
                esc(r.get("form_events") or 0),
                num(r.get("mean_lowering_s"), 1),
                num(r.get("mean_pushing_s"), 1),
            ]
        )
    sections.append(
        '<section id="sessions" aria-labelledby="h-sessions"><h2 id="h-sessions">Sessions</h2>'
        + table(
            [
                "Date",
                "Session",
                "Machine",
                "Reps",
                "Sets",
                "Deepest (mm)",
                "Limit (mm)",
                "Lifted at (mm)",
                "Back lifted",
                "Past limit",
                "Form alerts",
                "Lowering (s)",
                "Pushing (s)",
            ],
            table_rows,
            numeric=(3, 4, 5, 6, 7, 8, 9, 10, 11, 12),
            nowrap=(0,),
            row_classes=classes,
            caption="Back lifted and past limit count completed reps, of all the session's "
            "completed reps; lifted at is the shallowest sled depth at which the lower back "
            "lifted; tempo is the mean per rep. "
            "The session report (legpress report NUMBER) shows one session in detail.",
        )
        + "</section>"
    )
    title = f"Leg press progress — {name}"
    return page(title, "Leg press progress report", name, head, "\n".join(sections))


def render_progress_report(
    person: str | Person | Mapping[str, Any],
    sessions: Sequence[Any],
    out: str | os.PathLike[str],
) -> Path:
    """Write one person's progress across sessions as a self-contained HTML file.

    Args:
        person: the person's name, their :class:`~legpress.session.Person`, or its
            :meth:`~legpress.session.Person.to_dict` (name, limits, notes).
        sessions: their sessions as :class:`~legpress.storage.store.SessionRow` objects or
            their ``to_dict()`` (what :meth:`SessionStore.list_sessions` gives), any order.
        out: the HTML file to write.

    Returns:
        The path written.

    Raises:
        MissingDependencyError: matplotlib is not installed.
        UsageError: ``out`` cannot be written.
    """
    return write_html(progress_report_html(person, sessions), out)


__all__ = ["progress_report_html", "render_progress_report"]
