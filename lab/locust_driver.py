"""locust as the load generator: headless, in its own pinned processes, one generic locustfile.

Why a subprocess and not locust's library API: locust monkey-patches its process with gevent,
which would change how the lab's own threads, subprocesses and signals behave; a child can be
pinned to its CPUs, killed as a group, and cannot take the lab down with it.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any

from . import hdr
from .load import LiveCallback, LoadResult, RunFailed, wait_sampled
from .process import spawn
from .scenario import Scenario

NAME = "locust"
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
# Seconds locust may take beyond warm-up + duration (start-up, spawning, writing results).
SLACK_S = 30.0
# Seconds locust keeps loading after the measured window closes, so that the window ends under
# full load and the CPU samples reach past it.
RUN_TAIL_S = 0.5
# How often the live progress is refreshed while locust runs.
LIVE_POLL_S = 0.5


def command(scenario: Scenario, url: str) -> list[str]:
    load = scenario.load
    argv = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", url,
        "--users", str(load.users), "--spawn-rate", str(load.spawn_rate),
        "--run-time", f"{math.ceil(load.warmup + load.duration + RUN_TAIL_S)}s",
        "--stop-timeout", "0", "--only-summary", "--loglevel", "WARNING", "--skip-log-setup",
    ]
    if load.processes > 1:
        argv += ["--processes", str(load.processes)]
    return argv


def _live_text(directory: Path) -> str:
    """The last full second's request rate, summed over locust's processes."""
    total = 0
    for path in directory.glob("*.live"):
        try:
            total += json.loads(path.read_text())["requests"]
        except (OSError, ValueError, KeyError):
            continue
    return f"{total:,} req/s" if total else "warming up"


def run(scenario: Scenario, url: str, cpus: frozenset[int], scratch: Path, on_live: LiveCallback) -> LoadResult:
    """Run locust to completion and merge what each of its processes tallied."""
    if scenario.load.pipeline > 1:
        raise RunFailed("locust cannot pipeline requests; run this scenario with --driver wrk")
    (scratch / "scenario.json").write_text(json.dumps(scenario.to_dict()))
    env = {**os.environ, "QPSLAB_SCENARIO": str(scratch / "scenario.json"), "QPSLAB_OUT": str(scratch),
           "PYTHONPATH": os.pathsep.join([str(LOCUSTFILE.parent.parent), os.environ.get("PYTHONPATH", "")])}
    log_path = scratch / "locust.log"
    with log_path.open("wb") as log:
        process = spawn(command(scenario, url), cpus, stdout=log, stderr=log, env=env)
        deadline = time.monotonic() + scenario.load.warmup + scenario.load.duration + SLACK_S
        samples = wait_sampled(process, deadline, lambda: on_live(_live_text(scratch)), LIVE_POLL_S)
    tallies = [json.loads(p.read_text()) for p in sorted(scratch.glob("*.json")) if p.name != "scenario.json"]
    # locust's master process (with --processes) starts a test but sends nothing: leave it out.
    tallies = [t for t in tallies if t["seconds"]]
    if not tallies:
        tail = log_path.read_text(errors="replace").strip()[-500:]
        raise RunFailed(f"locust recorded no request (exit {process.returncode}): {tail}")
    return merge(tallies, scenario, samples)


def merge(tallies: list[dict[str, Any]], scenario: Scenario, samples: list[Any]) -> LoadResult:
    histogram = hdr.merge(t["histogram"] for t in tallies)
    corrected = [t["corrected"] for t in tallies if t.get("corrected")]
    errors: dict[str, int] = {}
    for t in tallies:
        for message, count in t["errors"].items():
            errors[message] = errors.get(message, 0) + count
    return LoadResult(
        requests=sum(t["requests"] for t in tallies),
        failures=sum(t["failures"] for t in tallies),
        response_bytes=sum(t["response_bytes"] for t in tallies),
        errors=errors,
        window_start=min(t["window_start"] for t in tallies),
        window_end=max(t["window_end"] for t in tallies),
        latency={**hdr.summarize(histogram),
                 **hdr.summarize_corrected(hdr.merge(corrected) if corrected else None)},
        generator_samples=samples,
        processes=len(tallies),
        histogram=hdr.encode(histogram),
        seconds=_merge_seconds(tallies, scenario),
    )


def _merge_seconds(tallies: list[dict[str, Any]], scenario: Scenario) -> list[dict[str, Any]]:
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
    warmup = scenario.load.warmup
    measured_end = warmup + scenario.load.duration
    for entry in seconds.values():
        second = entry["second"]
        entry["phase"] = "warmup" if second < warmup else "measure" if second < measured_end else "after"
    return sorted(seconds.values(), key=lambda e: e["second"])
