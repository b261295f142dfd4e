"""One profiled run: a timed run of the scenario with a sampling profiler attached to the server
for the measured window, its stacks kept, and each function's share of the samples turned into
microseconds per request with the CPU per request the same run measured.

A row of profiled.parquet, never of runs.parquet: the profiler costs the server time (py-spy
stops it to read each stack), and a verdict must not be drawn from a run that carried it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from lab.drivers.base import LiveCallback
from lab.model import record
from lab.model.record import Sampled
from lab.model.scenario import Scenario
from lab.model.target import Target
from lab.profiling import profilers
from lab.profiling.profilers import ProfilingFailed, Recording
from lab.profiling.stacks import Stacks, StacksError, folded, functions, total
from lab.run.measure import Pinning, measure
from lab.store.results import ProfiledResult

# Profiled runs per target × scenario by default: two, so that how far a function moves between
# two profiles of the same server (the sampling's own noise) is known beside any change.
PROFILED_REPEATS = 2
# Functions kept per profiled run, by inclusive and by self samples each: at 100 Hz for 10 s, far
# below one sample's worth of a request.
FUNCTIONS_KEPT = 100


@dataclass
class _Attached:
    """The profiler of one run: attached when the warm-up ends, for the measured window."""

    scratch: Path
    cpus: frozenset[int]
    recording: Recording | None = None
    failure: str | None = None
    stacks: Stacks = field(default_factory=Stacks)

    @contextmanager
    def during(self, pid: int, scenario: Scenario) -> Iterator[None]:
        try:
            self.recording = profilers.record(pid, scenario.load.duration, self.scratch, self.cpus,
                                              after=scenario.load.warmup)
        except (ProfilingFailed, OSError) as error:
            self.failure = str(error)
            yield
            return
        try:
            yield
            self._read(self.recording)
        finally:
            self.recording.stop()

    def _read(self, recording: Recording) -> None:
        """The recording's stacks, or why there are none."""
        try:
            self.stacks = recording.stacks()
        except (ProfilingFailed, StacksError, OSError) as error:
            self.failure = str(error)


def profile(target: Target, scenario: Scenario, pinning: Pinning, *, batch: str, repeat: int, driver: str,
            on_live: LiveCallback = lambda text: None) -> ProfiledResult:
    """One timed run with a profiler attached for its window; a failure of either becomes the
    row's `error`."""
    with tempfile.TemporaryDirectory(prefix="qpslab-profile-") as scratch:
        attached = _Attached(Path(scratch), pinning.client_cpus if pinning.pinned else frozenset())
        timed = measure(target, scenario, pinning, batch=batch, repeat=repeat, driver=driver, on_live=on_live,
                        observe=attached.during)
    row = timed.row
    recording = attached.recording
    samples = total(attached.stacks)
    if target.module is None and not target.command:
        failure: str | None = "a profiled run needs a server the lab starts, not a running URL"
    else:
        failure = attached.failure or (None if samples else "the profiler sampled nothing")
    good = not row["error"] and failure is None
    row = {**row, **record.row(Sampled(
        profiler=recording.kind if recording else None,
        profiler_version=profilers.version(recording.kind) if recording else None,
        profile_rate_hz=recording.rate_hz if recording else None, profile_samples=samples if good else None))}
    if row["error"] is None and failure is not None:
        row["error"] = f"profile: {failure}"
    if not good:
        return ProfiledResult(row, [], [])
    stacks = [{"run_id": row["run_id"], "stack": stack, "samples": n} for stack, n in folded(attached.stacks)]
    return ProfiledResult(row, top_functions(attached.stacks, row["run_id"], row["server_cpu_us_per_request"]), stacks)


def top_functions(stacks: Stacks, run_id: str, us_per_request: float | None) -> list[dict[str, object]]:
    """profile_functions.parquet's rows of one run: the FUNCTIONS_KEPT most inclusive and most
    self samples, ranked by inclusive, each in µs per request (None without the run's CPU)."""
    samples = total(stacks)
    if not samples:
        return []
    every = functions(stacks)
    by_self = sorted(every, key=lambda f: -f.self_samples)
    kept = {f.function: f for f in every[:FUNCTIONS_KEPT] + by_self[:FUNCTIONS_KEPT]}
    ranked = sorted(kept.values(), key=lambda f: (-f.inclusive_samples, -f.self_samples, f.function))
    share = None if us_per_request is None else us_per_request / samples
    return [{"run_id": run_id, "rank": rank, "function": f.function, "self_samples": f.self_samples,
             "inclusive_samples": f.inclusive_samples,
             "self_us_per_request": None if share is None else f.self_samples * share,
             "inclusive_us_per_request": None if share is None else f.inclusive_samples * share}
            for rank, f in enumerate(ranked, 1)]
