"""What each load-generator process records: its own clock-free tally of one run.

Pure and gevent-free so it can be tested alone; lab/drivers/locust/locustfile.py feeds it locust's request
events. Latencies go into an HdrHistogram in µs (locust's own stats round anything under
100 ms to whole milliseconds, useless here); only requests that complete inside the measured
window count, so the warm-up shapes nothing but the time series.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from lab.drivers.locust.tally import TALLY, Second, Tally
from lab.model import hdr
from lab.model.window import Window
from lab.paths import write_atomically

# Distinct failure messages kept per process; the rest are only counted.
MAX_ERROR_KINDS = 20


class Recorder:
    """One process's tally. A success costs a list append here (the raw client hands over all
    those of one poll at once); latencies reach the histograms once a second, as counts per
    distinct µs value (loopback latencies repeat: a second of 50k requests holds a few hundred
    distinct values), so recording stays well below a microsecond a request, which the raw
    client needs (it makes requests of under 15 µs)."""

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
        self.retried = 0  # of the requests, those a client sent a second time (raw: reused connection closed)
        self.response_bytes = 0
        self.errors: dict[str, int] = {}
        self.seconds: dict[int, list[Any]] = {}  # second → [requests, failures, histogram]
        self.cpu_marks: list[tuple[float, float]] = []  # (wall clock, this process's CPU seconds)
        self._second = -1  # the second whose latencies are still in the lists below
        self._second_us: list[int] = []  # its successes' latencies, µs
        self._window_us: list[int] = []  # those of them inside the measured window
        self._scheduled_us: list[int] = []  # open loop: latency from when each was due, µs
        self._begin = self._end = 0.0  # the window's ends: tested on every request, so plain floats
        self.user_classes: list[str] = []  # the locust user classes this process ran

    def start(self, now: float) -> None:
        if self.started is None:
            self.started = now
            window = self.window
            self._begin, self._end = window.start, window.end

    @property
    def window(self) -> Window:
        assert self.started is not None
        return Window.after_warmup(self.started, self.warmup, self.duration)

    def record(self, now: float, response_time_ms: float, response_length: int, error: str | None,
               scheduled_ms: float | None = None) -> int:
        """Tally one finished request; returns its second since the start (for live output).
        `scheduled_ms`: its latency from when it was due (open loop), if the client kept a
        schedule; otherwise an open loop's histogram is corrected from the interval."""
        micros = int(response_time_ms * 1000.0)
        if error is None:
            return self.record_successes(now, [micros], response_length,
                                         None if scheduled_ms is None else [int(scheduled_ms * 1000.0)])
        second, bucket = self._bucket(now)
        bucket[1] += 1
        if self._begin <= now < self._end:
            self.failures += 1
            if error in self.errors or len(self.errors) < MAX_ERROR_KINDS:
                self.errors[error] = self.errors.get(error, 0) + 1
        bucket[0] += 1
        return second

    def record_successes(self, now: float, micros: list[int], response_bytes: int,
                         scheduled_us: list[int] | None = None, retried: int = 0) -> int:
        """Tally successes that finished at `now`: their latencies in µs, their bodies' length
        together, in an open loop whose client kept a schedule their latencies from when each
        was due, and how many of them were sent twice. Returns their second since the start."""
        second, bucket = self._bucket(now)
        bucket[0] += len(micros)
        self._second_us += micros
        if self._begin <= now < self._end:
            self.requests += len(micros)
            self.retried += retried
            self.response_bytes += response_bytes
            self._window_us += micros
            if scheduled_us:
                self._scheduled_us += scheduled_us
        return second

    def _bucket(self, now: float) -> tuple[int, list[Any]]:
        """The second `now` falls in and its [requests, failures, histogram]."""
        if self.started is None:
            self.start(now)
        second = int(now - self.started)  # type: ignore[operator]
        if second != self._second:
            self._flush()
            self._second = second
        bucket = self.seconds.get(second)
        if bucket is None:
            bucket = self.seconds[second] = [0, 0, hdr.new(hdr.SECOND_SIGNIFICANT_DIGITS)]
        return second, bucket

    def _flush(self) -> None:
        """Move the held latencies into the histograms, one call per distinct value."""
        if self._second_us:
            histogram = self.seconds[self._second][2]
            for value, count in Counter(self._second_us).items():
                hdr.record(histogram, value, count)
            self._second_us = []
        if self._window_us:
            corrected = None if self._scheduled_us else self.corrected
            for value, count in Counter(self._window_us).items():
                hdr.record(self.histogram, value, count)
                if corrected is not None:
                    hdr.record_corrected(corrected, value, self.interval_us, count)  # type: ignore[arg-type]
            self._window_us = []
        if self._scheduled_us:
            if self.corrected is None:
                self.corrected = hdr.new()
            for value, count in Counter(self._scheduled_us).items():
                hdr.record(self.corrected, value, count)
            self._scheduled_us = []

    def mark_cpu(self, now: float, cpu_s: float) -> None:
        """Note this process's CPU time (about once a second): a locust process runs on one core,
        so its busy share says whether it, rather than the server, set the pace."""
        self.cpu_marks.append((now, cpu_s))

    def cpu_busy(self) -> float | None:
        """CPU seconds per second of this process between its first and last mark in the window."""
        if self.started is None:
            return None
        window = self.window
        inside = [mark for mark in self.cpu_marks if mark[0] in window]
        if len(inside) < 2 or inside[-1][0] <= inside[0][0]:
            return None
        (t0, c0), (t1, c1) = inside[0], inside[-1]
        return (c1 - c0) / (t1 - t0)

    def result(self) -> Tally:
        """The tally so far; a process that has not started has an empty window at 0."""
        self._flush()
        return Tally(
            started=self.started or 0.0,
            window=self.window if self.started is not None else Window(0.0, 0.0),
            requests=self.requests,
            failures=self.failures,
            retried=self.retried,
            response_bytes=self.response_bytes,
            errors=self.errors,
            histogram=hdr.encode(self.histogram),
            corrected=None if self.corrected is None else hdr.encode(self.corrected),
            seconds=tuple(Second(s, b[0], b[1], *_second_latency(b[2])) for s, b in sorted(self.seconds.items())),
            cpu_busy=self.cpu_busy(),
            user_classes=tuple(self.user_classes),
            pid=os.getpid(),
        )

    def write(self, directory: Path) -> Path:
        """Atomically write this process's result as TALLY in `directory`."""
        path = directory / TALLY
        write_atomically(path, self.result().to_json())
        return path


def _second_latency(histogram: HdrHistogram) -> tuple[float | None, ...]:
    """A second's p50, p99 and maximum (None: no success in it)."""
    if histogram.get_total_count() == 0:
        return None, None, None
    return (float(histogram.get_value_at_percentile(50.0)), float(histogram.get_value_at_percentile(99.0)),
            float(histogram.get_max_value()))
