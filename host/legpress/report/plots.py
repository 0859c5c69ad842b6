"""The report's charts, drawn with matplotlib's object API on the Agg canvas (no pyplot, no
global backend, no display) and returned as PNG data URIs.

Colours are the Okabe–Ito palette (distinguishable with colour-vision deficiencies), and every
coloured mark also differs in pattern or shape and is named in a legend or a text label.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, Final, cast

import numpy as np

from legpress.detect.events import EventType
from legpress.errors import MissingDependencyError
from legpress.report.html import date_only
from legpress.report.series import ContactTrace, envelope
from legpress.session import SessionRep, clock, finite

BLUE: Final = "#0072B2"
VERMILLION: Final = "#D55E00"
ORANGE: Final = "#E69F00"
TEAL: Final = "#00796B"
INK: Final = "#1b1f24"
GREY: Final = "#6b7280"
DPI: Final = 130

_STYLE: Final = {
    "font.family": "DejaVu Sans",
    "font.size": 11.5,
    "axes.titlesize": 13,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.labelsize": 11.5,
    "axes.labelcolor": INK,
    "axes.edgecolor": "#9aa4ae",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "axes.axisbelow": True,
    "grid.color": "#e2e6ea",
    "grid.linewidth": 0.9,
    "xtick.color": INK,
    "ytick.color": INK,
    "legend.frameon": False,
    "legend.fontsize": 10.5,
    "hatch.linewidth": 1.2,
    "figure.facecolor": "white",
}


def require_matplotlib() -> None:
    """Check that matplotlib can be imported.

    Raises:
        MissingDependencyError: it cannot; the message says how to install it.
    """
    try:
        import matplotlib  # noqa: F401
        from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    except ImportError:
        raise MissingDependencyError(
            "reports need matplotlib: pip install 'legpress[report]'"
        ) from None


@contextmanager
def _figure(width: float, height: float, **kw: Any) -> Iterator[Any]:
    require_matplotlib()
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context(cast(Any, _STYLE)):
        fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained", **kw)
        FigureCanvasAgg(fig)
        yield fig


def _png(fig: Any) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, metadata={"Software": None})
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _clock_axis(ax: Any) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(nbins=10, steps=[1, 2, 2.5, 5, 10]))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _pos: clock(x)))


# -- per session -------------------------------------------------------------------------------


def _positions(reps: Sequence[SessionRep]) -> tuple[list[float], list[tuple[int, float]]]:
    """x of each rep, with a gap between sets; and (set, centre x) of each set."""
    xs: list[float] = []
    centres: list[tuple[int, float]] = []
    x = 0.0
    prev: int | None = None
    group: list[float] = []
    for r in reps:
        s = r.set
        if prev is not None and s != prev:
            centres.append((prev, sum(group) / len(group)))
            group = []
            x += 0.9
        xs.append(x)
        group.append(x)
        prev = s
        x += 1.0
    if group and prev is not None:
        centres.append((prev, sum(group) / len(group)))
    return xs, centres


def _rep_ticks(ax: Any, xs: list[float], reps: Sequence[SessionRep]) -> None:
    step = 1 if len(xs) <= 30 else math.ceil(len(xs) / 30)
    ax.set_xticks(xs[::step], [str(r.index + 1) for r in reps][::step])
    ax.set_xlim(min(xs) - 0.7, max(xs) + 0.7)


def _set_labels(ax: Any, centres: list[tuple[int, float]]) -> None:
    if len(centres) < 2:
        return
    for s, cx in centres:
        ax.annotate(
            f"Set {s + 1}",
            xy=(cx, 0),
            xycoords=("data", "axes fraction"),
            xytext=(0, -24),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=11,
            fontweight="bold",
            color=GREY,
        )


def depth_per_rep(reps: Sequence[SessionRep], limit_mm: float | None) -> str:
    """Bar per rep of its deepest sled travel against the limit; bars past the limit are
    vermilion, hatched and labelled with how far past; lift-off depths are marked."""
    from matplotlib.patches import Patch

    with _figure(10, 4.2) as fig:
        ax = fig.add_subplot()
        xs, centres = _positions(reps)
        depths = [finite(r.depth_mm) or 0.0 for r in reps]
        over = [limit_mm is not None and d > limit_mm for d in depths]
        ax.bar(
            xs,
            depths,
            width=0.72,
            color=[VERMILLION if o else BLUE for o in over],
            hatch=["//" if o else "" for o in over],
            edgecolor=["#7a2e00" if o else BLUE for o in over],
            linewidth=0.8,
        )
        top = max([*depths, limit_mm or 0.0, 1.0])
        handles: list[Any] = [Patch(facecolor=BLUE, edgecolor=BLUE, label="within the limit")]
        if limit_mm is not None:
            ax.axhline(limit_mm, color=INK, linestyle=(0, (6, 3)), linewidth=1.6)
            ax.annotate(
                f"limit\n{limit_mm:.0f} mm",
                xy=(1, limit_mm),
                xycoords=("axes fraction", "data"),
                xytext=(6, 0),
                textcoords="offset points",
                ha="left",
                va="center",
                fontsize=11,
                fontweight="bold",
                color=INK,
            )
            handles.append(
                Patch(
                    facecolor=VERMILLION, edgecolor="#7a2e00", hatch="//", label="past the limit"
                )
            )
            for x, d, o in zip(xs, depths, over, strict=True):
                if o:
                    ax.text(
                        x,
                        d + top * 0.015,
                        f"+{d - limit_mm:.0f}",
                        ha="center",
                        va="bottom",
                        fontsize=10,
                        fontweight="bold",
                        color="#7a2e00",
                    )
        lifts = [
            (x, finite(r.lift_off_depth_mm)) for x, r in zip(xs, reps, strict=True) if r.lift_off
        ]
        lifts_known = [(x, d) for x, d in lifts if d is not None]
        if lifts_known:
            from matplotlib.lines import Line2D

            ax.scatter(
                [x for x, _ in lifts_known],
                [d for _, d in lifts_known],
                marker="v",
                s=70,
                color="white",
                edgecolor=INK,
                linewidth=1.6,
                zorder=3,
            )
            handles.append(
                Line2D(
                    [],
                    [],
                    marker="v",
                    linestyle="none",
                    markersize=9,
                    markerfacecolor="white",
                    markeredgecolor=INK,
                    markeredgewidth=1.6,
                    label="lower back lifted (depth where it began)",
                )
            )
        ax.set_ylim(0, top * 1.14)
        ax.set_ylabel("deepest sled travel (mm)")
        ax.set_xlabel("rep number", labelpad=26 if len(centres) > 1 else 4)
        _rep_ticks(ax, xs, reps)
        _set_labels(ax, centres)
        ax.legend(handles=handles, loc="upper left", ncols=3, bbox_to_anchor=(0, 1.16))
        return _png(fig)


def tempo_per_rep(reps: Sequence[SessionRep], fast_lowering_s: float | None) -> str:
    """Lowering and pushing durations per rep, side by side; too-fast lowering is labelled."""
    from matplotlib.patches import Patch

    with _figure(10, 3.8) as fig:
        ax = fig.add_subplot()
        xs, centres = _positions(reps)
        low = [finite(r.lowering_s) or 0.0 for r in reps]
        push = [finite(r.pushing_s) or 0.0 for r in reps]
        w = 0.38
        ax.bar([x - w / 2 for x in xs], low, width=w, color=BLUE, edgecolor=BLUE)
        ax.bar(
            [x + w / 2 for x in xs], push, width=w, color=ORANGE, edgecolor="#8a5a00", hatch=".."
        )
        top = max([*low, *push, fast_lowering_s or 0.0, 0.5])
        handles: list[Any] = [
            Patch(facecolor=BLUE, edgecolor=BLUE, label="lowering (down)"),
            Patch(facecolor=ORANGE, edgecolor="#8a5a00", hatch="..", label="pushing (up)"),
        ]
        if fast_lowering_s:
            from matplotlib.lines import Line2D

            ax.axhline(fast_lowering_s, color=VERMILLION, linestyle=(0, (2, 2)), linewidth=1.6)
            handles.append(
                Line2D(
                    [],
                    [],
                    color=VERMILLION,
                    linestyle=(0, (2, 2)),
                    linewidth=1.6,
                    label=f"lowering under {fast_lowering_s:g} s is flagged",
                )
            )
            for x, lo, r in zip(xs, low, reps, strict=True):
                if EventType.FAST_LOWERING in r.events or (0 < lo < fast_lowering_s):
                    ax.text(
                        x - w / 2,
                        lo + top * 0.02,
                        "fast",
                        ha="center",
                        va="bottom",
                        fontsize=10,
                        fontweight="bold",
                        color="#7a2e00",
                        rotation=90,
                    )
        ax.set_ylim(0, top * 1.25)
        ax.set_ylabel("duration (s)")
        ax.set_xlabel("rep number", labelpad=26 if len(centres) > 1 else 4)
        _rep_ticks(ax, xs, reps)
        _set_labels(ax, centres)
        ax.legend(handles=handles, loc="upper left", ncols=3, bbox_to_anchor=(0, 1.18))
        return _png(fig)


def timeline(
    trace: ContactTrace,
    t0: float,
    t1: float,
    reps: Sequence[SessionRep],
    spans: Sequence[tuple[float, float, int]],
    limit_mm: float | None,
    on_ratio: float,
    front_ratio: float | None = None,
    shift_ratio: float | None = None,
) -> str:
    """Sled depth (top) and the lift-off rule's signals (bottom) from ``t0`` to ``t1``, with
    lift-off shaded and labelled, the limit and the lift-off thresholds drawn and named: the
    position's threshold as it was in force at each sample (``trace.threshold``: ``on_ratio``,
    or ``shift_ratio`` where the load had moved up the back), the front's ``front_ratio``."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    sel = (trace.t_s >= t0) & (trace.t_s <= t1)
    t = trace.t_s[sel]
    with _figure(10, 5.0) as fig:
        ax1, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=[1.25, 1])
        td, d = envelope(t, trace.depth_mm[sel])
        ax1.plot(td, d, color=BLUE, linewidth=1.7)
        handles1: list[Any] = [Line2D([], [], color=BLUE, linewidth=1.7, label="sled depth")]
        dmax = float(np.nanmax(d)) if d.size and not np.all(np.isnan(d)) else 1.0
        if limit_mm is not None:
            ax1.axhline(limit_mm, color=INK, linestyle=(0, (6, 3)), linewidth=1.4)
            handles1.append(
                Line2D([], [], color=INK, linestyle=(0, (6, 3)), label=f"limit {limit_mm:.0f} mm")
            )
            past = d > limit_mm
            if past.any():
                ax1.fill_between(
                    td,
                    limit_mm,
                    d,
                    where=past,
                    color=VERMILLION,
                    alpha=0.45,
                    hatch="//",
                    edgecolor="#7a2e00",
                    linewidth=0,
                    interpolate=True,
                )
                handles1.append(
                    Patch(
                        facecolor=VERMILLION,
                        alpha=0.45,
                        hatch="//",
                        edgecolor="#7a2e00",
                        label="past the limit",
                    )
                )
        top = max(dmax, limit_mm or 0.0, 1.0) * 1.18
        for r in reps:
            tb = finite(r.t_bottom_s)
            db = finite(r.depth_mm)
            if tb is not None and db is not None and t0 <= tb <= t1:
                ax1.text(
                    tb,
                    db + top * 0.03,
                    str(r.index + 1),
                    ha="center",
                    va="bottom",
                    fontsize=10,
                    color=INK,
                    fontweight="bold",
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none"},
                    zorder=4,
                )
        ax1.set_ylim(min(0.0, float(np.nanmin(d)) if d.size else 0.0) - 5, top)
        ax1.set_ylabel("depth (mm)")
        ax1.legend(handles=handles1, loc="upper left", ncols=3, bbox_to_anchor=(0, 1.22))

        tc, c = envelope(t, np.clip(trace.contact[sel], -0.2, 1.25) * 100.0)
        ax2.plot(tc, c, color=TEAL, linewidth=1.6)
        thr = trace.threshold[sel] if trace.threshold is not None else None
        stepped = thr is not None and bool(np.isfinite(thr).any())
        if thr is not None and stepped:
            # The threshold in force, sample by sample (it rises where the load moved up, or
            # past the depth where this person's back lifted).
            ax2.plot(
                t, thr * 100.0, color=VERMILLION, linestyle=(0, (2, 2)), linewidth=1.4,
                drawstyle="steps-post",
            )  # fmt: skip
        else:
            ax2.axhline(on_ratio * 100, color=VERMILLION, linestyle=(0, (2, 2)), linewidth=1.4)
        if trace.front is not None and front_ratio is not None:
            tf, f = envelope(t, np.clip(trace.front[sel], -0.2, 1.25) * 100.0)
            ax2.plot(tf, f, color=INK, linewidth=1.0, alpha=0.7)
            ax2.axhline(front_ratio * 100, color=INK, linestyle=(0, (1, 2)), linewidth=1.0)
        for a, b, _ in spans:
            if b >= t0 and a <= t1:
                for ax in (ax1, ax2):
                    ax.axvspan(
                        a,
                        b,
                        facecolor=VERMILLION,
                        alpha=0.14,
                        hatch="\\\\",
                        edgecolor="#b5481c",
                        linewidth=0,
                    )
                ax2.text(
                    (a + b) / 2,
                    112,
                    "lift-off",
                    ha="center",
                    va="bottom",
                    fontsize=10,
                    fontweight="bold",
                    color="#7a2e00",
                )
        handles2: list[Any] = [
            Line2D([], [], color=TEAL, linewidth=1.6, label="lower back (vs. clean reps)"),
            Line2D(
                [],
                [],
                color=VERMILLION,
                linestyle=(0, (2, 2)),
                label=f"lift-off below {on_ratio * 100:.0f} %"
                + (
                    f" ({shift_ratio * 100:.0f} % where the load moved up or past the "
                    "lift-off depth)"
                    if shift_ratio is not None and stepped
                    else ""
                ),
            ),
        ]
        if trace.front is not None and front_ratio is not None:
            handles2 += [
                Line2D([], [], color=INK, linewidth=1.0, alpha=0.7, label="cell above it"),
                Line2D(
                    [],
                    [],
                    color=INK,
                    linestyle=(0, (1, 2)),
                    label=f"or it below {front_ratio * 100:.0f} %",
                ),
            ]
        if any(b >= t0 and a <= t1 for a, b, _ in spans):
            handles2.append(
                Patch(
                    facecolor=VERMILLION,
                    alpha=0.14,
                    hatch="\\\\",
                    edgecolor="#b5481c",
                    label="lower back off the pad",
                )
            )
        ax2.set_ylim(-22, 128)
        ax2.set_yticks([0, 25, 50, 75, 100])
        ax2.set_ylabel("lower back (%)")
        ax2.set_xlabel("time since the start of the recording (m:ss)")
        ax2.legend(handles=handles2, loc="lower left", ncols=3, bbox_to_anchor=(0, -0.62))
        ax2.grid(True, axis="x", color="#eef0f2")
        ax1.grid(True, axis="x", color="#eef0f2")
        pad = max((t1 - t0) * 0.01, 0.2)
        ax2.set_xlim(t0 - pad, t1 + pad)
        _clock_axis(ax2)
        return _png(fig)


