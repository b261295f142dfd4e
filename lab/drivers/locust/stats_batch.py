"""Successes added to locust's statistics in batches, as its master adds its workers' reports.

locust's request event costs its statistics 2-4 µs a request (a clock read, a dict update per
second and per rounded response time, for the entry and for the total), a third of what a
request may cost the raw client in all. So the raw client hands its successes over here, and
every FLUSH_S they reach locust's statistics as one entry per request name and second, through
`StatsEntry.extend`: the aggregation locust itself applies when a master merges a worker's
serialized entries. Counts, bytes, the per-second rates and the rounded response-time histogram
come out exactly as from one event per request; min, max and the total are exact to the µs.
Pure (no gevent), so it is tested in memory against locust's own per-request path.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from locust.stats import RequestStats, StatsEntry, StatsEntryDict, bucket_response_time

# Seconds successes wait before they reach locust's statistics: its console and web UI read
# them about once a second, a worker reports them every 3 s.
FLUSH_S = 0.1


class _Pending:
    """One request name's successes within one second, not yet in locust's statistics."""

    __slots__ = ("body_bytes", "first", "last", "micros")

    def __init__(self, now: float) -> None:
        self.micros: list[int] = []
        self.body_bytes = 0
        self.first = self.last = now


class StatsBatch:
    """Call `add` with successes as they complete and `flush` when the run ends; `add` flushes on
    its own every FLUSH_S and whenever the second changes."""

    def __init__(self, stats: RequestStats) -> None:
        self._stats = stats
        self._pending: dict[tuple[str, str, int], _Pending] = {}
        self._flushed_at = 0.0

    def add(self, method: str, name: str, micros: list[int], body_bytes: int, now: float) -> None:
        """`micros`: the response times of successes of one request name that completed at `now`
        (wall clock), in µs; `body_bytes`: their bodies' length together."""
        if now - self._flushed_at >= FLUSH_S:
            self.flush()
            self._flushed_at = now
        key = (method, name, int(now))
        pending = self._pending.get(key)
        if pending is None:
            pending = self._pending[key] = _Pending(now)
        pending.micros += micros
        pending.body_bytes += body_bytes
        pending.last = now

    def flush(self) -> None:
        stats = self._stats
        for (method, name, second), pending in self._pending.items():
            entry = StatsEntry.unserialize(_serialized(method, name, second, pending), stats)
            stats.entries[(name, method)].extend(entry)
            stats.total.extend(entry)
        self._pending = {}


def _serialized(method: str, name: str, second: int, pending: _Pending) -> StatsEntryDict:
    """The entry a locust worker would report for these requests."""
    buckets: defaultdict[int, int] = defaultdict(int)
    total_ms = 0.0
    for micros, count in Counter(pending.micros).items():
        milliseconds = micros / 1000.0
        buckets[bucket_response_time(milliseconds)] += count
        total_ms += milliseconds * count
    requests = len(pending.micros)
    return {
        "name": name, "method": method, "last_request_timestamp": pending.last, "start_time": pending.first,
        "num_requests": requests, "num_none_requests": 0, "num_failures": 0,
        # locust's own types say int; it sums the float milliseconds clients report.
        "total_response_time": total_ms,  # type: ignore[typeddict-item]
        "max_response_time": max(pending.micros) / 1000.0,  # type: ignore[typeddict-item]
        "min_response_time": min(pending.micros) / 1000.0,  # type: ignore[typeddict-item]
        "total_content_length": pending.body_bytes, "response_times": buckets,
        "num_reqs_per_sec": {second: requests}, "num_fail_per_sec": {},
    }
