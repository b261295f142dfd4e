"""One counted run: the target started under valgrind with counting off, warmed up, a fixed
number of its scenario's requests counted in instructions, the counts read, the server stopped.

A row of counted.parquet, never of runs.parquet: what a count measures (the server's user-space
instructions per request, one request in flight) is not what a timed run's CPU time measures,
and the two must not be averaged into one figure.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from lab.counting import valgrind
from lab.counting.callgrind import INSTRUCTIONS, SYSCALLS, Profile
from lab.counting.sequence import Exchanged, Sequence, SequenceFailed
from lab.counting.valgrind import CountingFailed
from lab.drivers.base import RunFailed
from lab.model import record
from lab.model.record import CountedPlanned, Counts, Ending
from lab.model.scenario import Scenario
from lab.model.target import LISTENING, Target
from lab.processes.spawn import ProcessError, ServerProcess
from lab.run.environment import environment
from lab.run.measure import Pinning, listed, place, wait_ready
from lab.store.results import CountedResult

# Requests counted per run: at ~50,000 instructions each (stage 4), 100 M instructions, about
# 1.5 s under callgrind here; the Date header's once-a-second work is then ~0.01% of the count.
COUNTED_REQUESTS = 2_000
# Requests sent with counting off first: Python's specializing interpreter settles within a few
# executions of each code path, caches fill, a pool reaches its working size.
WARMUP_REQUESTS = 500
# Seconds a server may take to start under valgrind (stage 4: ~5 s; a JIT runtime much more).
COUNTED_START_TIMEOUT_S = 120.0
# Seconds a counted server gets to exit after SIGTERM: under valgrind its exit is tens of times
# slower, and callgrind writes a last dump (3 s, a stage's promise natively, was too short on a
# loaded machine).
COUNTED_STOP_GRACE_S = 30.0
# Functions kept per counted run, by inclusive and by self instructions each: far enough down
# (tens of instructions per request) that a function leaving the list has not really moved.
FUNCTIONS_KEPT = 100


@dataclass(frozen=True)
class CountedLoad:
    """How many requests a counted run sends with counting off, then on."""

    requests: int = COUNTED_REQUESTS
    warmup: int = WARMUP_REQUESTS


def planned(target: Target, scenario: Scenario, pinning: Pinning, *, batch: str, repeat: int) -> CountedPlanned:
    return CountedPlanned(**asdict(place(target, scenario, batch=batch, repeat=repeat)),
                          pipeline=scenario.load.pipeline, server_cpus=listed(pinning.record()["server_cpus"]))


def count(target: Target, scenario: Scenario, pinning: Pinning, *, batch: str, repeat: int,
          load: CountedLoad = CountedLoad()) -> CountedResult:
    """Count one target under one scenario; a failure becomes the row's `error`, not an exception."""
    plan = planned(target, scenario, pinning, batch=batch, repeat=repeat)
    counts = Counts(warmup_requests=load.warmup)
    functions: list[dict[str, object]] = []
    error = exit_code = None
    try:
        if target.module is None and not target.command:
            raise RunFailed("a counted run needs a server the lab starts under valgrind, not a running URL")
        # The server stops before its dumps' folder goes: callgrind writes a last dump as it exits.
        with tempfile.TemporaryDirectory(prefix="qpslab-counted-") as scratch:
            dumps = Path(scratch)
            server = ServerProcess(target.module or "", target.args, pinning.server_cpus if pinning.pinned else None,
                                   target.command or None, env=target.env, cwd=target.cwd,
                                   announces=target.ready == LISTENING, wrap=valgrind.prefix(dumps),
                                   environment=valgrind.environment(os.environ))
            try:
                profile, counts = _window(server, target, scenario, load, dumps)
            finally:
                exit_code = server.stop(COUNTED_STOP_GRACE_S)
        functions = top_functions(profile, plan.run_id, counts.counted_requests or 0)
        if counts.counted_failures:
            raise RunFailed(f"{counts.counted_failures} of the counted requests failed: a count per answer "
                            "needs every request answered")
    except (RunFailed, ProcessError, CountingFailed, SequenceFailed, OSError) as raised:
        error = str(raised) or type(raised).__name__
    row = record.row(plan, environment(), counts, Ending(error, exit_code))
    return CountedResult(row, functions if error is None else [])


