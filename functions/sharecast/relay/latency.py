"""A fixed-bucket latency histogram for the relay's own delivery time (no I/O, O(1) record).

The relay records, for every live frame, the seconds from the Pub/Sub callback receiving the
message to the frame being handed to the socket (``transport.write`` returned). Buckets are
10 µs wide up to 10 ms, then 1 ms wide up to 1 s; slower samples count in the last bucket.
Percentiles are bucket upper bounds, so they over-state by at most one bucket width.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass, field

_FINE_US = 10  # bucket width below 10 ms, microseconds
_FINE_BUCKETS = 1000  # 0 .. 10 ms
_COARSE_US = 1000  # bucket width from 10 ms to 1 s
_COARSE_BUCKETS = 990  # 10 ms .. 1 s


@dataclass
class LatencyHistogram:
    """Counts of delivery latencies; :meth:`percentile_ms` answers p50/p99 in milliseconds."""

    counts: list[int] = field(default_factory=lambda: [0] * (_FINE_BUCKETS + _COARSE_BUCKETS))
    total: int = 0
    max_s: float = 0.0

    def record(self, seconds: float) -> None:
        """Count one sample of ``seconds`` (negative values count as 0)."""
        micros = int(seconds * 1_000_000) if seconds > 0 else 0
        if micros < _FINE_BUCKETS * _FINE_US:
            index = micros // _FINE_US
        else:
            coarse = (micros - _FINE_BUCKETS * _FINE_US) // _COARSE_US
            index = _FINE_BUCKETS + min(coarse, _COARSE_BUCKETS - 1)
        self.counts[index] += 1
        self.total += 1
        if seconds > self.max_s:
            self.max_s = seconds

    def percentile_ms(self, p: float) -> float:
        """The ``p`` quantile (0 < p ≤ 1) in milliseconds (bucket upper bound); 0 if empty."""
        if not self.total:
            return 0.0
        rank = max(1, int(p * self.total + 0.999999))
        seen = 0
        for index, count in enumerate(self.counts):
            seen += count
            if seen >= rank:
                return _upper_us(index) / 1000
        return _upper_us(len(self.counts) - 1) / 1000

    def reset(self) -> None:
        """Forget every sample."""
        self.counts = [0] * len(self.counts)
        self.total = 0
        self.max_s = 0.0

    def summary(self) -> dict[str, float]:
        """``{"count", "p50_ms", "p99_ms", "max_ms"}``."""
        return {
            "count": self.total,
            "p50_ms": self.percentile_ms(0.50),
            "p99_ms": self.percentile_ms(0.99),
            "max_ms": round(self.max_s * 1000, 3),
        }


def _upper_us(index: int) -> int:
    if index < _FINE_BUCKETS:
        return (index + 1) * _FINE_US
    return _FINE_BUCKETS * _FINE_US + (index - _FINE_BUCKETS + 1) * _COARSE_US


class GcPauses:
    """The longest pause of each garbage-collector generation so far (seconds), measured with
    ``gc.callbacks`` (https://docs.python.org/3/library/gc.html#gc.callbacks)."""

    def __init__(self) -> None:
        self.longest = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        self._started = 0.0

    def install(self) -> None:
        """Start measuring (idempotent)."""
        if self._callback not in gc.callbacks:
            gc.callbacks.append(self._callback)

    def uninstall(self) -> None:
        """Stop measuring."""
        if self._callback in gc.callbacks:
            gc.callbacks.remove(self._callback)

    def summary(self) -> dict[str, float]:
        """``{"gen{n}_max_ms", "gen{n}_count"}`` for the three generations."""
        out: dict[str, float] = {}
        for gen in range(3):
            out[f"gen{gen}_max_ms"] = round(self.longest[gen] * 1000, 3)
            out[f"gen{gen}_count"] = self.count[gen]
        return out

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        gen = info.get("generation", 0)
        elapsed = time.perf_counter() - self._started
        self.count[gen] += 1
        if elapsed > self.longest[gen]:
            self.longest[gen] = elapsed
