"""One measured run: start the target, verify it, load it, sample it, stop it, make the row."""

from __future__ import annotations

import functools
import http.client
import os
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import psutil

from lab.drivers.base import LiveCallback, LoadResult, RunFailed
from lab.drivers.registry import DEFAULT_DRIVER, driver_named
from lab.hostile.crowd import slow_crowd
from lab.model import record
from lab.model.bottleneck import Side, bottleneck
from lab.model.record import (
    Connections,
    Descriptors,
    Ending,
    GeneratorCost,
    Limit,
    Part,
    Place,
    Planned,
    ServerCost,
    Throughput,
    Verification,
)
from lab.model.scenario import Scenario
from lab.model.target import LISTENING, Target, reference_closes
from lab.processes.sampler import SAMPLE_INTERVAL_S, Sample, Sampler, cpu_between, peak, sample_tree
from lab.processes.spawn import ProcessError, ServerProcess
from lab.run.environment import environment
from lab.run.gauge import GaugePoller
from lab.run.probe import ask
from lab.run.stability import attach_server_seconds, drift
from lab.run.verify import verify
from lab.store.results import RunResult


@dataclass(frozen=True)
class Pinning:
    """Which CPUs the server runs on, and which the load generator (and any slow clients).
    Unpinned (an OS without CPU affinity): both may use every CPU, and the rows say no pinning."""

    server_cpus: frozenset[int]
    client_cpus: frozenset[int]
    pinned: bool = True

    def record(self) -> dict[str, list[int] | None]:
        """The CPUs as a batch's metadata records them: None where nothing was pinned."""
        return {"server_cpus": sorted(self.server_cpus) if self.pinned else None,
                "client_cpus": sorted(self.client_cpus) if self.pinned else None}


# Something attached to the server while the load runs, given its pid and the scenario (a
# profiler: lab.run.profiled); it leaves the run if what it attached to fails.
Observer = Callable[[int, Scenario], AbstractContextManager[object]]

# Seconds a soak's server gets to close what the load and the hostile clients left open: past
# stage 4's keep-alive timeout (5 s) and a sweep.
SETTLE_S = 7.0
# Fewer held connections than this make memory per connection a number dominated by noise.
MIN_CONNECTIONS_FOR_PER_CONNECTION = 100
# Seconds a started server gets to answer its ready path (a target file's start and imports
# included; a stage has already said it is listening).
READY_TIMEOUT_S = 30.0
# Seconds a target's version command may take: it prints a line (and may digest its sources).
VERSION_TIMEOUT_S = 30.0

