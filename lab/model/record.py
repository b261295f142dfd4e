"""A run's row of runs.parquet as the typed parts its producers return.

Each part is what one step of a run knows (the plan, the machine, the check before the load, the
driver's counts and latency, the samples' costs, …); its fields are column names declared in
lab.store.columns, each made by exactly one part (tests/lab/store/test_record.py holds the two
together). `row(*parts)` is the dict that BatchWriter writes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar, Protocol


class Part(Protocol):
    __dataclass_fields__: ClassVar[dict[str, Any]]


def row(*parts: Part) -> dict[str, Any]:
    """The columns the parts fill; a column named by two parts is a producer's mistake."""
    out: dict[str, Any] = {}
    for part in parts:
        for field in fields(part):
            if field.name in out:
                raise ValueError(f"column {field.name!r} filled twice (by {type(part).__name__})")
            out[field.name] = getattr(part, field.name)
    return out


@dataclass(frozen=True)
class Place:
    """A run's place in its batch and what it ran: what a timed and a counted run both begin with."""

    batch: str
    run_id: str
    started_at: str
    repeat: int
    target: str
    target_label: str
    target_version: str | None
    stage: int | None
    server_args: str
    scenario: str
    scenario_hash: str


@dataclass(frozen=True)
class Planned(Place):
    """What a timed run is before anything is measured: its place, the load asked for, the pinning."""

    closing_ceiling: bool
    driver: str
    users: int
    spawn_rate: float
    duration_s: float
    warmup_s: float
    client: str
    processes: int
    pipeline: int
    load_level: float | None
    target_rate: float | None
    slow_clients: int
    slow_kind: str | None
    server_cpus: str | None
    client_cpus: str | None


@dataclass(frozen=True)
class Machine:
    cpu_model: str
    cpu_count: int
    hostname: str
    platform: str
    python_version: str
    locust_version: str
    gevent_version: str
    greenlet_version: str
    uvloop_version: str
    httptools_version: str
    orjson_version: str
    git_commit: str


@dataclass(frozen=True)
class Verification:
    """The check of every scenario request before the load."""

    url: str
    verified: bool
    verify_problems: str | None


@dataclass(frozen=True)
class SlowClientTally:
    slow_clients_opened: int | None = None
    slow_clients_closed_by_server: int | None = None


@dataclass(frozen=True)
class Throughput:
    requests: int
    failures: int
    retried_requests: int | None
    failure_ratio: float | None
    top_error: str | None
    qps: float
    bytes_per_s: float
    load_processes_reporting: int


@dataclass(frozen=True)
class Latency:
    """The measured window's latency, µs (lab.model.hdr.summarize); None: nothing measured."""

    latency_mean_us: float | None = None
    latency_min_us: float | None = None
    latency_max_us: float | None = None
    latency_p50_us: float | None = None
    latency_p75_us: float | None = None
    latency_p90_us: float | None = None
    latency_p95_us: float | None = None
    latency_p99_us: float | None = None
    latency_p999_us: float | None = None


@dataclass(frozen=True)
class CorrectedLatency:
    """Open loop: latency counted from when each request was due, µs; None for a closed loop."""

    latency_corrected_mean_us: float | None = None
    latency_corrected_p50_us: float | None = None
    latency_corrected_p99_us: float | None = None
    latency_corrected_p999_us: float | None = None


@dataclass(frozen=True)
class ServerCost:
    server_cpu_s: float | None
    server_cpu_busy: float | None
    server_cpus_idle: float | None
    server_cpu_us_per_request: float | None
    projected_qps_one_core: float | None
    server_system_cpu_share: float | None
    server_rss_peak_bytes: int | None
    server_fds_peak: int | None


@dataclass(frozen=True)
class GeneratorCost:
    generator_cpu_s: float | None
    generator_cpu_busy: float | None
    generator_cpus_idle: float | None
    generator_busiest_process_busy: float | None


@dataclass(frozen=True)
class Limit:
    """What held the run's rate (lab.model.bottleneck), and the server's design concurrency it
    was read with."""

    server_concurrency: int | None
    bottleneck: str


@dataclass(frozen=True)
class Connections:
    """What the server counted as open, what the kernel counted, and what each held connection cost
    in memory."""

    server_connections_peak: int | None
    server_rss_idle_bytes: int | None
    server_fds_held_peak: int | None
    server_rss_per_connection_bytes: float | None


@dataclass(frozen=True)
class Descriptors:
    server_fds_idle: int | None  # before the load and any hostile clients
    server_fds_after: int | None = None  # soaks: once they were gone and the server settled


@dataclass(frozen=True)
class Drift:
    server_rss_growth: float | None
    server_rss_growth_bytes: int | None
    server_fds_growth: float | None
    latency_p99_drift: float | None


@dataclass(frozen=True)
class Calibration:
    """The same repeat's calibration run read against this one (lab.run.scheduler.read_against)."""

    generator_ceiling_qps: float | None = None
    generator_ceiling_share: float | None = None
    latency_floor_mean_us: float | None = None
    latency_floor_p50_us: float | None = None
    latency_floor_p99_us: float | None = None


@dataclass(frozen=True)
class Soak:
    soak_verdict: str | None


@dataclass(frozen=True)
class Ending:
    error: str | None  # why the run failed; None for a good run
    server_exit_code: int | None  # None: the lab started no server


# Every part, for the test that holds them to the declared columns.
PARTS = (Planned, Machine, Verification, SlowClientTally, Throughput, Latency, CorrectedLatency, ServerCost,
         GeneratorCost, Limit, Connections, Descriptors, Drift, Calibration, Soak, Ending)


@dataclass(frozen=True)
class CountedPlanned(Place):
    """What a counted run is (a row of counted.parquet): its place, and the pipeline it counted."""

    pipeline: int
    server_cpus: str | None


@dataclass(frozen=True)
class Counts:
    """What callgrind counted in the window (lab.run.counted); None: the run failed before it."""

    warmup_requests: int
    counted_requests: int | None = None
    counted_failures: int | None = None
    counted_wall_s: float | None = None
    server_instructions: int | None = None
    server_instructions_per_request: float | None = None
    server_syscalls_per_request: float | None = None
    valgrind_version: str | None = None


# The parts of a counted run's row.
COUNTED_PARTS = (CountedPlanned, Machine, Counts, Ending)


@dataclass(frozen=True)
class Sampled:
    """What the profiler sampled in a profiled run's window (lab.run.profiled); None: it failed."""

    profiler: str | None = None
    profiler_version: str | None = None
    profile_rate_hz: int | None = None
    profile_samples: int | None = None


# A profiled run's row: a timed run's, and what its profiler sampled.
PROFILED_PARTS = (*PARTS, Sampled)