# -- progress ----------------------------------------------------------------------------------


def _series(
    ax: Any,
    xs: Sequence[int],
    values: Sequence[float | None],
    color: str,
    marker: str,
    linestyle: Any,
    width: float = 1.8,
    size: float = 7,
) -> None:
    """One line with markers over the sessions (unknown values leave a gap)."""
    ys = [np.nan if v is None else v for v in values]
    ax.plot(
        xs, ys, color=color, marker=marker, markersize=size, linewidth=width, linestyle=linestyle
    )


def progress(rows: Sequence[Mapping[str, Any]]) -> str:
    """Four panels over one person's sessions: deepest rep and the shallowest lift-off depth
    against the limit, the share of reps with the lower back lifted, the share of reps past
    the limit (each labelled how many of how many), and mean lowering/pushing durations."""
    from matplotlib.lines import Line2D

    n = len(rows)
    xs = list(range(n))
    step = 1 if n <= 14 else math.ceil(n / 14)
    labels = [f"{date_only(r.get('started_at'))[:-5]}\n#{r['id']}" for r in rows]

    def axis(ax: Any, title: str, ylabel: str) -> None:
        ax.set_title(title)
        ax.set_ylabel(ylabel)
        ax.set_xticks(xs[::step], labels[::step], fontsize=10)
        ax.set_xlim(-0.6, n - 0.4)

    with _figure(10, 7.4) as fig:
        (a, b), (c, d) = fig.subplots(2, 2)
        depth = [finite(r.get("max_depth_mm")) for r in rows]
        limits = [finite(r.get("rom_limit_mm")) for r in rows]
        yd = [np.nan if v is None else v for v in depth]
        a.plot(xs, yd, color=BLUE, marker="o", markersize=7, linewidth=1.8)
        handles: list[Any] = [
            Line2D([], [], color=BLUE, marker="o", linewidth=1.8, label="deepest rep")
        ]
        if any(v is not None for v in limits):
            yl = [np.nan if v is None else v for v in limits]
            a.step(xs, yl, where="mid", color=INK, linestyle=(0, (6, 3)), linewidth=1.4)
            handles.append(Line2D([], [], color=INK, linestyle=(0, (6, 3)), label="limit"))
            over = [
                (x, v)
                for x, v, lim in zip(xs, depth, limits, strict=True)
                if v is not None and lim is not None and v > lim
            ]
            if over:
                a.scatter(
                    [x for x, _ in over],
                    [v for _, v in over],
                    marker="s",
                    s=80,
                    color=VERMILLION,
                    edgecolor="#7a2e00",
                    zorder=3,
                )
                handles.append(
                    Line2D(
                        [],
                        [],
                        marker="s",
                        linestyle="none",
                        markersize=8,
                        markerfacecolor=VERMILLION,
                        markeredgecolor="#7a2e00",
                        label="past the limit",
                    )
                )
        lifted = [finite(r.get("lift_off_depth_mm")) for r in rows]
        if any(v is not None for v in lifted):
            _series(a, xs, lifted, ORANGE, "^", (0, (2, 2)), width=1.4, size=8)
            handles.append(
                Line2D(
                    [],
                    [],
                    color=ORANGE,
                    marker="^",
                    linestyle=(0, (2, 2)),
                    label="lower back lifted at",
                )
            )
        vals = [v for v in yd + [lim for lim in limits if lim is not None] if v == v]
        if vals:
            a.set_ylim(0, max(vals) * 1.2)
        a.legend(handles=handles, loc="lower left", ncols=2, fontsize=9.5)
        axis(a, "Deepest rep", "sled travel (mm)")

        for ax, key, title in (
            (b, "lift_offs", "Reps with the lower back lifted"),
            (c, "rom_exceeded", "Reps past the ROM limit"),
        ):
            counts = [int(r.get(key) or 0) for r in rows]
            totals = [int(r.get("reps") or 0) for r in rows]
            shares = [100.0 * k / t if t else 0.0 for k, t in zip(counts, totals, strict=True)]
            ax.bar(xs, shares, width=0.6, color=VERMILLION, edgecolor="#7a2e00", hatch="//")
            for x, share, k, total in zip(xs, shares, counts, totals, strict=True):
                ax.text(
                    x,
                    share + 1.5,
                    f"{k}/{total}",
                    ha="center",
                    va="bottom",
                    fontsize=10.5,
                    fontweight="bold",
                    color=INK,
                )
            ax.set_ylim(0, 118)
            axis(ax, title, "% of the session's reps")

        low = [finite(r.get("mean_lowering_s")) for r in rows]
        push = [finite(r.get("mean_pushing_s")) for r in rows]
        _series(d, xs, low, BLUE, "o", "-")
        _series(d, xs, push, ORANGE, "s", (0, (5, 2)))
        tvals = [v for v in low + push if v is not None]
        d.set_ylim(0, max([*tvals, 1.0]) * 1.35)
        d.legend(
            handles=[
                Line2D([], [], color=BLUE, marker="o", label="lowering"),
                Line2D([], [], color=ORANGE, marker="s", linestyle=(0, (5, 2)), label="pushing"),
            ],
            loc="upper left",
            ncols=2,
        )
        axis(d, "Mean tempo per rep", "seconds")
        return _png(fig)
