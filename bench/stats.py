"""Summaries of timing samples, and the figure record every benchmark returns.

Samples are taken with ``time.perf_counter_ns`` and summarised by percentiles: the median (p50)
is what goals are judged on, because on a shared machine the mean is dragged around by the
occasional descheduled run; p90 and p99 show how long the tail is.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

Unit = Literal["us", "ms", "s"]
_PER_NS: dict[str, float] = {"us": 1e-3, "ms": 1e-6, "s": 1e-9}

RatioKind = Literal["speedup", "multiple"]


class BenchError(Exception):
    """A benchmark could not run (missing model, server that never became healthy, ...)."""


class BenchSkipped(Exception):
    """A benchmark group cannot run here (a part of the app it measures is missing); the run
    goes on without it and records why."""


@dataclass(frozen=True)
class Stats:
    """Percentiles of one set of samples, in `unit`."""

    n: int
    p50: float
    p90: float
    p99: float
    mean: float
    min: float
    max: float
    unit: str

    @classmethod
    def of(cls, samples: Sequence[float], unit: str) -> Stats:
        """Summarise samples already expressed in `unit`; needs at least one sample."""
        if len(samples) == 0:
            raise BenchError("no samples to summarise")
        arr = np.asarray(samples, dtype=np.float64)
        p50, p90, p99 = np.percentile(arr, [50, 90, 99])
        return cls(
            n=int(arr.size),
            p50=float(p50),
            p90=float(p90),
            p99=float(p99),
            mean=float(arr.mean()),
            min=float(arr.min()),
            max=float(arr.max()),
            unit=unit,
        )

    @classmethod
    def of_ns(cls, samples_ns: Sequence[int], unit: Unit) -> Stats:
        """Summarise nanosecond samples, converted to `unit`."""
        scale = _PER_NS[unit]
        return cls.of([s * scale for s in samples_ns], unit)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def time_calls(fn: Callable[[], object], n: int, warmup: int = 0) -> list[int]:
    """Call `fn` `warmup` times untimed, then `n` times, returning each call's nanoseconds."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(n):
        start = time.perf_counter_ns()
        fn()
        samples.append(time.perf_counter_ns() - start)
    return samples


@dataclass
class Figure:
    """One row of the results table: a measured figure, its goal and its baseline.

    `ratio` is `baseline / value` for a "speedup" (how many times faster than the baseline;
    higher is better) and `value / baseline` for a "multiple" (how many times the baseline's
    floor the figure costs). Goals are judged on the p50: `goal_p50` is an upper bound in the
    value's unit, `goal_min` a lower bound for figures where more is better (recall), and
    `goal_ratio` a lower bound on a speedup.
    """

    key: str  # stable id in results.json
    group: str  # the benchmark that produced it (what --only selects)
    label: str  # the table's "figure" column
    value: Stats
    baseline_label: str | None = None
    baseline: Stats | None = None
    ratio_kind: RatioKind = "speedup"
    goal_p50: float | None = None
    goal_ratio: float | None = None
    goal_min: float | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.baseline is not None and self.baseline.unit != self.value.unit:
            raise ValueError(
                f"{self.key}: baseline in {self.baseline.unit} but value in {self.value.unit}"
            )

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.value.p50 <= 0 or self.baseline.p50 <= 0:
            return None
        if self.ratio_kind == "speedup":
            return self.baseline.p50 / self.value.p50
        return self.value.p50 / self.baseline.p50

    @property
    def passed(self) -> bool | None:
        """True/False when the figure has a goal, None when it is only informative."""
        checks = []
        if self.goal_p50 is not None:
            checks.append(self.value.p50 <= self.goal_p50)
        if self.goal_min is not None:
            checks.append(self.value.p50 >= self.goal_min)
        if self.goal_ratio is not None:
            ratio = self.ratio
            checks.append(ratio is not None and ratio >= self.goal_ratio)
        return all(checks) if checks else None

    def goal_text(self) -> str:
        parts = []
        if self.goal_p50 is not None:
            parts.append(f"p50 ≤ {format_value(self.goal_p50, self.value.unit)}")
        if self.goal_min is not None:
            parts.append(f"≥ {format_value(self.goal_min, self.value.unit)}")
        if self.goal_ratio is not None:
            parts.append(f"≥ {self.goal_ratio:g}× faster")
        return ", ".join(parts)

    def ratio_text(self) -> str:
        ratio = self.ratio
        if ratio is None:
            return ""
        if self.ratio_kind == "speedup":
            if ratio < 1.0:  # "0.5× faster" reads wrong; say what it is
                return f"{format_number(1.0 / ratio)}× slower"
            return f"{format_number(ratio)}× faster"
        return f"{format_number(ratio)}× baseline"

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "group": self.group,
            "label": self.label,
            "value": self.value.to_dict(),
            "baseline_label": self.baseline_label,
            "baseline": self.baseline.to_dict() if self.baseline else None,
            "ratio_kind": self.ratio_kind if self.baseline else None,
            "ratio": self.ratio,
            "goal_p50": self.goal_p50,
            "goal_ratio": self.goal_ratio,
            "goal_min": self.goal_min,
            "goal": self.goal_text() or None,
            "passed": self.passed,
            "details": self.details,
        }


def format_number(x: float) -> str:
    """Three significant digits, without scientific notation for everyday sizes."""
    if not math.isfinite(x):
        return str(x)
    if x == 0:
        return "0"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    digits = max(0, 2 - int(math.floor(math.log10(abs(x)))))
    return f"{x:.{digits}f}"


def format_value(x: float, unit: str) -> str:
    """A number and its unit; a unitless figure (unit "", e.g. recall) is the bare number."""
    if not unit:
        return format_number(x)
    return f"{format_number(x)} {'µs' if unit == 'us' else unit}"


def count_tag(n: int) -> str:
    """A short, key-safe name for an item count: 70000 -> "70k", 1000000 -> "1m", 1797 -> "1797"."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    if n >= 1000 and n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)
