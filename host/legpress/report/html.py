"""HTML building blocks shared by the reports: escaping, number formats, the page shell.

Everything is inline (one self-contained file: CSS here, images as data URIs), readable on
screen and on paper, and never relies on colour alone: every coloured mark has a text label.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Final

from legpress.session import finite

DISCLAIMER: Final = (
    "legpress is not a medical device. It measures sled travel and back-pad pressure and flags "
    "what its thresholds say; it does not diagnose, and it does not replace the judgement of a "
    "qualified clinician."
)

MACHINE_KINDS: Final = {"incline45": "45° incline", "horizontal": "horizontal"}

CSS: Final = """
:root {
  --ink: #1b1f24; --muted: #505a64; --line: #d5dbe1; --accent: #0b4f8a; --soft: #f4f6f8;
  --ok: #176b31; --ok-bg: #e7f4eb; --warn: #9c2b0c; --warn-bg: #fcebe6; --note: #fff7e0;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: #eef1f4; color: var(--ink);
  font: 16px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
        "Noto Sans", "DejaVu Sans", sans-serif;
}
main {
  max-width: 1060px; margin: 24px auto; background: #fff; padding: 36px 44px 28px;
  border-radius: 10px; box-shadow: 0 1px 4px rgba(0, 0, 0, .08);
}
header.head { border-bottom: 4px solid var(--accent); padding-bottom: 14px; margin-bottom: 8px; }
.kicker { font-size: 14px; font-weight: 600; letter-spacing: .06em; text-transform: uppercase;
          color: var(--accent); margin: 0; }
h1 { font-size: 32px; line-height: 1.2; margin: 2px 0 14px; }
h2 { font-size: 22px; margin: 36px 0 12px; padding-bottom: 6px;
     border-bottom: 1px solid var(--line); }
h3 { font-size: 17px; margin: 20px 0 8px; }
p { margin: 8px 0; }
dl.meta { display: grid; grid-template-columns: repeat(auto-fit, minmax(210px, 1fr));
          gap: 2px 28px; margin: 0; }
dl.meta div { padding: 4px 0; min-width: 0; }
dl.meta dt { font-size: 13px; color: var(--muted); text-transform: uppercase;
             letter-spacing: .04em; }
dl.meta dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
ul.findings { margin: 8px 0 0; padding: 0; list-style: none; }
ul.findings li { padding: 8px 12px 8px 40px; margin: 6px 0; border-radius: 6px; position: relative;
                 background: var(--soft); }
ul.findings li::before { position: absolute; left: 12px; top: 8px; font-weight: 700; }
ul.findings li.ok { background: var(--ok-bg); }
ul.findings li.ok::before { content: "✓"; color: var(--ok); }
ul.findings li.warn { background: var(--warn-bg); }
ul.findings li.warn::before { content: "!"; color: #fff; background: var(--warn);
  border-radius: 50%;
  width: 20px; height: 20px; line-height: 20px; text-align: center; top: 10px; font-size: 14px; }
ul.findings li.info::before { content: "i"; color: var(--accent); font-style: italic; left: 16px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(148px, 1fr)); gap: 12px;
         margin-top: 16px; }
.card { border: 1px solid var(--line); border-top: 6px solid var(--ok); border-radius: 8px;
        padding: 10px 14px 12px; }
.card.warn { border-top-color: var(--warn); }
.card.info { border-top-color: var(--accent); }
.card .value { font-size: 30px; font-weight: 700; line-height: 1.2; white-space: nowrap; }
.card .value small { font-size: 17px; font-weight: 600; }
.card .label { font-size: 15px; font-weight: 600; }
.card .detail { font-size: 14px; color: var(--muted); }
.badge { display: inline-block; padding: 0 8px; border-radius: 999px; font-size: 13px;
         font-weight: 600; white-space: nowrap; margin: 1px 4px 1px 0; }
.badge.ok { background: var(--ok-bg); color: var(--ok); }
.badge.warn { background: var(--warn-bg); color: var(--warn); }
.badge.info { background: var(--soft); color: var(--ink); border: 1px solid var(--line); }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 14.5px;
        font-variant-numeric: tabular-nums; }
