"""Options of the ``sim:`` device URL.

``sim:`` alone runs the default scenario in real time. Options are comma separated
``key=value`` pairs; a bare first word is the scenario name::

    sim:scenario=liftoff,seed=3,rate=100,cells=8,realtime=1
    sim:rehab,seed=2,realtime=0,duration=60

=============  ========================================  =====================================
option         values                                    meaning
=============  ========================================  =====================================
``scenario``   a name from :data:`SCENARIOS`             what to simulate (default ``demo``)
``seed``       integer >= 0                              random seed (default 0)
``rate``       integer 50-400                            sample rate in Hz
``cells``      integer 1-16                              pad cells
``realtime``   1/0, true/false, yes/no, on/off           pace packets on the wall clock
``duration``   seconds > 0                               recording length
``sets``       integer 1-100                             sets
``reps``       integer 1-100                             reps per set
``loss``       0-0.9                                     packet loss probability
``limit``      mm > 0                                    the person's ROM limit
=============  ========================================  =====================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from legpress.sim.scenario import Scenario
from legpress.sim.scenarios import DEFAULT_SCENARIO, SCENARIOS, make_scenario

_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


def _int(lo: int, hi: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text)
        if not lo <= value <= hi:
            raise ValueError
        return value

    return parse


def _float(lo: float, hi: float, open_lo: bool = False) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = float(text)
        if not (lo < value if open_lo else lo <= value) or not value <= hi:
            raise ValueError
        return value

    return parse


def _bool(text: str) -> bool:
    t = text.lower()
    if t in _TRUE:
        return True
    if t in _FALSE:
        return False
    raise ValueError


def _scenario(text: str) -> str:
    if text not in SCENARIOS:
        raise ValueError
    return text


# option -> (result key, parser, allowed values for the error message)
_OPTIONS: Final[dict[str, tuple[str, Callable[[str], Any], str]]] = {
    "scenario": ("scenario", _scenario, ", ".join(SCENARIOS)),
    "seed": ("seed", _int(0, 2**63 - 1), "an integer >= 0"),
    "rate": ("rate_hz", _int(50, 400), "an integer 50-400 (Hz)"),
    "cells": ("n_cells", _int(1, 16), "an integer 1-16"),
    "realtime": ("realtime", _bool, "1/0, true/false, yes/no, on/off"),
    "duration": ("duration_s", _float(0.0, 1e6, open_lo=True), "seconds > 0"),
    "sets": ("n_sets", _int(1, 100), "an integer 1-100"),
    "reps": ("reps_per_set", _int(1, 100), "an integer 1-100"),
    "loss": ("loss_prob", _float(0.0, 0.9), "a probability 0-0.9"),
    "limit": ("rom_limit_mm", _float(0.0, 2000.0, open_lo=True), "millimetres > 0"),
}


def parse_sim_url(rest: str) -> dict[str, Any]:
    """Parse the part of a ``sim:`` URL after the colon.

    Args:
        rest: e.g. ``"scenario=liftoff,seed=3,rate=100,cells=8,realtime=1"`` (a leading
            ``sim:`` is accepted too).

    Returns:
        ``scenario`` (str), ``seed`` (int), ``realtime`` (bool, default True) and
        ``duration_s`` (float or None), plus any of the :func:`make_scenario` overrides
        ``rate_hz``, ``n_cells``, ``n_sets``, ``reps_per_set``, ``loss_prob``,
        ``rom_limit_mm`` that were given.

    Raises:
        ValueError: a one-line message naming the bad option and the allowed values.
    """
    text = rest.strip()
    if text.lower().startswith("sim:"):
        text = text[4:]
    out: dict[str, Any] = {
        "scenario": DEFAULT_SCENARIO,
        "seed": 0,
        "realtime": True,
        "duration_s": None,
    }
    seen: set[str] = set()
    for i, part in enumerate(p.strip() for p in text.split(",")):
        if not part:
            continue
        key, eq, value = part.partition("=")
        key = key.strip().lower()
        value = value.strip()
        if not eq:
            if i == 0 and key in SCENARIOS:
                key, value = "scenario", part
            else:
                raise ValueError(
                    f"sim: option {part!r} needs a value (key=value); options: "
                    f"{', '.join(_OPTIONS)}"
                    + (f"; scenarios: {', '.join(SCENARIOS)}" if i == 0 else "")
                )
        spec = _OPTIONS.get(key)
        if spec is None:
            raise ValueError(f"sim: unknown option {key!r}; allowed: {', '.join(_OPTIONS)}")
        if key in seen:
            raise ValueError(f"sim: option {key!r} given twice")
        seen.add(key)
        name, parse, allowed = spec
        try:
            out[name] = parse(value)
        except (ValueError, OverflowError):
            raise ValueError(f"sim: bad {key} {value!r}; allowed: {allowed}") from None
    return out


def scenario_from_url(rest: str) -> tuple[Scenario, bool]:
    """The scenario a ``sim:`` URL asks for, and whether to pace it in real time.

    Raises:
        ValueError: as :func:`parse_sim_url`.
    """
    opts = parse_sim_url(rest)
    name = opts.pop("scenario")
    seed = opts.pop("seed")
    realtime = bool(opts.pop("realtime"))
    if opts.get("duration_s") is None:
        opts.pop("duration_s", None)
    return make_scenario(name, seed, **opts), realtime
