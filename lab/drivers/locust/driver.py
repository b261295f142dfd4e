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
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from lab.drivers.base import Driver, LiveCallback, LoadResult, RunFailed
from lab.drivers.locust.tally import TALLY, Tally, merge, worker_tally
from lab.model.scenario import USER_CLASSES, Load, Scenario
from lab.paths import REPO
from lab.processes.sampler import sample_until_exit
from lab.processes.spawn import free_port, spawn, stop

NAME = "locust"
LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
# Seconds locust may take beyond warm-up + duration (start-up, spawning, writing results).
SLACK_S = 30.0
# Seconds locust keeps loading after the measured window closes, so that the window ends under
# full load and the CPU samples reach past it.
RUN_TAIL_S = 0.5
# How often the live progress is refreshed while locust runs.
LIVE_POLL_S = 0.5
# Seconds a master waits for its workers to connect: local ones need a second or two to import
# locust; remote ones are started by a person (`lab worker --master HOST:PORT`).
LOCAL_WORKER_WAIT_S = 30.0
REMOTE_WORKER_WAIT_S = 300.0
# A `lab worker` whose locust fails sooner than this has a real problem (bad arguments, no
# locustfile); one that fails later has given up waiting for a master, and is started again.
WORKER_FAILED_FAST_S = 10.0


def _locust() -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--skip-log-setup", "--loglevel", "WARNING"]


def resolved(scenario: Scenario, cpus: frozenset[int]) -> tuple[Scenario, int]:
    """The scenario with its count of local locust processes decided (by default one per client
    CPU), and that count."""
    local = scenario.load.local_processes(len(cpus))
    return scenario.with_load(processes=local), local


def commands(scenario: Scenario, url: str, master_port: int, cpus: frozenset[int]) -> list[tuple[list[str],
                                                                                               frozenset[int]]]:
    """The locust processes of one run and the CPUs each is pinned to: standalone on the client
    CPUs, or a master there (it sends no request) and each local worker on a CPU of its own (in
    turn, when there are more workers than CPUs), as wrk runs a thread per core."""
    scenario, local = resolved(scenario, cpus)
    load = scenario.load
    argv = [
        *_locust(), USER_CLASSES[load.client], "--headless", "--host", url,
        "--users", str(load.users), "--spawn-rate", str(load.spawn_rate),
        "--run-time", f"{math.ceil(load.warmup + load.duration + RUN_TAIL_S)}s",
        "--stop-timeout", "0", "--only-summary",
    ]
    if not load.distributed:
        return [(argv, cpus)]
    bind_host = load.master_bind.rpartition(":")[0] if load.expect_workers else "127.0.0.1"
    argv += ["--master", "--expect-workers", str(local + load.expect_workers),
             "--expect-workers-max-wait", str(int(_worker_wait(load))),
             "--master-bind-host", bind_host, "--master-bind-port", str(master_port)]
    order = sorted(cpus)
    return [(argv, cpus), *((worker_command("127.0.0.1", master_port, 1), frozenset({order[i % len(order)]}))
                            for i in range(local))]


def worker_command(master_host: str, master_port: int, processes: int) -> list[str]:
    argv = [*_locust(), "--worker", "--master-host", master_host, "--master-port", str(master_port)]
    return argv + (["--processes", str(processes)] if processes > 1 else [])


def _environment(scratch: Path) -> dict[str, str]:
    """What the locustfile reads: where to write, and the lab importable from locust's process."""
    return {**os.environ, "QPSLAB_OUT": str(scratch),
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}


def _worker_wait(load: Load) -> float:
    """Seconds the master waits for its workers: local ones start in seconds, remote ones are
    started by hand."""
    return REMOTE_WORKER_WAIT_S if load.expect_workers else LOCAL_WORKER_WAIT_S


def _live_text(directory: Path) -> str:
    """The last full second's request rate, summed over locust's local processes."""
    total = 0
    for path in directory.glob("*.live"):
        try:
            total += json.loads(path.read_text())["requests"]
        except (OSError, ValueError, KeyError):
            continue
    return f"{total:,} req/s" if total else "warming up"


