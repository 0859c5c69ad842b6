"""The session report: one self-contained HTML page about one session."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from legpress.detect.config import DetectorConfig
from legpress.detect.events import FORM_EVENT_TYPES, Event, EventType
from legpress.dsp.calibration import CalibratedBlock
from legpress.report import plots
from legpress.report.html import (
    MACHINE_KINDS,
    badge,
    card,
    date_time,
    esc,
    figure,
    kv_table,
    meta_list,
    notice,
    num,
    page,
    pct,
    plural,
    rep_list,
    table,
)
from legpress.report.series import lift_off_spans, lower_back_contact
from legpress.report.write import write_html
from legpress.session import (
    LinkQuality,
    Session,
    SessionRep,
    SessionStats,
    clock,
    finite,
    summary_figures,
)


def _reps_by_events(reps: Sequence[SessionRep], etype: EventType) -> list[int]:
    return [r.index + 1 for r in reps if etype in r.events]


def _findings(session: Session, limit: float | None) -> str:
    reps = session.reps
    st = session.stats
    items: list[tuple[str, str]] = []
    if not reps:
        items.append(("info", "No complete reps were recorded in this session."))
    else:
        deepest = num(st.max_depth_mm, 0, "mm")
        items.append(
            (
                "info",
                f"{plural(len(reps), 'rep')} in {plural(st.sets or 1, 'set')}; "
                f"the deepest went to {deepest}"
                + (f" (limit {num(limit, 0, 'mm')})." if limit is not None else "."),
            )
        )
        lifted = [r for r in reps if r.lift_off]
        if lifted:
            depths = [finite(r.lift_off_depth_mm) for r in lifted]
            known = [d for d in depths if d is not None]
            where = f", from {num(min(known), 0, 'mm')} of sled travel" if known else ""
            items.append(
                (
                    "warn",
                    f"The lower back lifted off the pad in {plural(len(lifted), 'rep')} "
                    f"({rep_list([r.index + 1 for r in lifted])}){where}.",
                )
            )
            within = [
                d
                for r, d in zip(lifted, depths, strict=True)
                if d is not None and not r.rom_exceeded
            ]
            if limit is not None and within and min(within) < limit:
                items.append(
                    (
                        "info",
                        f"The lower back lifted at {num(min(within), 0, 'mm')}, before the "
                        f"{num(limit, 0, 'mm')} limit was reached: the limit may be deeper than "
                        "this person can go with the lower back on the pad.",
                    )
                )
        else:
            items.append(("ok", "The lower back stayed on the pad in every rep."))
        if limit is None:
            items.append(("info", "No ROM limit was set, so depth was not checked."))
        else:
            over = [r for r in reps if r.rom_exceeded]
            if over:
                worst = max((finite(r.depth_mm) or 0.0) - limit for r in over)
                items.append(
                    (
                        "warn",
                        f"{plural(len(over), 'rep')} went past the {num(limit, 0, 'mm')} limit "
                        f"({rep_list([r.index + 1 for r in over])}), by up to "
                        f"{num(max(worst, 0.0), 0, 'mm')}.",
                    )
                )
            else:
                items.append(("ok", f"Every rep stayed within the {num(limit, 0, 'mm')} limit."))
        form = []
        for etype in FORM_EVENT_TYPES:
            which = _reps_by_events(reps, etype)
            if which:
                form.append(f"{etype.label.lower()} in {rep_list(which)}")
        if form:
            items.append(("warn", "Form: " + "; ".join(form) + "."))
        else:
            items.append(("ok", "No other form alerts (fast lowering, bouncing, locked knees)."))
    partial = session.partial_rep
    if partial is not None:
        items.append(
            (
                "info",
                f"The session ended in the middle of {partial.describe()}; it is not counted "
                "above, and its alerts are listed as partial.",
            )
        )
    if session.status == "interrupted":
        items.append(
            (
                "warn",
                "This session was interrupted: the program recording it stopped (killed, "
                "crashed or powered off) before it ended, so what came after its last stored "
                "rep is missing here (the recording file may hold more).",
            )
        )
    elif session.status == "running":
        items.append(("info", "This session had not ended when the report was made."))
    lis = "".join(f'<li class="{k}">{esc(text)}</li>' for k, text in items)
    return f'<ul class="findings">{lis}</ul>'


def _cards(session: Session, limit: float | None) -> str:
    st = session.stats
    n, lift, over, form = st.reps, st.lift_offs, st.rom_exceeded, st.form_events
    out = [
        card(str(n), "Reps", plural(st.sets, "set"), "info"),
        card(
            str(lift),
            "Lower back lifted",
            "none" if lift == 0 else f"in {lift} of {n} reps",
            "warn" if lift else "ok",
        ),
        card(
            str(over) if limit is not None else "–",
            "Past the ROM limit",
            (
                "no limit set"
                if limit is None
                else ("none" if over == 0 else f"{over} of {n} reps; limit {num(limit, 0, 'mm')}")
            ),
            "warn" if over else ("info" if limit is None else "ok"),
        ),
        card(
            str(form),
            "Other form alerts",
            "none" if form == 0 else ", ".join(_form_counts(st)),
            "warn" if form else "ok",
        ),
        card(
            num(st.mean_lowering_s, 1),
            "Mean lowering time",
            f"pushing {num(st.mean_pushing_s, 1, 's')}",
            "info",
            unit="s" if finite(st.mean_lowering_s) is not None else "",
        ),
    ]
    link = _link_quality(session.link)
    if link is not None:
        out.append(card(link[0], "Link quality", link[1], link[2]))
    return '<div class="cards">' + "".join(out) + "</div>"


def _form_counts(st: SessionStats) -> list[str]:
    by_type = st.events_by_type
    return [f"{by_type[t]} {t.label.lower()}" for t in FORM_EVENT_TYPES if by_type.get(t)]


def _link_quality(link: LinkQuality | None) -> tuple[str, str, str] | None:
    """(value, detail, kind) from the packet-loss numbers, if known."""
    if link is None:
        return None
    lost, received = link.lost_packets, link.received_packets
    if received:
        share = lost / (received + lost)
        value = "100 %" if lost == 0 else f"{100 * (1 - share):.1f} %"
        detail = f"{lost} of {received + lost} packets lost"
    else:
        value = "OK" if lost == 0 else f"{lost} lost"
        detail = "packets lost" if lost else "no packets lost"
    return value, detail, "ok" if lost == 0 else ("warn" if lost > 10 else "info")


def _settings(session: Session, cfg: DetectorConfig, limit: float | None) -> str:
    person = session.person
    if limit is None:
        limit_text = "none set (ROM alerts were off)"
    else:
        limit_text = num(limit, 0, "mm") + " of sled travel from the top"
        if person is not None and person.rom_limit_mm == limit:
            limit_text += " (the therapist's limit)"
        current = person.effective_limit_mm if person is not None else None
        if current is not None and current != limit:
            limit_text += f"; the person's limit is now {num(current, 0, 'mm')}"
    pairs = [
        ("ROM limit", esc(limit_text)),
        (
            "ROM warning",
            esc(
                f"{cfg.rom_warning_lead_s:g} s before reaching the limit at the current speed, "
                f"and at least {cfg.rom_warning_min_mm:g} mm before it"
            ),
        ),
        (
            "Lift-off",
            esc(cfg.lift_off_rule()),
        ),
        ("Fast lowering", esc(f"lowering in less than {cfg.fast_lowering_s:g} s")),
        (
            "Bounce",
            esc(
                f"arriving at the bottom faster than {cfg.bounce_velocity_mm_s:g} mm/s and "
                f"reversing within {cfg.bounce_reversal_s:g} s"
            ),
        ),
        (
            "Knee lock",
            esc(f"the sled rising {-cfg.lockout_depth_mm:g} mm or more past the set's own top"),
        ),
    ]
    cal = session.calibration
    if isinstance(cal, Mapping):
        tare = cal.get("tare_counts") or []
        cal_text = (
            f"{num(cal.get('counts_per_mm'), 2)} encoder counts per mm "
            f"({cal.get('source', 'unknown')}); zero at {cal.get('zero_counts', 0)} counts; "
            + (f"pad tared ({len(tare)} cells)" if tare else "pad not tared")
        )
    else:
        cal_text = "not recorded"
    right = [("Calibration", esc(cal_text))]
    if session.recording_path:
        right.append(("Recording", f"<code>{esc(session.recording_path)}</code>"))
    for key, value in summary_figures(session.summary):
        label = key.replace("_", " ").replace(".", ": ")
        right.append((label[:1].upper() + label[1:], esc(value)))
    return (
        '<div class="cols">'
        + kv_table(pairs, "Detector settings in force")
        + kv_table(right, "Calibration and recording")
        + "</div>"
    )


def _rep_table(reps: Sequence[SessionRep], limit: float | None) -> str:
    rows = []
    classes = []
    for r in reps:
        flags = []
        depth = finite(r.depth_mm)
        if r.rom_exceeded:
            past = f" (+{depth - limit:.0f} mm)" if depth is not None and limit else ""
            flags.append(badge("past limit" + past, "warn"))
        if r.lift_off:
            at = finite(r.lift_off_depth_mm)
            flags.append(badge("back lifted" + (f" at {at:.0f} mm" if at else ""), "warn"))
        for etype in FORM_EVENT_TYPES:
            if etype in r.events:
                flags.append(badge(etype.label.lower(), "warn"))
        if not flags:
            flags.append(badge("ok", "ok"))
        classes.append("flagged" if any("warn" in f for f in flags) else "")
        rows.append(
            [
                esc(r.set + 1),
                esc(r.index + 1),
                num(depth, 0),
                num(r.lowering_s, 2),
                num(r.pushing_s, 2),
                num(r.tut_s, 1),
                pct(r.lumbar_contact_min),
                num(r.lift_off_s, 2) if r.lift_off else "–",
                " ".join(flags),
            ]
        )
    return table(
        [
            "Set",
            "Rep",
            "Depth (mm)",
            "Lowering (s)",
            "Pushing (s)",
            "Under tension (s)",
            "Lowest lower-back position",
            "Back off pad (s)",
            "Flags",
        ],
        rows,
        numeric=range(0, 8),
        nowrap=(8,),
        row_classes=classes,
        caption="Lowest lower-back position: the least value during the rep of the quantity the "
        "lift-off rule decides on, the lower back's share of the pad load placed between this "
        "person's floor (0 %) and their clean reps at the same depth (100 %); lift-off below "
        f"{DetectorConfig().liftoff_position * 100:.0f} % with the default settings, "
        f"{DetectorConfig().liftoff_shift_position * 100:.0f} % where the load has moved up the "
        "back or the sled is past the depth where this person's back lifted (the settings "
        "section gives the whole rule).",
    )


def _event_table(events: Sequence[Event], partial: int | None = None) -> str:
    rows = []
    for e in events:
        rows.append(
            [
                esc(clock(e.t_s, 1)),
                esc(f"{e.rep + 1} (partial)" if e.rep == partial else e.rep + 1),
                badge(e.type.label, "warn" if e.type.marks_rep else "info"),
                esc(e.message),
            ]
        )
    return table(
        ["Time", "Rep", "Alert", "Why it fired"],
        rows,
        numeric=(0, 1),
        nowrap=(0, 2),
        caption="Alerts at the moment the live system raised them, with the numbers behind each.",
    )


def _all_settings(cfg: Mapping[str, Any] | None) -> str:
    if not isinstance(cfg, Mapping) or not cfg:
        return "<p>The detector settings were not recorded with this session.</p>"
    pairs = [(k, esc("none" if v is None else v)) for k, v in sorted(cfg.items())]
    half = (len(pairs) + 1) // 2
    return '<div class="cols">' + kv_table(pairs[:half]) + kv_table(pairs[half:]) + "</div>"


def session_report_html(
    session: Session, series: CalibratedBlock | None = None, recording_problem: str = ""
) -> str:
    """The session report as an HTML string (see :func:`render_session_report`).

    Raises:
        MissingDependencyError: matplotlib is not installed.
    """
    plots.require_matplotlib()
    reps = session.reps
    events = session.events
    cfg = session.detector_config
    limit = session.rom_limit_mm
    person = session.person.name if session.person else "anonymous"
    machine = session.machine.name if session.machine else None
    kind = MACHINE_KINDS.get(session.machine.kind, "") if session.machine else ""
    device = session.device_name
    url = session.device_url
    head = meta_list(
        [
            ("Date", esc(date_time(session.started_at))),
            ("Machine", esc(f"{machine} ({kind})" if machine and kind else machine or "not set")),
            (
                "Device",
                esc(device or url or "unknown")
                + (f' <span class="small">{esc(url)}</span>' if device and url else ""),
            ),
            ("Session", esc(f"#{session.id if session.id is not None else '?'}")),
            ("Active time", esc(clock(session.stats.active_s))),
        ]
    )
    notes = ""
    if session.notes.strip():
        paragraphs = "".join(
            f"<p>{esc(line)}</p>" for line in session.notes.strip().splitlines() if line.strip()
        )
        notes = f'<h3 id="notes">Notes</h3><div class="notes">{paragraphs}</div>'
    sections = [
        '<section id="summary" aria-labelledby="h-summary">'
        '<h2 id="h-summary">Summary</h2>'
        + _findings(session, limit)
        + _cards(session, limit)
        + notes
        + "</section>"
    ]

    charts = ['<section id="charts" aria-labelledby="h-charts"><h2 id="h-charts">Charts</h2>']
    if reps:
        over = [r.index + 1 for r in reps if r.rom_exceeded]
        alt = (
            f"Bar chart of the deepest sled travel in each of {len(reps)} reps"
            + (f" against the {limit:.0f} mm limit" if limit is not None else "")
            + (f"; {rep_list(over)} went past it." if over else ".")
        )
        charts.append('<h3 id="depth">Depth of each rep</h3>')
        charts.append(
            figure(
                plots.depth_per_rep(reps, limit),
                alt,
                "Each bar is one rep's deepest sled travel. Hatched vermilion bars went past the "
                "limit (the number is how far, in mm); a white triangle marks where the lower "
                "back began to lift.",
                "fig-depth",
            )
        )
    charts.append('<h3 id="contact">Sled depth and what the lift-off rule saw</h3>')
    if series is not None and len(series) > 1:
        trace = lower_back_contact(series, reps, events, cfg)
        spans = lift_off_spans(reps, events)
        windows = _windows(session, series)
        for k, (label, t0, t1, rs) in enumerate(windows):
            lifted = [i + 1 for _, _, i in spans if any(r.index == i for r in rs)]
            alt = (
                f"Two stacked line charts for {label}: sled depth, and the lower back's share of "
                "the pad load against this person's clean reps, with the lift-off threshold"
                + (f"; the lower back left the pad in {rep_list(lifted)}." if lifted else ".")
            )
            charts.append(
                figure(
                    plots.timeline(
                        trace,
                        t0,
                        t1,
                        rs,
                        spans,
                        limit,
                        cfg.liftoff_position,
                        cfg.liftoff_front_share,
                        cfg.liftoff_shift_position,
                    ),
                    alt,
                    "Top: sled depth (rep numbers at each bottom). Bottom: what the lift-off "
                    "rule decides on, as the detector computed it. Teal: the lower-back cells' "
                    f"({_cells(trace.cells)}, of {series.n_cells} cells at "
                    f"{trace.cell_pitch_mm:g} mm) share of the pad load, placed between this "
                    "person's floor (0 %) and their clean reps at the same depth (100 %); "
                    f"lift-off when it stays under the dashed line for "
                    f"{cfg.liftoff_min_on_s * 1000:.0f} ms: {cfg.liftoff_position * 100:.0f} %, "
                    f"or {cfg.liftoff_shift_position * 100:.0f} % where the whole pad carries "
                    f"{cfg.liftoff_shift_total:.2f} times its load at the top or more while the "
                    "lower back's share falls (the load has moved up the back), or the sled "
                    "is past the depth where this person's back lifted. Grey: the "
                    "contact front, the lower of the cell just above the lower back (its share "
                    "against the cells above it) and the highest lower-back cell (its share, "
                    f"times {cfg.liftoff_front_share / cfg.liftoff_top_empty:g}: under the line "
                    f"when it is under {cfg.liftoff_top_empty * 100:.0f} %, empty); lift-off also "
                    f"when it stays under {cfg.liftoff_front_share * 100:.0f} %. Shaded bands "
                    "are the lift-offs the detector reported.",
                    f"fig-timeline-{k + 1}",
                    title=label,
                )
            )
    else:
        why = (
            recording_problem
            or (
                f"The recording of this session ({session.recording_path}) was not available"
                if session.recording_path
                else "This session has no linked recording"
            )
        ).rstrip(".")
        charts.append(
            notice(
                f"{why}, so the time course of sled depth and lower-back contact is not shown. "
                "The rep and alert tables below come from the session database and are complete."
            )
        )
    if reps:
        fast = _reps_by_events(reps, EventType.FAST_LOWERING)
        charts.append('<h3 id="tempo">Tempo of each rep</h3>')
        charts.append(
            figure(
                plots.tempo_per_rep(reps, cfg.fast_lowering_s),
                f"Bar chart of lowering and pushing durations for each of {len(reps)} reps"
                + (f"; lowering was too fast in {rep_list(fast)}." if fast else "."),
                "Solid blue: lowering (down); dotted orange: pushing (up). A controlled lowering "
                "protects the lower back; reps lowered faster than the dashed line are labelled "
                "“fast”.",
                "fig-tempo",
            )
        )
    charts.append("</section>")
    sections.append("".join(charts))

    sections.append(
        '<section id="reps" aria-labelledby="h-reps"><h2 id="h-reps">Reps</h2>'
        + (_rep_table(reps, limit) if reps else "<p>No complete reps.</p>")
        + "</section>"
    )
    partial = session.partial_rep
    partial_index = partial.index if partial is not None else None
    sections.append(
        '<section id="events" aria-labelledby="h-events"><h2 id="h-events">Alerts</h2>'
        + (_event_table(events, partial_index) if events else "<p>No alerts were raised.</p>")
        + "</section>"
    )
    sections.append(
        '<section id="settings" aria-labelledby="h-settings">'
        '<h2 id="h-settings">Settings used</h2>' + _settings(session, cfg, limit) + "</section>"
    )
    sections.append(
        '<section id="technical" aria-labelledby="h-technical">'
        '<h2 id="h-technical">Technical details</h2>'
        '<p class="small">Every detector threshold as recorded with the session, for '
        "reproducing the analysis.</p>" + _all_settings(session.config) + "</section>"
    )
    title = f"Leg press session — {person} — {date_time(session.started_at)}"
    return page(title, "Leg press session report", str(person), head, "\n".join(sections))


def _cells(cells: tuple[int, ...]) -> str:
    if not cells:
        return "none in contact"
    return ("cell " if len(cells) == 1 else "cells ") + ", ".join(str(c) for c in cells)


def _windows(
    session: Session, series: CalibratedBlock
) -> list[tuple[str, float, float, list[SessionRep]]]:
    """One time window per set (label, start, end, its reps); the whole series without reps."""
    t_first, t_last = float(series.t_s[0]), float(series.t_s[-1])
    sets = session.sets
    out = []
    for s in sets:
        rs = session.set_reps(s.index)
        t0 = max(t_first, s.t_start_s - 3.0)
        t1 = min(t_last, s.t_end_s + 3.0)
        if t1 > t0:
            nums = [r.index + 1 for r in rs]
            span = f"reps {min(nums)}–{max(nums)}" if len(nums) > 1 else rep_list(nums)
            label = (f"Set {s.index + 1}, " if len(sets) > 1 else "") + span
            out.append((label[0].upper() + label[1:], t0, t1, rs))
    if not out:
        out.append(("The whole recording", t_first, t_last, list(session.reps)))
    return out


def render_session_report(
    session: Session,
    series: CalibratedBlock | None,
    out: str | os.PathLike[str],
    recording_problem: str = "",
) -> Path:
    """Write the report of one session as a self-contained HTML file.

    Args:
        session: the session, as :meth:`legpress.storage.store.SessionStore.get_session` gives
            it (or :meth:`legpress.session.Session.from_dict` reads its JSON export).
        series: the session's samples (its recording, decoded and calibrated) for the time
            course of depth and lower-back contact; None when the recording is not available
            (the report says so instead).
        out: the HTML file to write (its folder must exist).
        recording_problem: one sentence saying why ``series`` is missing; the report shows it
            in place of the time course.

    Returns:
        The path written.

    Raises:
        MissingDependencyError: matplotlib is not installed.
        RecordingError: ``out`` cannot be written.
    """
    return write_html(session_report_html(session, series, recording_problem), out)


__all__ = ["render_session_report", "session_report_html"]