caption { text-align: left; font-size: 14px; color: var(--muted); padding: 0 0 6px; }
th, td { padding: 6px 9px; border-bottom: 1px solid var(--line); text-align: left;
         vertical-align: top; }
thead th { background: var(--soft); font-weight: 600; border-bottom: 2px solid var(--line); }
th.num, td.num { text-align: right; }
th.nowrap, td.nowrap { white-space: nowrap; }
tbody tr.flagged td:first-child { box-shadow: inset 4px 0 0 var(--warn); }
table.kv th { width: 38%; background: none; font-weight: 600; }
figure { margin: 14px 0 22px; }
figure img { width: 100%; height: auto; display: block; border: 1px solid var(--line);
             border-radius: 6px; }
figcaption { font-size: 14px; color: var(--muted); margin-top: 6px; }
.notice { background: var(--note); border: 1px solid #e7c66a; border-radius: 8px;
          padding: 12px 16px; }
.small { font-size: 13.5px; color: var(--muted); }
code { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace;
       font-size: 0.92em; }
.cols { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr));
        gap: 8px 32px; }
footer { margin-top: 40px; padding-top: 14px; border-top: 1px solid var(--line); font-size: 14px;
         color: var(--muted); }
footer strong { color: var(--ink); }
@media (max-width: 640px) {
  main { margin: 0; padding: 20px 16px; border-radius: 0; }
  h1 { font-size: 26px; }
  .card .value { font-size: 26px; }
}
@media print {
  body { background: #fff; font-size: 12pt; }
  main { box-shadow: none; margin: 0; max-width: none; padding: 0; border-radius: 0; }
  h2 { break-after: avoid; }
  figure, .card, tr, ul.findings li { break-inside: avoid; }
}
"""


def esc(value: object) -> str:
    """HTML-escaped text."""
    return html.escape(str(value), quote=True)


def num(value: Any, digits: int = 0, unit: str = "", missing: str = "–") -> str:
    """A number with a fixed number of decimals and a unit (``"–"`` when unknown)."""
    f = finite(value)
    if f is None:
        return missing
    text = f"{f:,.{digits}f}".replace(",", "\u2009")  # thin-space thousands
    if text.startswith("-") and not text.strip("-0.\u2009"):
        text = text[1:]  # -0.3 rounds to 0, not −0
    if text.startswith("-"):
        text = "\u2212" + text[1:]
    return f"{text}\u00a0{unit}" if unit else text


def pct(value: Any) -> str:
    """A fraction as a whole percentage."""
    f = finite(value)
    return "–" if f is None else f"{round(f * 100):d}\u00a0%"


def parse_time(iso: Any) -> datetime | None:
    """An ISO 8601 timestamp in local time, or None."""
    if not iso:
        return None
    try:
        return datetime.fromisoformat(str(iso)).astimezone()
    except ValueError:
        return None


def date_time(iso: Any) -> str:
    """``Mon 3 Mar 2025, 09:30`` in local time."""
    t = parse_time(iso)
    return "unknown" if t is None else f"{t:%a} {t.day} {t:%b %Y, %H:%M}"


def date_short(iso: Any) -> str:
    """``3 Mar 2025 09:30`` in local time."""
    t = parse_time(iso)
    return "unknown" if t is None else f"{t.day} {t:%b %Y %H:%M}"


def date_only(iso: Any) -> str:
    """``3 Mar 2025``."""
    t = parse_time(iso)
    return "unknown" if t is None else f"{t.day} {t:%b %Y}"


def plural(n: int, word: str, words: str | None = None) -> str:
    """``1 rep``, ``2 reps``."""
    return f"{n} {word if n == 1 else (words or word + 's')}"


def rep_list(numbers: Sequence[int]) -> str:
    """``rep 3``, ``reps 3 and 5``, ``reps 1, 4 and 9`` (1-based numbers)."""
    if not numbers:
        return ""
    items = [str(n) for n in numbers]
    if len(items) == 1:
        return f"rep {items[0]}"
    return f"reps {', '.join(items[:-1])} and {items[-1]}"


def badge(text: str, kind: str = "info") -> str:
    """A small labelled pill (``ok``, ``warn`` or ``info``)."""
    return f'<span class="badge {esc(kind)}">{esc(text)}</span>'


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    numeric: Iterable[int] = (),
    nowrap: Iterable[int] = (),
    caption: str = "",
    row_classes: Sequence[str] | None = None,
    css_class: str = "",
) -> str:
    """A table; cells are HTML already (escape text with :func:`esc`).

    Args:
        headers: column titles (text).
        rows: cells (HTML).
        numeric: columns aligned right.
        nowrap: columns that never wrap.
        caption: a line above the table (text).
        row_classes: a CSS class per row (``"flagged"`` marks a row in the margin).
        css_class: the table's class.
    """
    classes: dict[int, list[str]] = {}
    for i in numeric:
        classes.setdefault(i, []).append("num")
    for i in nowrap:
        classes.setdefault(i, []).append("nowrap")

    def attr(i: int) -> str:
        return f' class="{" ".join(classes[i])}"' if i in classes else ""

    head = "".join(f'<th scope="col"{attr(i)}>{esc(h)}</th>' for i, h in enumerate(headers))
    body = []
    for r, row in enumerate(rows):
        cls = row_classes[r] if row_classes and row_classes[r] else ""
        cells = "".join(f"<td{attr(i)}>{cell}</td>" for i, cell in enumerate(row))
        body.append(f'<tr class="{esc(cls)}">{cells}</tr>' if cls else f"<tr>{cells}</tr>")
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    klass = f' class="{esc(css_class)}"' if css_class else ""
    return (
        f'<div class="table-wrap"><table{klass}>{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def kv_table(pairs: Iterable[tuple[str, str]], caption: str = "") -> str:
    """A two-column table of labels (text) and values (HTML)."""
    rows = "".join(f'<tr><th scope="row">{esc(k)}</th><td>{v}</td></tr>' for k, v in pairs)
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return f'<div class="table-wrap"><table class="kv">{cap}<tbody>{rows}</tbody></table></div>'


def meta_list(pairs: Iterable[tuple[str, str]]) -> str:
    """The header's label/value grid (values are HTML)."""
    items = "".join(f"<div><dt>{esc(k)}</dt><dd>{v}</dd></div>" for k, v in pairs)
    return f'<dl class="meta">{items}</dl>'


def card(value: str, label: str, detail: str = "", kind: str = "ok", unit: str = "") -> str:
    """A summary tile: a big value (with a smaller unit), its label and a detail line."""
    small = f" <small>{esc(unit)}</small>" if unit else ""
    return (
        f'<div class="card {esc(kind)}"><div class="value">{esc(value)}{small}</div>'
        f'<div class="label">{esc(label)}</div>'
        + (f'<div class="detail">{esc(detail)}</div>' if detail else "")
        + "</div>"
    )


def figure(data_uri: str, alt: str, caption: str, ident: str = "", title: str = "") -> str:
    """An embedded image with alternative text and a caption (led by ``title`` in bold)."""
    id_attr = f' id="{esc(ident)}"' if ident else ""
    lead = f"<strong>{esc(title)}.</strong> " if title else ""
    return (
        f'<figure{id_attr}><img src="{data_uri}" alt="{esc(alt)}">'
        f"<figcaption>{lead}{esc(caption)}</figcaption></figure>"
    )


def notice(text: str) -> str:
    """A highlighted note (e.g. data that is not available)."""
    return f'<p class="notice" role="note">{esc(text)}</p>'


def page(title: str, kicker: str, heading: str, head_html: str, body: str) -> str:
    """The whole document: header, body sections and the footer with the disclaimer."""
    from legpress.version import __version__

    generated = datetime.now().astimezone()
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="legpress {esc(__version__)}">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>\n"
        f'<body><main><header class="head"><p class="kicker">{esc(kicker)}</p>'
        f"<h1>{esc(heading)}</h1>{head_html}</header>\n{body}\n"
        '<footer role="contentinfo">'
        f"<p><strong>{esc(DISCLAIMER)}</strong></p>"
        f"<p>Made with legpress {esc(__version__)} on "
        f"{esc(date_time(generated.isoformat()))}. Depths are sled travel from the top of the "
        "movement; times are from the start of the recording.</p></footer>"
        "</main></body></html>\n"
    )