def refusal(scenario: Scenario) -> str | None:
    """Only the lab's own client writes several requests at once or keeps a schedule."""
    load = scenario.load
    if load.client == "raw":
        return None
    if load.pipeline > 1:
        return f"pipeline > 1 needs client = \"raw\" (locust's {load.client} client cannot pipeline; or --driver wrk)"
    if load.arrivals != "uniform":
        return f"arrivals = \"{load.arrivals}\" needs client = \"raw\" (locust's {load.client} keeps no schedule)"
    return None


def run(scenario: Scenario, url: str, cpus: frozenset[int], scratch: Path, on_live: LiveCallback) -> LoadResult:
    """Run locust to completion and merge what each of its load processes tallied."""
    scenario, local = resolved(scenario, cpus)
    load = scenario.load
    refused = refusal(scenario)
    if refused is not None:
        raise RunFailed(refused)
    (scratch / "scenario.json").write_text(json.dumps(scenario.to_dict()))
    env = {**_environment(scratch), "QPSLAB_SCENARIO": str(scratch / "scenario.json")}
    port = int(load.master_bind.rpartition(":")[2]) if load.expect_workers else free_port()
    log_path = scratch / "locust.log"
    deadline = time.monotonic() + load.warmup + load.duration + SLACK_S
    if load.distributed:
        deadline += _worker_wait(load)
    with log_path.open("wb") as log:
        processes = [spawn(argv, pinned, stdout=log, stderr=log, env=env)
                     for argv, pinned in commands(scenario, url, port, cpus)]
        try:
            samples = sample_until_exit(processes[0], deadline, lambda: on_live(_live_text(scratch)), LIVE_POLL_S,
                                   also_sample=processes[1:])
        finally:
            for process in processes[1:]:
                stop(process)
    names = [worker_tally(i) for i in range(local + load.expect_workers)] if load.distributed else [TALLY]
    tallies = [Tally.read(scratch / name) for name in names if (scratch / name).is_file()]
    tail = log_path.read_text(errors="replace").strip()[-500:]
    if not tallies:
        raise RunFailed(f"locust recorded no request (exit {processes[0].returncode}): {tail}")
    expected = local + load.expect_workers if load.distributed else 1
    if len(tallies) != expected:
        raise RunFailed(f"{len(tallies)} of {expected} locust workers reported a tally: {tail}")
    check_client(tallies, load.client)
    return merge(tallies, scenario, samples)


def check_client(tallies: list[Tally], client: str) -> None:
    """RunFailed unless every locust process ran the user class of the scenario's client: a
    run of another client must not be reported under this one's name."""
    wanted = USER_CLASSES[client]
    ran = {name for t in tallies for name in t.user_classes}
    if ran != {wanted}:
        raise RunFailed(f"the scenario asked for client {client!r} ({wanted}) but locust ran "
                        f"{', '.join(sorted(ran)) or 'no user class'}")


def serve_worker(master_host: str, master_port: int, processes: int, cpus: frozenset[int],
                 say: Callable[[str], object]) -> int:
    """`lab worker`: join a master's runs, one locust worker group per run (the master ends each
    by telling its workers to quit), until interrupted or a worker fails."""
    runs = 0
    with tempfile.TemporaryDirectory(prefix="qpslab-worker-") as scratch:
        env = _environment(Path(scratch))
        while True:
            say(f"waiting for a run from the master at {master_host}:{master_port} ({runs} done)")
            started = time.monotonic()
            process = spawn(worker_command(master_host, master_port, processes), cpus, env=env)
            try:
                code = process.wait()
            finally:
                stop(process)
            if code == 0:
                runs += 1
            elif time.monotonic() - started < WORKER_FAILED_FAST_S:
                say(f"locust worker exited with code {code}")
                return code
            # else: locust gives up on an absent master after 5 minutes; keep waiting for one.


DRIVER = Driver(NAME, lambda: None, refusal, run)
