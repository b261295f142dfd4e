"""One measured run: start the target, verify it, load it with locust, sample, stop, tally."""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import hdr
from .environment import environment
from .process import ProcessError, ServerProcess, spawn, stop
from .sampler import Sample, Sampler, cpu_between, peak
from .scenario import Scenario
from .targets import Target
from .verify import get_status, verify

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
# A load generator busier than this (fraction of its pinned CPUs) limited the run, not the server.
SATURATED_BUSY = 0.90
# Seconds the target gets to answer /health after it says it is listening.
HEALTH_TIMEOUT_S = 10.0
# Seconds locust may take beyond warm-up + duration (start-up, spawning, writing results).
LOCUST_SLACK_S = 30.0
# Seconds locust keeps loading after the measured window closes, so that the window ends under
# full load and the CPU samples reach past it.
RUN_TAIL_S = 0.5
# How often the live progress is refreshed while locust runs.
LIVE_POLL_S = 0.5


@dataclass(frozen=True)
class Pinning:
    server_cpus: frozenset[int]
    client_cpus: frozenset[int]


@dataclass(frozen=True)
class RunResult:
    row: dict[str, Any]  # one line of runs.parquet
    seconds: list[dict[str, Any]]  # lines of timeseries.parquet
    histogram: str | None  # the encoded HdrHistogram of the measured window


class RunFailed(Exception):
    pass


def wait_healthy(url: str, alive: Callable[[], bool], timeout: float = HEALTH_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if not alive():
            raise RunFailed("server exited before answering /health")
        try:
            status = get_status(url, "/health", timeout=1.0)
            if status == 200:
                return
            last = f"status {status}"
        except OSError as error:
            last = str(error)
        time.sleep(0.05)
    raise RunFailed(f"/health did not answer 200 within {timeout:.0f} s ({last})")


def locust_command(scenario: Scenario, url: str) -> list[str]:
    load = scenario.load
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", url,
        "--users", str(load.users), "--spawn-rate", str(load.spawn_rate),
        "--run-time", f"{math.ceil(load.warmup + load.duration + RUN_TAIL_S)}s",
        "--stop-timeout", "0", "--only-summary", "--loglevel", "WARNING", "--skip-log-setup",
    ]
    if load.processes > 1:
        command += ["--processes", str(load.processes)]
    return command


def _live_rate(directory: Path) -> float:
    total = 0.0
    for path in directory.glob("*.live"):
        try:
            total += json.loads(path.read_text())["requests"]
        except (OSError, ValueError, KeyError):
            continue
    return total


def run_locust(scenario: Scenario, url: str, cpus: frozenset[int], out: Path,
               on_live: Callable[[float], None]) -> tuple[list[dict[str, Any]], list[Sample], str]:
    """Run locust to completion; return each process's tally, the generator's samples, and
    the tail of its output (for errors)."""
    (out / "scenario.json").write_text(json.dumps(scenario.to_dict()))
    env = {**os.environ, "QPSLAB_SCENARIO": str(out / "scenario.json"), "QPSLAB_OUT": str(out),
           "PYTHONPATH": os.pathsep.join([str(LOCUSTFILE.parent.parent), os.environ.get("PYTHONPATH", "")])}
    log = (out / "locust.log").open("wb")
    with log:
        process = spawn(locust_command(scenario, url), cpus, stdout=log, stderr=log, env=env)
        try:
            sampler = Sampler(process.pid).start()
            deadline = time.monotonic() + scenario.load.warmup + scenario.load.duration + LOCUST_SLACK_S
            while process.poll() is None:
                if time.monotonic() > deadline:
                    raise RunFailed("locust did not finish in time")
                on_live(_live_rate(out))
                time.sleep(LIVE_POLL_S)
            samples = sampler.stop()
        finally:
            stop(process)
    tail = (out / "locust.log").read_text(errors="replace")[-2000:]
    tallies = [json.loads(p.read_text()) for p in sorted(out.glob("*.json")) if p.name != "scenario.json"]
    # locust's master process (with --processes) starts a test but sends nothing: leave it out.
    tallies = [t for t in tallies if t["seconds"]]
    if not tallies:
        raise RunFailed(f"locust recorded no request (exit {process.returncode}): {tail.strip()[-500:]}")
    return tallies, samples, tail


