"""Self-contained HTML reports: one session in detail, and one person's progress.

Plots need matplotlib (the ``report`` extra: ``pip install 'legpress[report]'``); it is imported
only when a report is drawn, so this package always imports and says how to install it.
"""

from legpress.errors import MissingDependencyError
from legpress.report.plots import require_matplotlib
from legpress.report.progress import progress_report_html, render_progress_report
from legpress.report.session import render_session_report, session_report_html

__all__ = [
    "MissingDependencyError",
    "progress_report_html",
    "render_progress_report",
    "render_session_report",
    "require_matplotlib",
    "session_report_html",
]
