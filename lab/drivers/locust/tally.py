"""What one locust load process tallied of a run (recorder.Recorder.result), as it crosses
processes and machines (a file, a locust message), and the tallies merged into one run's result."""

from __future__ import annotations

import functools
import json
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from lab.drivers.base import LoadResult
from lab.model import hdr
from lab.model.scenario import Scenario
from lab.model.window import Window

# The tallies' names in the run's folder: the lab reads exactly these, whatever else the folder holds.
TALLY = "tally.json"  # a standalone locust's


def worker_tally(index: int) -> str:
    """The tally a distributed run's master writes for its `index`th worker."""
    return f"tally-worker-{index}.json"


@dataclass(frozen=True)
class Second:
    """One second of a process's time series, counted from its start, warm-up included."""

    second: int
    requests: int
    failures: int
    latency_p50_us: float | None = None  # of this second's successes (None: there were none)
    latency_p99_us: float | None = None
    latency_max_us: float | None = None

    def merged(self, other: Second) -> Second:
        """Two processes' same second: counts summed; the exact percentile across processes is
        lost, so the worse process's is kept."""
        return Second(self.second, self.requests + other.requests, self.failures + other.failures,
                      *(_worse(getattr(self, key), getattr(other, key)) for key in _LATENCIES))


_LATENCIES = ("latency_p50_us", "latency_p99_us", "latency_max_us")


def _worse(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


@dataclass(frozen=True)
class Tally:
    """One load process's tally of one run: only what completed inside `window` is counted."""

    started: float  # wall clock of its first user's start; its seconds count from here
    window: Window
    requests: int
    failures: int
    retried: int  # of the requests, those a client sent a second time
    response_bytes: int
    errors: dict[str, int]  # failure message → count
    histogram: str  # hdr.encode()d latencies, µs
    corrected: str | None  # open loop: latencies from when each request was due; None: closed loop
    seconds: tuple[Second, ...]
    cpu_busy: float | None = None  # this process's CPU seconds per second in the window, where known
    user_classes: tuple[str, ...] = ()  # the locust user classes it ran
    pid: int | None = None
    worker: str | None = None  # a distributed run's worker id, as its master knew it

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Tally:
        return cls(**{**data, "window": Window(**data["window"]), "user_classes": tuple(data["user_classes"]),
                      "seconds": tuple(Second(**second) for second in data["seconds"])})

    def to_json(self) -> str:
        return json.dumps(self.as_dict())

    @classmethod
    def read(cls, path: Path) -> Tally:
        return cls.from_dict(json.loads(path.read_text()))

    def moved(self, offset: float) -> Tally:
        """The same tally on a clock `offset` seconds ahead (a worker's onto its master's)."""
        return replace(self, started=self.started + offset, window=self.window.moved(offset))


def merge(tallies: list[Tally], scenario: Scenario, samples: list[Any]) -> LoadResult:
    """One result from the processes' tallies: counts summed, histograms added, the window spanning
    them all, the busiest process kept (one saturated process limits the run)."""
    histogram = hdr.merge(t.histogram for t in tallies)
    corrected = [t.corrected for t in tallies if t.corrected]
    errors: dict[str, int] = {}
    for t in tallies:
        for message, count in t.errors.items():
            errors[message] = errors.get(message, 0) + count
    return LoadResult(
        requests=sum(t.requests for t in tallies),
        failures=sum(t.failures for t in tallies),
        response_bytes=sum(t.response_bytes for t in tallies),
        errors=errors,
        window=functools.reduce(Window.spanning, (t.window for t in tallies)),
        latency=hdr.summarize(histogram),
        corrected=hdr.summarize_corrected(hdr.merge(corrected) if corrected else None),
        generator_samples=samples,
        processes=len(tallies),
        retried=sum(t.retried for t in tallies),
        busiest_process=max((t.cpu_busy for t in tallies if t.cpu_busy is not None), default=None),
        histogram=hdr.encode(histogram),
        seconds=_merge_seconds(tallies, scenario),
    )


def _merge_seconds(tallies: list[Tally], scenario: Scenario) -> list[dict[str, Any]]:
    """The processes' seconds lined up by wall clock, as the run's time series rows."""
    started = min(t.started for t in tallies)
    seconds: dict[int, Second] = {}
    for t in tallies:
        offset = round(t.started - started)
        for s in t.seconds:
            moved = replace(s, second=s.second + offset)
            seconds[moved.second] = seconds[moved.second].merged(moved) if moved.second in seconds else moved
    measured = Window.after_warmup(0.0, scenario.load.warmup, scenario.load.duration)
    return [{**asdict(s), "phase": "warmup" if s.second < measured.start else "measure" if s.second in measured
             else "after"} for _, s in sorted(seconds.items())]