def measure(target: Target, scenario: Scenario, pinning: Pinning, *, batch: str, repeat: int,
            on_live: Callable[[float], None] = lambda rate: None) -> RunResult:
    """Measure one target under one scenario; a failure becomes the row's `error`, not an exception."""
    load = scenario.load
    row: dict[str, Any] = {
        "batch": batch,
        "run_id": uuid.uuid4().hex[:12],
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "repeat": repeat,
        "target": target.name,
        "target_label": target.label,
        "stage": target.stage,
        "server_args": " ".join(target.args),
        "scenario": scenario.id,
        "scenario_hash": scenario.content_hash,
        "users": load.users,
        "spawn_rate": load.spawn_rate,
        "duration_s": load.duration,
        "warmup_s": load.warmup,
        "client": load.client,
        "processes": load.processes,
        "server_cpus": ",".join(map(str, sorted(pinning.server_cpus))),
        "client_cpus": ",".join(map(str, sorted(pinning.client_cpus))),
        **environment(),
        "error": None,
    }
    server = None if target.module is None else ServerProcess(target.module, target.args, pinning.server_cpus)
    seconds: list[dict[str, Any]] = []
    histogram = None
    try:
        with tempfile.TemporaryDirectory(prefix="qpslab-") as scratch:
            if server is not None:
                url = server.start()
                wait_healthy(url, server.alive)
            else:
                assert target.url is not None
                url = target.url
            row["url"] = url
            problems = verify(url, scenario)
            row["verified"] = not problems
            row["verify_problems"] = "; ".join(problems) or None
            sampler = Sampler(server.pid).start() if server is not None else None
            try:
                tallies, generator_samples, _ = run_locust(scenario, url, pinning.client_cpus, Path(scratch), on_live)
            finally:
                server_samples = sampler.stop() if sampler is not None else []
            if server is not None and not server.alive():
                assert server.process is not None
                raise RunFailed(f"server died during the run (exit {server.process.returncode}): "
                                f"{server.stderr_tail()}")
            histogram, seconds = _tally(row, tallies, server_samples, generator_samples, pinning)
    except (RunFailed, ProcessError, OSError) as error:
        row["error"] = str(error) or type(error).__name__
    finally:
        if server is not None:
            code = server.stop()
            row["server_exit_code"] = code
    for second in seconds:
        second["run_id"] = row["run_id"]
    return RunResult(row, seconds, histogram)


def _tally(row: dict[str, Any], tallies: list[dict[str, Any]], server_samples: list[Sample],
           generator_samples: list[Sample], pinning: Pinning) -> tuple[str, list[dict[str, Any]]]:
    merged = hdr.merge(t["histogram"] for t in tallies)
    begin = min(t["window_start"] for t in tallies)
    end = max(t["window_end"] for t in tallies)
    duration = row["duration_s"]
    requests = sum(t["requests"] for t in tallies)
    failures = sum(t["failures"] for t in tallies)
    errors: dict[str, int] = {}
    for t in tallies:
        for message, count in t["errors"].items():
            errors[message] = errors.get(message, 0) + count
    row.update({
        "requests": requests,
        "failures": failures,
        "failure_ratio": failures / (requests + failures) if requests + failures else None,
        "top_error": max(errors, key=errors.__getitem__) if errors else None,
        "qps": requests / duration,
        "bytes_per_s": sum(t["response_bytes"] for t in tallies) / duration,
        **hdr.summarize(merged),
        "load_processes_reporting": len(tallies),
    })
    server_cpu = cpu_between(server_samples, begin, end)
    row["server_cpu_s"] = server_cpu
    row["server_cpu_busy"] = None if server_cpu is None else server_cpu / (end - begin) / len(pinning.server_cpus)
    row["server_cpu_us_per_request"] = server_cpu / requests * 1e6 if server_cpu is not None and requests else None
    row["projected_qps_one_core"] = 1e6 / row["server_cpu_us_per_request"] if row["server_cpu_us_per_request"] else None
    row["server_rss_peak_bytes"] = peak(server_samples, begin, end, "rss")
    row["server_fds_peak"] = peak(server_samples, begin, end, "fds")
    generator_cpu = cpu_between(generator_samples, begin, end)
    row["generator_cpu_s"] = generator_cpu
    row["generator_cpu_busy"] = (
        None if generator_cpu is None else generator_cpu / (end - begin) / len(pinning.client_cpus)
    )
    row["bottleneck"] = (
        "generator" if row["generator_cpu_busy"] is not None and row["generator_cpu_busy"] >= SATURATED_BUSY
        else "server"
    )
    started = min(t["started"] for t in tallies)
    seconds: dict[int, dict[str, Any]] = {}
    for t in tallies:
        offset = round(t["started"] - started)
        for s in t["seconds"]:
            second = s["second"] + offset
            entry = seconds.setdefault(second, {"second": second, "requests": 0, "failures": 0,
                                                "latency_p50_us": None, "latency_p99_us": None,
                                                "latency_max_us": None})
            entry["requests"] += s["requests"]
            entry["failures"] += s["failures"]
            for key in ("latency_p50_us", "latency_p99_us", "latency_max_us"):
                # Across processes the exact percentile is lost; the worst process's is kept.
                if s[key] is not None:
                    entry[key] = s[key] if entry[key] is None else max(entry[key], s[key])
    measured_end = row["warmup_s"] + duration
    for entry in seconds.values():
        second = entry["second"]
        entry["phase"] = "warmup" if second < row["warmup_s"] else "measure" if second < measured_end else "after"
    return hdr.encode(merged), sorted(seconds.values(), key=lambda e: e["second"])
