"""Lift-off detection on a second, independent world: CSV sessions from a physical model that
shares no code, no parameters and no assumptions with ``legpress.sim``, analysed the way an
outside user would (``legpress analyze FILE.csv``).

    python tests/bench/bench_independent.py                 # 24 standard + 24 hard sessions
    python tests/bench/bench_independent.py --sessions 6    # quicker
    python tests/bench/bench_independent.py --keep DIR      # also keep the CSVs and truth files

Why: the project's simulator is one model of the world, and the detector was developed on it.
Real pads, real bodies and the data set this project is judged on come from elsewhere. This
model was written without looking at the simulator (see docs/benchmarks.md, "Independent
world"), so what it measures is how the detector generalises, not how well it fits. Nothing in
``legpress.detect`` may be tuned to these figures: the seeds are fixed and reported as they
fall.

The model, per session (ranges drawn per person, wider in the "hard" population):

- **Back and pad.** Pressure along the back pad is a sum of three bumps (sacrum, lumbar,
  thoracic) plus a seat-corner term, spread by the foam (a Gaussian blur), integrated over each
  cell's sensing width. 4-16 cells at a 25-50 mm pitch, the strip fitted up to one pitch off
  the seat junction.
- **Leg force.** Pushing the sled presses the whole back into the pad: every term scales by
  1 + g (depth / max depth)^p, up to 1.5-3x at the bottom; the corner term scales with it.
- **Posterior tilt.** A person rounds past their lift-off depth: a tilt tau(t) rises over the
  next 8-25 mm of depth (with a lag), plus a small pre-tilt in the last 40 mm before it. The
  sacral bump keeps a residual r of its load (foam, cover, crosstalk; 0-60 %) and moves up,
  the lumbar bump takes load over, and the pelvis presses harder into the seat corner.
  **Ground truth:** a rep lifted off when tau reached 0.5; its onset is the first sample with
  tau >= 0.5. A rep whose tau peaked between 0.25 and 0.5 is a near miss, scored "don't care".
- **Body.** Breathing (thoracic load +-5 % at 0.2-0.35 Hz); arm pulls on the handles (corner
  load x1.3-1.8 for about 0.5 s, in a third of the reps); the body slides up to 15 mm on the pad
  between sets.
- **Sensors.** Per-cell gain 0.6-1.5, crosstalk to neighbours up to 15 %, slow creep and drift
  (+-10 % over a session, per cell), hysteresis (fast to load, slow to release), noise and
  quantisation, a dead or stuck cell in a fifth of the sessions, and a unit chosen at random
  over five decades (from 2-20 per cell up to thousands).
- **Motion.** 3 sets of 8 reps, 20-30 s rests at the top; per rep a class: lift-off (past the
  lift-off depth by 10-45 mm), clean (15-70 mm short of it), or near (within 5 mm).

Printed: per population, sensitivity and specificity over reps (near misses excluded), the
lift-off alert latency against the true onset (median, p95), the tilt warning's lead before the
alert and its false-warning rate on clean reps, and how many reps the detector could not judge.
The last line is JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from legpress.cli.main import main as legpress_main

RATE_HZ = 100.0
DT_S = 1.0 / RATE_HZ
LIFT_TAU = 0.5  # truth: tau at or above this is a lift-off
NEAR_TAU = 0.25  # truth: a peak tau in [NEAR_TAU, LIFT_TAU) is a near miss (don't care)
SEEDS = {"standard": 7100, "hard": 7300}  # first seed of each population; never tuned to


@dataclass
class Person:
    """One person on one machine, drawn from a population."""

    k: int
    pitch_mm: float
    strip_offset_mm: float
    sacrum_mm: float
    lumbar_mm: float
    thoracic_mm: float
    a_lumbar: float
    a_thoracic: float
    a_corner: float
    foam_mm: float
    leg_gain: float
    leg_power: float
    max_depth_mm: float
    liftoff_depth_mm: float
    tilt_span_mm: float
    pre_tilt: float
    residual: float
    sacrum_shift_mm: float
    lumbar_gain: float
    corner_tilt_gain: float
    breath_hz: float
    gains: np.ndarray
    crosstalk: float
    creep: float
    unit: float
    dead_cell: int  # -1: none
    stuck: bool


def draw_person(rng: np.random.Generator, hard: bool) -> Person:
    def u(
        lo: float, hi: float, hard_lo: float | None = None, hard_hi: float | None = None
    ) -> float:
        if hard:
            lo = lo if hard_lo is None else hard_lo
            hi = hi if hard_hi is None else hard_hi
        return float(rng.uniform(lo, hi))

    k = int(rng.integers(6, 11)) if not hard else int(rng.integers(4, 17))
    pitch = u(35, 45, 25, 50)
    max_depth = u(280, 340)
    lo_depth = u(0.62, 0.8) * max_depth
    dead = int(rng.integers(0, k)) if hard and rng.random() < 0.2 else -1
    return Person(
        k=k,
        pitch_mm=pitch,
        strip_offset_mm=u(-0.3, 0.3, -1.0, 1.0) * pitch,
        sacrum_mm=u(55, 85, 40, 100),
        lumbar_mm=u(160, 210, 140, 230),
        thoracic_mm=u(300, 360, 280, 400),
        a_lumbar=u(0.35, 0.6, 0.2, 0.8),
        a_thoracic=u(0.7, 1.0, 0.5, 1.3),
        a_corner=u(0.05, 0.2, 0.0, 0.5),
        foam_mm=u(8, 14, 6, 22),
        leg_gain=u(0.5, 1.0, 0.5, 2.0),
        leg_power=u(1.5, 2.5, 1.0, 3.0),
        max_depth_mm=max_depth,
        liftoff_depth_mm=lo_depth,
        tilt_span_mm=u(10, 18, 8, 25),
        pre_tilt=u(0.0, 0.1, 0.0, 0.2),
        residual=u(0.0, 0.3, 0.0, 0.6),
        sacrum_shift_mm=u(8, 15, 5, 20),
        lumbar_gain=u(0.4, 0.8, 0.2, 1.0),
        corner_tilt_gain=u(0.2, 0.5, 0.0, 1.0),
        breath_hz=u(0.2, 0.35),
        gains=rng.uniform(0.85, 1.15, k) if not hard else rng.uniform(0.6, 1.5, k),
        crosstalk=u(0.0, 0.05, 0.0, 0.15),
        creep=u(0.0, 0.04, 0.0, 0.1),
        unit=float(10 ** rng.uniform(-2.5, 2.5)),
        dead_cell=dead,
        stuck=bool(dead >= 0 and rng.random() < 0.5),
    )


def motion(
    rng: np.random.Generator, p: Person
) -> tuple[np.ndarray, list[tuple[float, float, str]], np.ndarray]:
    """Sled depth per sample, the true reps (start, end, class) and the set index per sample."""
    depth: list[np.ndarray] = []
    sets: list[np.ndarray] = []
    reps: list[tuple[float, float, str]] = []
    t = 0.0

    def hold(seconds: float, s: int) -> None:
        nonlocal t
        n = round(seconds * RATE_HZ)
        depth.append(np.zeros(n))
        sets.append(np.full(n, s))
        t += n * DT_S

    for s in range(3):
        hold(3.0 if s == 0 else float(rng.uniform(20, 30)), s)
        for _ in range(8):
            cls = rng.choice(["lift_off", "clean", "near"], p=[0.4, 0.5, 0.1])
            if cls == "lift_off":
                bottom = p.liftoff_depth_mm + p.tilt_span_mm * 0.5 + rng.uniform(10, 45)
            elif cls == "clean":
                bottom = p.liftoff_depth_mm - rng.uniform(15, 70)
            else:
                bottom = p.liftoff_depth_mm + rng.uniform(-5, 5)
            bottom = float(np.clip(bottom, 90, p.max_depth_mm))
            down_s, pause_s, up_s = (
                rng.uniform(1.2, 2.2),
                rng.uniform(0, 0.3),
                rng.uniform(0.9, 1.5),
            )
            nd, npause, nu = (round(x * RATE_HZ) for x in (down_s, pause_s, up_s))
            down = bottom * (1 - np.cos(np.linspace(0, np.pi, nd))) / 2
            up = bottom * (1 + np.cos(np.linspace(0, np.pi, nu))) / 2
            rep = np.concatenate([down, np.full(npause, bottom), up])
            start = t
            depth.append(rep)
            sets.append(np.full(len(rep), s))
            t += len(rep) * DT_S
            reps.append((start, t, str(cls)))
            hold(float(rng.uniform(0.6, 1.5)), s)
    return np.concatenate(depth), reps, np.concatenate(sets)


def tilt(p: Person, depth_mm: np.ndarray) -> np.ndarray:
    """Posterior tilt 0..1 per sample: rises past the lift-off depth, with a lag."""
    past = np.clip((depth_mm - p.liftoff_depth_mm) / p.tilt_span_mm, 0, 1)
    pre = p.pre_tilt * np.clip((depth_mm - (p.liftoff_depth_mm - 40)) / 40, 0, 1)
    target = np.maximum(past, pre)
    out = np.empty_like(target)
    alpha = DT_S / 0.08  # 80 ms: the pelvis does not rotate instantly
    level = 0.0
    for i, x in enumerate(target):
        level += alpha * (x - level)
        out[i] = level
    return out


def pad(
    rng: np.random.Generator, p: Person, depth_mm: np.ndarray, tau: np.ndarray, set_of: np.ndarray
) -> np.ndarray:
    """Cell readings (n, k) in the session's unit."""
    n = len(depth_mm)
    grid = np.arange(-60.0, 520.0, 2.0)  # mm along the pad from the seat junction
    blur = np.exp(-0.5 * (np.arange(-40.0, 42.0, 2.0) / p.foam_mm) ** 2)
    blur /= blur.sum()
    centres = p.strip_offset_mm + p.pitch_mm * (np.arange(p.k) + 0.5)
    width = 0.5 * p.pitch_mm
    cover = (np.abs(grid[None, :] - centres[:, None]) <= width / 2).astype(float)  # (k, g)
    cover *= (grid >= 0)[None, :]  # below the seat junction there is no back to press
    slide = rng.uniform(-15, 15, 3) * (1 if p.k else 0)
    slide[0] = 0.0
    leg = 1 + p.leg_gain * (np.clip(depth_mm, 0, None) / p.max_depth_mm) ** p.leg_power
    t_s = np.arange(n) * DT_S
    breath = 1 + 0.05 * np.sin(2 * np.pi * p.breath_hz * t_s)
    pulls = np.ones(n)
    for start in np.nonzero(np.diff((depth_mm > 30).astype(int)) == 1)[0]:
        if rng.random() < 1 / 3:
            at = start + int(rng.integers(0, 150))
            pulls[at : at + 50] *= rng.uniform(1.3, 1.8)

    def bump(mu: np.ndarray, sigma: float) -> np.ndarray:
        return np.exp(-0.5 * ((grid[None, :] - mu[:, None]) / sigma) ** 2)

    # The profile changes slowly: evaluate it on every 2nd sample and hold (10 ms steps at most).
    cells = np.empty((n, p.k))
    step = 2
    for i0 in range(0, n, 512):
        idx = np.arange(i0, min(n, i0 + 512), step)
        sl = slide[set_of[idx]]
        ta = tau[idx]
        sacrum = (
            bump(p.sacrum_mm + sl + ta * p.sacrum_shift_mm, 30.0)
            * (1 - ta * (1 - p.residual))[:, None]
        )
        lumbar = p.a_lumbar * (1 + ta * p.lumbar_gain)[:, None] * bump(p.lumbar_mm + sl, 40.0)
        thoracic = p.a_thoracic * breath[idx, None] * bump(p.thoracic_mm + sl, 60.0)
        corner = (
            p.a_corner
            * (1 + ta * p.corner_tilt_gain)[:, None]
            * pulls[idx, None]
            * np.exp(-0.5 * (grid[None, :] / 15.0) ** 2)
        )
        profile = (sacrum + lumbar + thoracic + corner) * leg[idx, None]
        spread = np.apply_along_axis(lambda r: np.convolve(r, blur, "same"), 1, profile)
        got = spread @ cover.T  # (m, k)
        for j, i in enumerate(idx):
            cells[i : i + step] = got[j]
    # Sensors: crosstalk, gain, creep and drift, hysteresis, dead/stuck, noise, unit.
    if p.crosstalk:
        mixed = cells.copy()
        mixed[:, 1:] += p.crosstalk * cells[:, :-1]
        mixed[:, :-1] += p.crosstalk * cells[:, 1:]
        cells = mixed
    cells *= p.gains[None, :]
    drift = np.cumsum(rng.normal(0, 1, (n // 100 + 1, p.k)), axis=0)
    drift = drift / max(1e-9, np.abs(drift).max()) * p.creep
    cells *= 1 + np.repeat(drift, 100, axis=0)[:n]
    out = np.empty_like(cells)
    level = cells[0].copy()
    up, down = DT_S / 0.03, DT_S / 0.15  # velostat: quick to load, slow to release
    for i in range(n):
        x = cells[i]
        level += np.where(x > level, up, down) * (x - level)
        out[i] = level
    scale = p.unit / max(1e-12, float(np.median(out[: int(2 * RATE_HZ)].max(axis=1))))
    out *= scale * 10.0  # the most loaded cell reads about 10 units at the top
    out += rng.normal(0, 0.01 * 10.0 * p.unit, out.shape)
    quantum = p.unit * 0.05
    out = np.round(out / quantum) * quantum
    out = np.clip(out, 0, None)
    if p.dead_cell >= 0:
        out[:, p.dead_cell] = out[0, p.dead_cell] if p.stuck else 0.0
    return out


def write_csv(path: Path, depth_mm: np.ndarray, cells: np.ndarray) -> None:
    t_s = np.arange(len(depth_mm)) * DT_S
    names = ",".join(f"cell{c}" for c in range(cells.shape[1]))
    with path.open("w", encoding="utf-8") as f:
        f.write(f"t_s,depth_mm,{names}\n")
        for i in range(len(t_s)):
            row = ",".join(f"{v:.6g}" for v in cells[i])
            f.write(f"{t_s[i]:.3f},{depth_mm[i]:.2f},{row}\n")


def analyze(path: Path, pitch_mm: float) -> list[dict[str, Any]]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = legpress_main(["analyze", str(path), "--cell-pitch-mm", f"{pitch_mm:.1f}"])
    if code != 0:
        raise SystemExit(f"legpress analyze {path} exited {code}: {err.getvalue().strip()}")
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def score(
    lines: list[dict[str, Any]], truth: list[tuple[float, float, str, float | None]]
) -> dict[str, list[float]]:
    """Per true rep: was a lift_off / tilt_warning raised inside it, and when."""
    alerts = [x for x in lines if x.get("type") in ("lift_off", "tilt_warning")]
    unjudged = sum(1 for x in lines if x.get("type") == "pad_unjudged")
    res: dict[str, list[float]] = {
        "tp": [], "fn": [], "fp": [], "tn": [], "latency_s": [], "lead_s": [],
        "warned_clean": [], "warned_lift_off": [], "unjudged": [float(unjudged)],
    }  # fmt: skip
    for start, end, cls, onset in truth:
        inside = [a for a in alerts if start <= a["t_s"] <= end + 0.3]
        lift = [a["t_s"] for a in inside if a["type"] == "lift_off"]
        warn = [a["t_s"] for a in inside if a["type"] == "tilt_warning"]
        if cls == "lift_off":
            (res["tp"] if lift else res["fn"]).append(1.0)
            res["warned_lift_off"].append(1.0 if warn else 0.0)
            if lift and onset is not None:
                res["latency_s"].append(lift[0] - onset)
                if warn:
                    res["lead_s"].append(lift[0] - warn[0])
                else:
                    res["lead_s"].append(0.0)
        elif cls == "clean":
            (res["fp"] if lift else res["tn"]).append(1.0)
            res["warned_clean"].append(1.0 if warn else 0.0)
    return res


def session(seed: int, hard: bool, folder: Path, keep: bool) -> dict[str, list[float]]:
    rng = np.random.default_rng(seed)
    p = draw_person(rng, hard)
    depth, reps, set_of = motion(rng, p)
    tau = tilt(p, depth)
    cells = pad(rng, p, depth, tau, set_of)
    truth = []
    for start, end, _ in reps:
        i0, i1 = round(start * RATE_HZ), round(end * RATE_HZ)
        peak = float(tau[i0:i1].max())
        cls = "lift_off" if peak >= LIFT_TAU else "near" if peak >= NEAR_TAU else "clean"
        onset = None
        if cls == "lift_off":
            onset = (i0 + int(np.argmax(tau[i0:i1] >= LIFT_TAU))) * DT_S
        truth.append((start, end, cls, onset))
    path = folder / f"{'hard' if hard else 'standard'}-{seed}.csv"
    write_csv(path, depth, cells)
    if keep:
        (path.with_suffix(".truth.json")).write_text(
            json.dumps(
                {"person": {k: v for k, v in vars(p).items() if k != "gains"}, "reps": truth},
                default=float,
            )
        )
    result = score(analyze(path, p.pitch_mm), truth)  # a user knows their strip's pitch
    if not keep:
        path.unlink()
    return result


def summarise(results: list[dict[str, list[float]]]) -> dict[str, Any]:
    total = {k: [v for r in results for v in r[k]] for k in results[0]}
    tp, fn, fp, tn = (len(total[k]) for k in ("tp", "fn", "fp", "tn"))
    lat = np.asarray(total["latency_s"]) * 1000
    lead = np.asarray(total["lead_s"]) * 1000
    return {
        "sessions": len(results),
        "lift_off_reps": tp + fn,
        "clean_reps": fp + tn,
        "sensitivity": round(tp / max(1, tp + fn), 3),
        "specificity": round(tn / max(1, tn + fp), 3),
        "latency_ms_median": round(float(np.median(lat)), 1) if lat.size else None,
        "latency_ms_p95": round(float(np.percentile(lat, 95)), 1) if lat.size else None,
        "tilt_lead_150ms_share": round(float(np.mean(lead >= 150)), 3) if lead.size else None,
        "tilt_warned_lift_off_share": round(float(np.mean(total["warned_lift_off"])), 3)
        if total["warned_lift_off"]
        else None,
        "tilt_false_warning_rate": round(float(np.mean(total["warned_clean"])), 3)
        if total["warned_clean"]
        else None,
        "pad_unjudged_lines": int(sum(total["unjudged"])),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=24, help="sessions per population")
    ap.add_argument("--keep", type=Path, help="keep the CSVs and their truth here")
    args = ap.parse_args(argv)
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for name, first in SEEDS.items():
            results = [
                session(first + i, name == "hard", folder, args.keep is not None)
                for i in range(args.sessions)
            ]
            figures[name] = summarise(results)
            f = figures[name]
            print(
                f"{name:9s} {f['sessions']} sessions, {f['lift_off_reps']} lift-off / "
                f"{f['clean_reps']} clean reps: sensitivity {f['sensitivity']}, specificity "
                f"{f['specificity']}, latency median {f['latency_ms_median']} ms, p95 "
                f"{f['latency_ms_p95']} ms; tilt warning >=150 ms ahead on "
                f"{f['tilt_lead_150ms_share']} of alerts; warned on "
                f"{f['tilt_warned_lift_off_share']} of lift-off reps and "
                f"{f['tilt_false_warning_rate']} of clean reps;"
                f" {f['pad_unjudged_lines']} pad_unjudged lines",
                file=sys.stderr,
            )
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