def wait_ready(url: str, path: str, alive: Callable[[], bool], timeout: float) -> None:
    """Poll `path` until it answers below 500: any answer but a server error means the server is up
    (what it answers is for the verification before the run to judge)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if not alive():
            raise RunFailed(f"server exited before answering {path}")
        try:
            status = ask(url, path, timeout=1.0).status
            if status < 500:
                return
            last = f"status {status}"
        except (OSError, http.client.HTTPException) as error:
            last = str(error) or type(error).__name__
        time.sleep(0.05)
    raise RunFailed(f"{path} did not answer within {timeout:.0f} s ({last})")


@functools.cache
def target_version(target: Target) -> str | None:
    """What the target's version command prints, on one line; None without one, or if it fails
    (the target's check, run before the batch, says why such a target cannot run). Asked once
    per target in a batch, not once per run."""
    if not target.version:
        return None
    try:
        done = subprocess.run(target.version, cwd=target.cwd, env={**os.environ, **dict(target.env)},
                              capture_output=True, text=True, timeout=VERSION_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return " ".join(done.stdout.split()) or None if done.returncode == 0 else None


def place(target: Target, scenario: Scenario, *, batch: str, repeat: int) -> Place:
    """A new run's place in its batch and what it runs (timed and counted runs alike)."""
    return Place(batch=batch, run_id=uuid.uuid4().hex[:12], started_at=datetime.now(UTC).isoformat(timespec="seconds"),
                 repeat=repeat, target=target.name, target_label=target.label, target_version=target_version(target),
                 stage=target.stage, server_args=" ".join(target.args), scenario=scenario.id,
                 scenario_hash=scenario.content_hash)


def planned(target: Target, scenario: Scenario, pinning: Pinning, *, batch: str, repeat: int, driver: str,
            load_level: float | None) -> Planned:
    """What a run is, before anything is measured: its place in the batch, the target, the load
    asked for and the pinning."""
    load = scenario.load
    cpus = pinning.record()
    return Planned(
        **asdict(place(target, scenario, batch=batch, repeat=repeat)),
        closing_ceiling=reference_closes(target, scenario), driver=driver,
        users=load.users, spawn_rate=load.spawn_rate, duration_s=load.duration, warmup_s=load.warmup,
        client=load.client, processes=load.local_processes(len(pinning.client_cpus)), pipeline=load.pipeline,
        load_level=load_level,
        target_rate=load.asked_rate,
        slow_clients=load.slow_clients, slow_kind=load.slow_kind if load.slow_clients else None,
        server_cpus=listed(cpus["server_cpus"]), client_cpus=listed(cpus["client_cpus"]),
    )


def listed(cpus: list[int] | None) -> str | None:
    """A CPU list as the rows record it: "0,1", or None where nothing was pinned."""
    return None if cpus is None else ",".join(map(str, cpus))


def measure(target: Target, scenario: Scenario, pinning: Pinning, *, batch: str, repeat: int,
            driver: str = DEFAULT_DRIVER, load_level: float | None = None,
            on_live: LiveCallback = lambda text: None, settle: bool = False,
            observe: Observer | None = None) -> RunResult:
    """Measure one target under one scenario; a failure becomes the row's `error`, not an exception.
    `settle`: once the load and any hostile clients are gone, wait for the server's descriptors to
    come back to their idle count, and record where they ended (`server_fds_after`; soaks).
    `observe`: attached to the server for the load (a started server only)."""
    known: list[Part] = [planned(target, scenario, pinning, batch=batch, repeat=repeat, driver=driver,
                                 load_level=load_level), environment()]
    measurements: list[Part] = []  # all of them or, for a failed run, none
    server = None
    if target.module is not None or target.command:
        server = ServerProcess(target.module or "", target.args, pinning.server_cpus if pinning.pinned else None,
                               target.command or None, env=target.env, cwd=target.cwd,
                               announces=target.ready == LISTENING)
    result: LoadResult | None = None
    error = None
    try:
        with tempfile.TemporaryDirectory(prefix="qpslab-") as scratch:
            url = _start(server, target)
            problems = verify(url, scenario)
            known.append(Verification(url, not problems, "; ".join(problems) or None))
            before = sample_tree(psutil.Process(server.pid)) if server is not None else None
            idle_fds = before.fds if before is not None else None  # before any load
            with slow_crowd(scenario.load, url, pinning.client_cpus, Path(scratch)) as slow:
                sampler = Sampler(server.pid).start() if server is not None else None
                gauge = GaugePoller(url).start() if target.stage is not None else None  # qpslab's /stats
                watched = observe(server.pid, scenario) if observe is not None and server is not None else nullcontext()
                try:
                    with watched:
                        result = driver_named(driver).run(scenario, url, pinning.client_cpus, Path(scratch), on_live)
                finally:
                    server_samples = sampler.stop() if sampler is not None else []
                    held = gauge.stop() if gauge is not None else []
            concurrency = gauge.concurrency if gauge is not None else None
            if server is not None and not server.alive():
                assert server.process is not None
                raise RunFailed(f"server died during the run (exit {server.process.returncode}): "
                                f"{server.output_tail()}")
            throughput, server_cost, generator_cost = measured(result, server_samples, pinning)
            attach_server_seconds(result.seconds, server_samples, held, result.window.start - scenario.load.warmup)
            after = _settled_fds(server.pid, idle_fds) if settle and server is not None else None
            measurements = [slow.tally, throughput, result.latency, result.corrected, server_cost, generator_cost,
                            limit(scenario, throughput, server_cost, generator_cost, concurrency),
                            connections(result, server_samples, held, server_cost),
                            Descriptors(idle_fds, after), drift(result.seconds)]
    except (RunFailed, ProcessError, OSError) as error_raised:
        error = str(error_raised) or type(error_raised).__name__
        result = None
    finally:
        exit_code = server.stop() if server is not None else None
    row = record.row(*known, *measurements, Ending(error, exit_code))
    if result is None:
        return RunResult(row, [], None)
    seconds = [{**second, "run_id": row["run_id"]} for second in result.seconds]
    return RunResult(row, seconds, result.histogram)


def _settled_fds(pid: int, idle: int | None) -> int | None:
    """The server tree's open descriptors once they are back to `idle`, or after SETTLE_S."""
    deadline = time.monotonic() + SETTLE_S
    while True:
        sample = sample_tree(psutil.Process(pid))
        if sample is None or idle is None or sample.fds <= idle or time.monotonic() > deadline:
            return None if sample is None else sample.fds
        time.sleep(SAMPLE_INTERVAL_S)


def _start(server: ServerProcess | None, target: Target) -> str:
    """The URL to load: the started server's once it is ready, or the target's own."""
    if server is None:
        assert target.url is not None
        return target.url
    url = server.start()
    if target.ready != LISTENING:
        wait_ready(url, target.ready, server.alive, READY_TIMEOUT_S)
    return url


def measured(result: LoadResult, server_samples: list[Sample], pinning: Pinning) -> tuple[Throughput, ServerCost,
                                                                                           GeneratorCost]:
    """The run's counts from the driver, and its CPU and memory costs from the samples."""
    begin, end = result.window.start, result.window.end
    window = result.window.seconds
    requests = result.requests
    attempts = requests + result.failures
    throughput = Throughput(
        requests=requests, failures=result.failures, retried_requests=result.retried,
        failure_ratio=result.failures / attempts if attempts else None,
        top_error=max(result.errors, key=result.errors.__getitem__) if result.errors else None,
        qps=requests / window, bytes_per_s=result.response_bytes / window,
        load_processes_reporting=result.processes,
    )
    server_cpu = cpu_between(server_samples, begin, end)
    server_system = cpu_between(server_samples, begin, end, "system_s")
    per_request = server_cpu / requests * 1e6 if server_cpu is not None and requests else None
    server = ServerCost(
        server_cpu_s=server_cpu,
        server_cpu_busy=_share(server_cpu, window, pinning.server_cpus),
        server_cpus_idle=_share(cpu_between(server_samples, begin, end, "idle_s"), window, pinning.server_cpus),
        server_cpu_us_per_request=per_request,
        projected_qps_one_core=1e6 / per_request if per_request else None,
        server_system_cpu_share=server_system / server_cpu if server_cpu and server_system is not None else None,
        server_rss_peak_bytes=peak(server_samples, begin, end, "rss"),
        server_fds_peak=peak(server_samples, begin, end, "fds"),
    )
    generator_cpu = cpu_between(result.generator_samples, begin, end)
    generator = GeneratorCost(
        generator_cpu_s=generator_cpu, generator_cpu_busy=_share(generator_cpu, window, pinning.client_cpus),
        generator_cpus_idle=_share(cpu_between(result.generator_samples, begin, end, "idle_s"), window,
                                   pinning.client_cpus),
        generator_busiest_process_busy=result.busiest_process,
    )
    return throughput, server, generator


def _share(seconds: float | None, window: float, cpus: frozenset[int]) -> float | None:
    """Seconds of CPU over a window as a share of the CPUs it was spread over."""
    return None if seconds is None else seconds / window / len(cpus)


def limit(scenario: Scenario, throughput: Throughput, server: ServerCost, generator: GeneratorCost,
          concurrency: int | None) -> Limit:
    """What held the run's rate (lab.model.bottleneck), from its costs and the server's design."""
    load = scenario.load
    found = bottleneck(Side(server.server_cpu_busy, server.server_cpus_idle),
                       Side(generator.generator_cpu_busy, generator.generator_cpus_idle,
                            generator.generator_busiest_process_busy),
                       users=load.users, concurrency=concurrency, asked_rate=load.asked_rate,
                       qps=throughput.qps)
    return Limit(concurrency, str(found))


def connections(result: LoadResult, server_samples: list[Sample], held: list[tuple[float, int]],
                server: ServerCost) -> Connections:
    """Connections the server itself counted as open, those the kernel counted (descriptors beyond
    the idle ones), and what each of those cost in resident memory."""
    in_window = [count for at, count in held if at in result.window]
    peak_connections = max(in_window) if in_window else None
    if not server_samples:
        return Connections(peak_connections, None, None, None)
    # RSS and descriptors from the same first sample, so that both count what the load added.
    idle = server_samples[0]
    rss_peak, fds_peak = server.server_rss_peak_bytes, server.server_fds_peak
    held_fds = None if fds_peak is None else fds_peak - idle.fds
    per_connection = (None if rss_peak is None or held_fds is None or held_fds < MIN_CONNECTIONS_FOR_PER_CONNECTION
                      else (rss_peak - idle.rss) / held_fds)
    return Connections(peak_connections, idle.rss, held_fds, per_connection)
