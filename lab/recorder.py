"""What each load-generator process records: its own clock-free tally of one run.

Pure and gevent-free so it can be tested alone; lab/locustfile.py feeds it locust's request
events. Latencies go into an HdrHistogram in µs (locust's own stats round anything under
100 ms to whole milliseconds, useless here); only requests that complete inside the measured
window count, so the warm-up shapes nothing but the time series.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from . import hdr

# Distinct failure messages kept per process; the rest are only counted.
MAX_ERROR_KINDS = 20


class Recorder:
    def __init__(self, warmup: float, duration: float, interval_us: float | None = None) -> None:
        self.warmup = warmup
        self.duration = duration
        # Open-loop scenarios (a fixed rate per user) also get a coordinated-omission-corrected
        # histogram: what latency a client that never waits for the server would have seen.
        self.interval_us = interval_us
        self.corrected = hdr.new() if interval_us else None
        self.started: float | None = None  # wall-clock time of the first user's start
        self.histogram = hdr.new()
        self.requests = 0
        self.failures = 0
        self.response_bytes = 0
        self.errors: dict[str, int] = {}
        self.seconds: dict[int, list[Any]] = {}  # second → [requests, failures, histogram]
        self.cpu_marks: list[tuple[float, float]] = []  # (wall clock, this process's CPU seconds)

    def start(self, now: float) -> None:
        if self.started is None:
            self.started = now

    @property
    def window(self) -> tuple[float, float]:
        assert self.started is not None
        begin = self.started + self.warmup
        return begin, begin + self.duration

    def record(self, now: float, response_time_ms: float, response_length: int, error: str | None) -> int:
        """Tally one finished request; returns its second since the start (for live output)."""
        if self.started is None:
            self.start(now)
        assert self.started is not None
        second = int(now - self.started)
        bucket = self.seconds.get(second)
        if bucket is None:
            bucket = self.seconds[second] = [0, 0, hdr.new(hdr.SECOND_SIGNIFICANT_DIGITS)]
        bucket[0] += 1
        micros = response_time_ms * 1000.0
        if error is not None:
            bucket[1] += 1
        else:
            hdr.record(bucket[2], micros)
        begin, end = self.window
        if begin <= now < end:
            if error is None:
                self.requests += 1
                self.response_bytes += response_length
                hdr.record(self.histogram, micros)
                if self.corrected is not None:
                    hdr.record_corrected(self.corrected, micros, self.interval_us)  # type: ignore[arg-type]
            else:
                self.failures += 1
                if error in self.errors or len(self.errors) < MAX_ERROR_KINDS:
                    self.errors[error] = self.errors.get(error, 0) + 1
        return second

    def mark_cpu(self, now: float, cpu_s: float) -> None:
        """Note this process's CPU time (about once a second): a locust process runs on one core,
        so its busy share says whether it, rather than the server, set the pace."""
        self.cpu_marks.append((now, cpu_s))

    def cpu_busy(self) -> float | None:
        """CPU seconds per second of this process between its first and last mark in the window."""
        if self.started is None:
            return None
        begin, end = self.window
        inside = [mark for mark in self.cpu_marks if begin <= mark[0] <= end]
        if len(inside) < 2 or inside[-1][0] <= inside[0][0]:
            return None
        (t0, c0), (t1, c1) = inside[0], inside[-1]
        return (c1 - c0) / (t1 - t0)

    def result(self) -> dict[str, Any]:
        begin, end = self.window if self.started is not None else (0.0, 0.0)
        return {
            "cpu_busy": self.cpu_busy(),
            "pid": os.getpid(),
            "started": self.started,
            "window_start": begin,
            "window_end": end,
            "requests": self.requests,
            "failures": self.failures,
            "response_bytes": self.response_bytes,
            "errors": self.errors,
            "histogram": hdr.encode(self.histogram),
            "corrected": None if self.corrected is None else hdr.encode(self.corrected),
            "seconds": [
                {"second": s, "requests": b[0], "failures": b[1], **_second_latency(b[2])}
                for s, b in sorted(self.seconds.items())
            ],
        }

    def write(self, directory: Path) -> Path:
        """Atomically write this process's result as <pid>.json in `directory`."""
        path = directory / f"{os.getpid()}.json"
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.result()))
        os.replace(temporary, path)
        return path


def _second_latency(histogram: HdrHistogram) -> dict[str, float | None]:
    if histogram.get_total_count() == 0:
        return {"latency_p50_us": None, "latency_p99_us": None, "latency_max_us": None}
    return {
        "latency_p50_us": float(histogram.get_value_at_percentile(50.0)),
        "latency_p99_us": float(histogram.get_value_at_percentile(99.0)),
        "latency_max_us": float(histogram.get_max_value()),
    }
