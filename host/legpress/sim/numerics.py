"""Small vectorised numerical helpers: recursive filters as scans, smooth ramps, quintics."""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

G_M_S2: Final = 9.81


def iir1(x: FloatArray, a: float | FloatArray, y0: float | FloatArray = 0.0) -> FloatArray:
    """First-order recursion ``y[n] = a * y[n-1] + x[n]`` along axis 0, with ``y[-1] = y0``.

    Computed as a parallel prefix scan (log2(n) whole-array passes) so whole sessions filter
    without a Python loop; exact up to rounding because every coefficient is a power of
    ``0 <= a <= 1``.

    Args:
        x: input, shape ``(n,)`` or ``(n, k)``.
        a: pole, a scalar or one per column.
        y0: state before the first sample, a scalar or one per column.
    """
    y = np.array(x, dtype=np.float64, copy=True)
    n = y.shape[0]
    if n == 0:
        return y
    coef = np.asarray(a, dtype=np.float64)
    y[0] = y[0] + coef * np.asarray(y0, dtype=np.float64)
    power = coef.copy()
    shift = 1
    while shift < n:
        y[shift:] += power * y[:-shift]
        power = power * power
        shift *= 2
    return y


def lowpass(
    x: FloatArray, dt_s: float, tau_s: float | FloatArray, y0: float | None = None
) -> FloatArray:
    """First-order low-pass (unit DC gain) of a uniformly sampled signal along axis 0.

    Args:
        x: input samples.
        dt_s: sample spacing.
        tau_s: time constant (scalar or one per column).
        y0: initial state; default the first input sample (no start-up transient).
    """
    a = np.exp(-dt_s / np.maximum(np.asarray(tau_s, dtype=np.float64), 1e-12))
    init = x[0] if y0 is None else y0
    return iir1((1.0 - a) * x, a, init)


def c1_ramp(x: FloatArray, width: float) -> FloatArray:
    """0 for ``x <= 0``, ``x - width/2`` for ``x >= width``, a parabola in between (C1)."""
    w = max(width, 1e-9)
    xc = np.clip(x, 0.0, w)
    return np.where(x >= w, x - 0.5 * w, xc * xc / (2.0 * w))


def smoothstep(x: FloatArray) -> FloatArray:
    """C1 step from 0 (``x <= 0``) to 1 (``x >= 1``)."""
    t = np.clip(x, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def raised_cosine(y: FloatArray, center: float, width: float) -> FloatArray:
    """A bump of height 1 at ``center`` falling to 0 at ``center +- width/2``."""
    u = np.clip((y - center) / (0.5 * width), -1.0, 1.0)
    return 0.5 * (1.0 + np.cos(np.pi * u))


def quintic(
    p0: float, v0: float, a0: float, p1: float, v1: float, a1: float, duration: float
) -> FloatArray:
    """Coefficients ``c[0..5]`` in normalised time ``u = t / duration`` of the minimum-jerk
    path with the given end positions, velocities and accelerations (per second units)."""
    d = duration
    v0n, v1n = v0 * d, v1 * d
    a0n, a1n = a0 * d * d, a1 * d * d
    dp = p1 - p0
    return np.array(
        [
            p0,
            v0n,
            0.5 * a0n,
            10 * dp - 6 * v0n - 4 * v1n - 0.5 * (3 * a0n - a1n),
            -15 * dp + 8 * v0n + 7 * v1n + 0.5 * (3 * a0n - 2 * a1n),
            6 * dp - 3 * v0n - 3 * v1n - 0.5 * (a0n - a1n),
        ]
    )


def decayed_running_max(
    x: FloatArray, t_s: FloatArray, tau_s: float, carry: FloatArray | None = None
) -> tuple[FloatArray, FloatArray]:
    """Peak hold that forgets: ``m[n] = max over k <= n of x[k] * exp(-(t[n] - t[k]) / tau)``
    along axis 0, for ``x >= 0``.

    Vectorised in the log domain with a cumulative maximum. ``carry`` (returned) continues
    the hold across consecutive chunks of one signal.
    """
    tiny = 1e-12
    tt = t_s.reshape((-1,) + (1,) * (x.ndim - 1)) / tau_s
    logx = np.log(np.maximum(x, tiny)) + tt
    if carry is not None:
        logx[0] = np.maximum(logx[0], carry)
    cm = np.maximum.accumulate(logx, axis=0)
    m = np.exp(cm - tt)
    out: FloatArray = np.where(m <= tiny * 1.000001, 0.0, m)
    return out, cm[-1].copy()
