"""The live terminal view of ``legpress monitor``: pure functions from a
:class:`~legpress.live.ViewState` to text.

Readable from two metres: the current alert in block letters five lines tall, the sled depth as
a full-width bar against the limit and its warning zone, one bar per pad cell, the rep counter
with each rep's depth and tempo, and the link's health. Nothing here touches the terminal; the
monitor command writes what these functions return.
"""

from __future__ import annotations

import math

from legpress.live import ViewState

# A 5-row block font for the alert words. Each glyph is 5 rows of equal width.
_FONT: dict[str, tuple[str, ...]] = {
    "A": (" ### ", "#   #", "#####", "#   #", "#   #"),
    "B": ("#### ", "#   #", "#### ", "#   #", "#### "),
    "C": (" ####", "#    ", "#    ", "#    ", " ####"),
    "D": ("#### ", "#   #", "#   #", "#   #", "#### "),
    "E": ("#####", "#    ", "#### ", "#    ", "#####"),
    "F": ("#####", "#    ", "#### ", "#    ", "#    "),
    "G": (" ####", "#    ", "#  ##", "#   #", " ####"),
    "H": ("#   #", "#   #", "#####", "#   #", "#   #"),
    "I": ("###", " # ", " # ", " # ", "###"),
    "K": ("#   #", "#  # ", "###  ", "#  # ", "#   #"),
    "L": ("#    ", "#    ", "#    ", "#    ", "#####"),
    "M": ("#   #", "## ##", "# # #", "#   #", "#   #"),
    "N": ("#   #", "##  #", "# # #", "#  ##", "#   #"),
    "O": (" ### ", "#   #", "#   #", "#   #", " ### "),
    "P": ("#### ", "#   #", "#### ", "#    ", "#    "),
    "R": ("#### ", "#   #", "#### ", "#  # ", "#   #"),
    "S": (" ####", "#    ", " ### ", "    #", "#### "),
    "T": ("#####", "  #  ", "  #  ", "  #  ", "  #  "),
    "U": ("#   #", "#   #", "#   #", "#   #", " ### "),
    "W": ("#   #", "#   #", "# # #", "## ##", "#   #"),
    "Y": ("#   #", " # # ", "  #  ", "  #  ", "  #  "),
    "-": ("    ", "    ", "####", "    ", "    "),
    "!": ("#", "#", "#", " ", "#"),
    " ": ("   ", "   ", "   ", "   ", "   "),
}


def big_text(text: str) -> list[str]:
    """``text`` in 5-row block letters (unknown characters become spaces)."""
    rows = [""] * 5
    for ch in text.upper():
        glyph = _FONT.get(ch, _FONT[" "])
        for r in range(5):
            rows[r] += glyph[r].replace("#", "█") + " "
    return [r.rstrip() for r in rows]


def depth_bar(
    depth_mm: float,
    limit_mm: float | None,
    warn_mm: float | None,
    scale_mm: float,
    width: int,
    lift_mm: float | None = None,
) -> str:
    """A bar: ``█`` up to the depth, ``░`` the warning zone, ``┃`` the limit, ``╳`` the depth
    at which this person's lower back lifted off the pad (``lift_mm``), drawn over the rest."""
    width = max(10, width)
    scale_mm = max(scale_mm, 1.0)

    def col(mm: float) -> int:
        return max(0, min(width - 1, round(mm / scale_mm * (width - 1))))

    cells = [" "] * width
    if warn_mm is not None and limit_mm is not None:
        for i in range(col(warn_mm), col(limit_mm)):
            cells[i] = "░"
    for i in range(col(depth_mm) + 1 if depth_mm > 0 else 0):
        cells[i] = "█"
    if limit_mm is not None:
        cells[col(limit_mm)] = "┃"
    if lift_mm is not None and math.isfinite(lift_mm):
        cells[col(lift_mm)] = "╳"
    return "".join(cells)


def render(state: ViewState, width: int = 80, height: int = 30) -> str:
    """The whole screen as text (no escape codes), fitted to ``width`` × ``height``.

    What matters most is always on screen: the alert, the sled depth, the rep count with the
    last rep and the alert totals. On a short terminal (80×24) the view is made compact, in
    this order, until it fits: blank lines go, the depth bar takes one row, the rep list
    shortens to the last rep, the pad's cells share one row, the alert word is one row; if it
    still does not fit, the last row says how many rows were cut."""
    width = max(40, width)
    height = max(1, height)
    lines: list[str] = []
    for level in range(6):
        lines = _screen(state, width, level)
        if len(lines) <= height:
            return "\n".join(line[:width] for line in lines)
    cut = len(lines) - height + 1
    kept = [*lines[: height - 1], f"… {cut} more rows: make the terminal taller"]
    return "\n".join(line[:width] for line in kept[:height])


