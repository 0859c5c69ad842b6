"""Writing a report file."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from legpress.errors import FileError


def write_html(text: str, out: str | os.PathLike[str]) -> Path:
    """Write ``text`` to ``out`` atomically (a temporary file, then a rename).

    Raises:
        FileError: the file cannot be written (exit 6, as every unwritable output).
    """
    path = Path(out).expanduser()
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise FileError(
            f"cannot write {path}: {exc.strerror or exc}; choose another file with -o"
        ) from None
    return path
