"""Order statistics for the benchmark: percentiles of samples and medians of repeated runs."""

from __future__ import annotations

import math
from typing import Iterable, Sequence


def percentile(samples: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0..100) by linear interpolation between closest ranks.

    Same definition as numpy's default (``method="linear"``). None for no samples.
    """
    if not 0 <= q <= 100:
        raise ValueError("q must be within 0..100")
    n = len(samples)
    if n == 0:
        return None
    data = sorted(samples)
    if n == 1:
        return float(data[0])
    pos = (n - 1) * q / 100.0
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    return float(data[lo] + (data[hi] - data[lo]) * frac)


def summarize_latencies(samples_s: Sequence[float]) -> dict:
    """p50/p90/p99/max in milliseconds from latencies in seconds."""
    return {
        "p50_ms": _ms(percentile(samples_s, 50)),
        "p90_ms": _ms(percentile(samples_s, 90)),
        "p99_ms": _ms(percentile(samples_s, 99)),
        "max_ms": _ms(max(samples_s) if samples_s else None),
        "samples": len(samples_s),
    }


def _ms(v: float | None) -> float | None:
    return None if v is None else round(v * 1000, 4)


def median(values: Iterable[float | None]) -> float | None:
    vals = sorted(v for v in values if v is not None)
    if not vals:
        return None
    mid = len(vals) // 2
    return vals[mid] if len(vals) % 2 else (vals[mid - 1] + vals[mid]) / 2


def median_runs(runs: Sequence[dict]) -> dict:
    """Field-wise median of repeated runs' numeric fields; non-numeric fields from the first run."""
    if not runs:
        return {}
    out: dict = {}
    for key in runs[0]:
        vals = [r.get(key) for r in runs]
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) or v is None for v in vals):
            m = median(vals)
            out[key] = None if m is None else round(m, 6)
        else:
            out[key] = vals[0]
    return out


def spread(values: Iterable[float | None]) -> float | None:
    """(max - min) / median of repeated runs: a noise figure reported next to each median."""
    vals = [v for v in values if v is not None]
    m = median(vals)
    if not vals or not m:
        return None
    return round((max(vals) - min(vals)) / m, 4)


def diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 4)
