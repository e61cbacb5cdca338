"""Interpolation and arithmetic in latent space: pure numpy, no model, no HTTP.

Every function takes and returns float32 vectors; inputs are assumed finite (the API layer
refuses NaN and infinities before they get here) and the outputs are finite for any finite
input, including equal, opposite, zero and very large vectors.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Method = Literal["lerp", "slerp"]
_EPS = 1e-12


def lerp(a: np.ndarray, b: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Straight line: (T, D) rows ``(1 - t) a + t b``; t=0 and t=1 give a and b exactly."""
    ts = np.asarray(ts, dtype=np.float64)[:, None]  # (T, 1)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    out = a64 + ts * (b64 - a64)  # (T, D)
    out[ts[:, 0] == 0.0] = a64
    out[ts[:, 0] == 1.0] = b64
    return _finite32(out)


def slerp(a: np.ndarray, b: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Spherical interpolation that also moves the norm linearly from |a| to |b|.

    Directions follow the great circle between a/|a| and b/|b| (the path a Gaussian prior
    favours); norms are interpolated linearly, so endpoints come back exactly. Degenerate cases
    fall back to lerp: a zero endpoint (no direction) or nearly parallel directions. For exactly
    opposite directions the great circle is not unique: we pick a fixed perpendicular direction
    so the result is still deterministic and finite.
    """
    ts = np.asarray(ts, dtype=np.float64)
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    # Scale first: squares of huge vectors would overflow float64.
    scale = max(np.abs(a64).max(initial=0.0), np.abs(b64).max(initial=0.0))
    if scale == 0.0 or not np.isfinite(scale):
        return lerp(a, b, ts)
    a_s, b_s = a64 / scale, b64 / scale
    na, nb = np.linalg.norm(a_s), np.linalg.norm(b_s)
    if na < _EPS or nb < _EPS:
        return lerp(a, b, ts)
    ua, ub = a_s / na, b_s / nb
    cos = float(np.clip(ua @ ub, -1.0, 1.0))
    if cos > 1.0 - 1e-9:
        return lerp(a, b, ts)
    if cos < -1.0 + 1e-9:
        ub = _perpendicular(ua)  # go a quarter turn via a fixed perpendicular...
        omega = np.pi / 2
        dirs = np.stack(
            [
                _arc(ua, ub, omega, 2 * t) if t <= 0.5 else _arc(ub, -ua, omega, 2 * t - 1)
                for t in ts
            ]
        )  # ...then on to -ua
    else:
        omega = float(np.arccos(cos))
        dirs = np.stack([_arc(ua, ub, omega, t) for t in ts])  # (T, D)
    norms = (1 - ts) * na + ts * nb  # (T,)
    out = dirs * norms[:, None] * scale
    out[ts == 0.0] = a64
    out[ts == 1.0] = b64
    return _finite32(out)


def _arc(u: np.ndarray, v: np.ndarray, omega: float, t: float) -> np.ndarray:
    s = np.sin(omega)
    return (np.sin((1 - t) * omega) * u + np.sin(t * omega) * v) / s


def _perpendicular(u: np.ndarray) -> np.ndarray:
    """A unit vector orthogonal to unit ``u``, the same every time for the same ``u``."""
    if len(u) == 1:
        return u  # in 1D there is no other direction: the caller's path then stays on the axis
    axis = np.zeros_like(u)
    axis[int(np.argmin(np.abs(u)))] = 1.0
    p = axis - (axis @ u) * u
    return p / np.linalg.norm(p)


def interpolate(a: np.ndarray, b: np.ndarray, steps: int, method: Method) -> np.ndarray:
    """``steps`` points from a to b inclusive, (steps, D)."""
    ts = np.linspace(0.0, 1.0, steps)
    return lerp(a, b, ts) if method == "lerp" else slerp(a, b, ts)


def combine(start: np.ndarray, vectors: list[np.ndarray], weights: list[float]) -> np.ndarray:
    """``start + sum(w_i * v_i)`` in float64, returned as float32."""
    out = start.astype(np.float64)
    for vector, weight in zip(vectors, weights, strict=True):
        out = out + float(weight) * vector.astype(np.float64)
    return _finite32(out)


def analogy(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``a - b + c``: "a is to b as ? is to c" read as a - b + c."""
    return _finite32(a.astype(np.float64) - b.astype(np.float64) + c.astype(np.float64))


def _finite32(x: np.ndarray) -> np.ndarray:
    """Clip into float32's range so a huge but finite result never becomes inf."""
    limit = np.finfo(np.float32).max
    return np.clip(x, -limit, limit).astype(np.float32)
