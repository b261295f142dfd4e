"""What a load generator hands back from one run, whichever generator it was."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from lab.processes.sampler import Sample, Sampler
from lab.processes.spawn import stop


class RunFailed(Exception):
    """A run that produced no trustworthy numbers; its message goes into the row's `error`."""


@dataclass(frozen=True)
class Pinning:
    server_cpus: frozenset[int]
    client_cpus: frozenset[int]


@dataclass(frozen=True)
class LoadResult:
    requests: int  # successful, completed inside the window
    failures: int
    response_bytes: int
    errors: dict[str, int]  # failure message → count
    window_start: float  # wall clock
    window_end: float
    latency: dict[str, float | None]  # hdr.summarize's and hdr.summarize_corrected's keys, µs
    generator_samples: list[Sample]
    processes: int  # generator processes (or threads, for wrk) whose tallies were merged
    busiest_process: float | None = None  # highest CPU share of one generator process, where known
    histogram: str | None = None  # encoded HdrHistogram of the window, where the driver has one
    seconds: list[dict[str, Any]] = field(default_factory=list)  # timeseries rows, where it has them


LiveCallback = Callable[[str], None]  # told what the generator is doing: "8,123 req/s", "warming up"


def wait_sampled(process: subprocess.Popen[bytes], deadline: float, on_poll: Callable[[], None],
                 poll_s: float, also_sample: Sequence[subprocess.Popen[bytes]] = ()) -> list[Sample]:
    """Sample a running generator's CPU (with the processes `also_sample`, its helpers) until it
    exits (or `deadline`, monotonic), then stop it."""
    sampler = Sampler(process.pid, *(p.pid for p in also_sample)).start()
    try:
        while process.poll() is None:
            if time.monotonic() > deadline:
                raise RunFailed("the load generator did not finish in time")
            on_poll()
            time.sleep(poll_s)
    finally:
        samples = sampler.stop()
        stop(process)
    return samples