def _window(server: ServerProcess, target: Target, scenario: Scenario, load: CountedLoad,
            dumps: Path) -> tuple[Profile, Counts]:
    """Start, warm up with counting off, count `load.requests`, read the dump."""
    url = server.start(COUNTED_START_TIMEOUT_S)
    if target.ready != LISTENING:
        wait_ready(url, target.ready, server.alive, COUNTED_START_TIMEOUT_S)
    sequence = Sequence(scenario, url)
    try:
        warm = _exchanged(sequence, load.warmup, server)
        if warm.failures:
            raise RunFailed(f"{warm.failures} of {load.warmup} warm-up requests failed: {warm.top_error}")
        pids = _tree(server.pid)
        valgrind.control(pids, "--instr=on", "--zero")
        window = _exchanged(sequence, load.requests, server)
        valgrind.control(pids, "--dump")
    finally:
        sequence.close()
    if not server.alive():
        raise RunFailed(f"server died during the counted window: {server.output_tail()}")
    profile = valgrind.read_dumps(dumps, pids)
    answered = window.answered
    instructions = profile.total(INSTRUCTIONS)
    return profile, Counts(
        warmup_requests=load.warmup, counted_requests=answered, counted_failures=window.failures,
        counted_wall_s=window.seconds, server_instructions=instructions,
        server_instructions_per_request=instructions / answered if answered else None,
        server_syscalls_per_request=profile.total(SYSCALLS) / answered if answered else None,
        valgrind_version=valgrind.version())


def _exchanged(sequence: Sequence, requests: int, server: ServerProcess) -> Exchanged:
    """The sequence's next `requests`; a server that died under valgrind says so, with valgrind's
    own line where it printed one (an assertion of its own, not the server's bug)."""
    try:
        return sequence.run(requests)
    except SequenceFailed as failed:
        if server.alive():
            raise
        lines = server.output_tail(200).split(" | ")
        said = next((line for line in lines if "Assertion" in line or "valgrind:" in line), server.output_tail())
        raise RunFailed(f"the server died under valgrind: {said}") from failed


def _tree(pid: int) -> list[int]:
    """The server and its children (workers), each a callgrind process of its own."""
    try:
        parent = psutil.Process(pid)
        return [pid, *(child.pid for child in parent.children(recursive=True))]
    except psutil.NoSuchProcess:
        raise RunFailed("the server exited before its counted window") from None


def top_functions(profile: Profile, run_id: str, requests: int) -> list[dict[str, object]]:
    """functions.parquet's rows of one run: the FUNCTIONS_KEPT most inclusive and most self
    instructions, per request, ranked by inclusive."""
    if not requests:
        return []
    by_inclusive = sorted(profile.functions, key=lambda f: -f.inclusive.get(INSTRUCTIONS, 0))
    by_self = sorted(profile.functions, key=lambda f: -f.self.get(INSTRUCTIONS, 0))
    kept = {id(f): f for f in by_inclusive[:FUNCTIONS_KEPT] + by_self[:FUNCTIONS_KEPT]}
    ranked = sorted(kept.values(), key=lambda f: -f.inclusive.get(INSTRUCTIONS, 0))
    return [{"run_id": run_id, "rank": rank, "object": f.object, "function": f.function,
             "self_instructions_per_request": f.self.get(INSTRUCTIONS, 0) / requests,
             "inclusive_instructions_per_request": f.inclusive.get(INSTRUCTIONS, 0) / requests}
            for rank, f in enumerate(ranked, 1)]