def _screen(state: ViewState, width: int, level: int) -> list[str]:
    """The view's rows, compacted ``level`` steps (0: roomy; see :func:`render`)."""
    blank = [""] if level < 1 else []
    lines: list[str] = []
    who = f"  {state.person}" if state.person else ""
    head = f"{state.title}{who}"
    link = f"link: {state.link}  loss {state.loss_pct:.1f}%"
    lines.append(head + " " * max(1, width - len(head) - len(link)) + link)
    lines.append("─" * width)

    if state.alert_active() and state.alert_type is not None:
        word = state.alert_type.alert
        lines += big_text(word) if level < 5 else [f">>> {word} <<<"]
        lines.append(state.alert_message[:width])
    else:
        word = "OK" if state.reps or state.phase != "top" else "READY"
        lines += big_text(word) if level < 5 else [word]
        lines += blank
    lines += blank

    scale = max(
        state.max_depth_mm,
        (state.limit_mm or 0) * 1.15,
        (state.lift_depth_mm or 0) * 1.05,
        state.depth_mm,
        100.0,
    )
    limit = f"  limit {state.limit_mm:.0f} mm" if state.limit_mm is not None else "  no limit set"
    lifted = state.lift_depth_mm
    lift = f"  back lifted at {lifted:.0f} mm ╳" if lifted is not None else ""
    lines.append(f"SLED DEPTH  {state.depth_mm:5.0f} mm{limit}{lift}   ({state.phase})")
    bar = depth_bar(state.depth_mm, state.limit_mm, state.warn_mm, scale, width, lifted)
    lines += [bar, bar] if level < 2 else [bar]
    lines += blank

    if state.pad_note:
        lines.append(f"LOWER BACK  not judged in this rep: {state.pad_note}")
    elif not math.isnan(state.lower_back):
        pos = state.lower_back
        n = max(0, min(width - 40, round(max(min(pos, 1.2), 0.0) / 1.2 * (width - 40))))
        lines.append(
            f"LOWER BACK {pos * 100:4.0f}% "
            + "▮" * n
            + f"  lift-off <{state.lift_off_below * 100:.0f}%, warn <{state.warn_below * 100:.0f}%"
        )
        if not math.isnan(state.front):
            below = f"lift-off <{state.front_below * 100:.0f}%"
            lines.append(f"  contact front {state.front * 100:4.0f}% ({below})")
    if level < 4:
        lines.append("BACK PAD (top cell first; ▮ = load against baseline)")
        bar_w = max(10, width - 16)
        for c in reversed(range(len(state.contact))):
            v = state.contact[c]
            if math.isnan(v):
                lines.append(f"cell {c:2d}   --   (no baseline)")
                continue
            n = max(0, min(bar_w, round(min(v, 2.0) / 2.0 * bar_w)))
            mark = " LOW" if v < 0.25 else ""
            lines.append(f"cell {c:2d} {v * 100:4.0f}% " + "▮" * n + mark)
    elif state.contact:
        cells = " ".join(
            "--" if math.isnan(v) else f"{v * 100:.0f}" + ("!" if v < 0.25 else "")
            for v in state.contact
        )
        lines.append(f"PAD % seat→top: {cells}")
    lines += blank

    done = len(state.reps)
    lines.append(f"REPS {done}")
    shown = 4 if level < 3 else 1
    for r in state.reps[-shown:] if shown else []:
        lines.append(
            f"  #{r.index + 1:<3d} depth {r.depth_mm:4.0f} mm   down {r.lowering_s:3.1f} s   "
            f"up {r.pushing_s:3.1f} s  {r.flags}"
        )
    if state.faults:
        lines.append(f"FAULT: {state.faults}")
    counts = [f"{k.alert} {v}" for k, v in sorted(state.counts.items())]
    if counts:  # every total shown: wrapped over as many rows as the width needs
        row = "alerts:"
        for item in counts:
            if len(row) + 2 + len(item) > width:
                lines.append(row)
                row = "       "
            row += "  " + item
        lines.append(row)
    return lines
