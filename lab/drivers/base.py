"""The driver contract: what a load generator hands back from one run, whichever it was."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.model.record import CorrectedLatency, Latency
from lab.model.scenario import Scenario
from lab.model.window import Window
from lab.processes.sampler import Sample


class RunFailed(Exception):
    """A run that produced no trustworthy numbers; its message goes into the row's `error`."""


@dataclass(frozen=True)
class LoadResult:
    requests: int  # successful, completed inside the window
    failures: int
    response_bytes: int
    errors: dict[str, int]  # failure message → count
    window: Window  # what the counts are of
    latency: Latency
    corrected: CorrectedLatency  # open loop: counted from when each request was due
    generator_samples: list[Sample]
    processes: int  # generator processes (or threads, for wrk) whose tallies were merged
    retried: int | None = None  # of `requests`, those sent again on a new connection; None: not known
    busiest_process: float | None = None  # highest CPU share of one generator process, where known
    histogram: str | None = None  # encoded HdrHistogram of the window, where the driver has one
    seconds: list[dict[str, Any]] = field(default_factory=list)  # timeseries rows, where it has them


LiveCallback = Callable[[str], None]  # told what the generator is doing: "8,123 req/s", "warming up"


@dataclass(frozen=True)
class Driver:
    """A load generator, and what it can and cannot do: callers ask it before planning a run."""

    name: str
    missing: Callable[[], str | None]  # what to install before it can run, or None
    refusal: Callable[[Scenario], str | None]  # why it cannot run a scenario, or None
    run: Callable[[Scenario, str, frozenset[int], Path, LiveCallback], LoadResult]
