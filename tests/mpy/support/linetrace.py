# Deterministic cost metric for firmware code: count sys.settrace "line" events per source file.
# Runs only under the settrace build of MicroPython (runner.mjs --settrace); mounted at /support.
#
#   import linetrace
#   linetrace.start("/firmware/")      # count only files under this prefix
#   ... code under test ...
#   counts = linetrace.stop()          # {"legpress_fw/sampler.py": 1300, ...}
#
# Files outside the prefix (fakes, asyncio internals, the test snippet "<stdin>") are ignored,
# so the counts don't depend on timing. The trace function allocates nothing after the first
# event per file, but measure gc.mem_alloc() deltas with tracing off all the same.

import sys

_counts = {}
_prefix = ["/firmware/"]
_by_line = [False]


def _trace(frame, event, arg):
    if event == "line":
        name = frame.f_code.co_filename
        if name.startswith(_prefix[0]):
            if _by_line[0]:
                name = f"{name}:{frame.f_lineno}"
            _counts[name] = _counts.get(name, 0) + 1
    return _trace


def start(prefix="/firmware/", by_line=False):
    """Reset the counts and start tracing files whose path starts with `prefix`."""
    if not hasattr(sys, "settrace"):
        raise RuntimeError("linetrace needs the settrace build (run with settrace=True)")
    _prefix[0] = prefix
    _by_line[0] = by_line
    _counts.clear()
    sys.settrace(_trace)


def stop():
    """Stop tracing; return {path relative to the prefix: line events}."""
    sys.settrace(None)
    cut = len(_prefix[0])
    return {name[cut:]: _counts[name] for name in _counts}
