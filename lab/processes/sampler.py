"""Sampling a process tree's CPU time and memory while it is measured (psutil)."""

from __future__ import annotations

import bisect
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import psutil

from lab.processes.spawn import ProcessError, stop

# Seconds between samples; CPU in a window is interpolated between them.
SAMPLE_INTERVAL_S = 0.1


@dataclass(frozen=True)
class Sample:
    at: float  # wall clock (time.time())
    cpu_s: float  # user + system CPU seconds of the whole tree so far
    system_s: float  # of which system (kernel) time
    rss: int  # bytes, whole tree
    fds: int  # open file descriptors of the tree: sockets and files (psutil's per-process socket
    # listing walks the whole /proc/net/tcp, far too slow with tens of thousands in TIME_WAIT)
    # Idle seconds so far of the CPUs the first root may run on, summed over them: with it, a CPU
    # kept full by the kernel's network work (in no process's time) or by a neighbour shows as full.
    idle_s: float


def _tree(root: psutil.Process) -> list[psutil.Process]:
    try:
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return [root]


def sample_tree(*roots: psutil.Process) -> Sample | None:
    """One reading of `roots` and their descendants (stage 4's --workers, locust's processes)."""
    cpu = 0.0
    system = 0.0
    rss = 0
    fds = 0
    alive = False
    idle = _idle_s(roots[0])
    for proc in [p for root in roots for p in _tree(root)]:
        try:
            with proc.oneshot():
                times = proc.cpu_times()
                cpu += times.user + times.system
                system += times.system
                rss += proc.memory_info().rss
                fds += proc.num_fds()
            alive = True
        except psutil.Error:
            continue
    return Sample(time.time(), cpu, system, rss, fds, idle) if alive else None


def _idle_s(root: psutil.Process) -> float:
    """Idle (and I/O-wait) seconds of the CPUs `root` may run on, or of every CPU once it is gone."""
    try:
        cpus = root.cpu_affinity() or []
    except (psutil.Error, AttributeError):  # gone, or a platform without affinity (macOS)
        cpus = []
    per_cpu = psutil.cpu_times(percpu=True)
    chosen = [per_cpu[cpu] for cpu in cpus if cpu < len(per_cpu)] or per_cpu
    return float(sum(times.idle + getattr(times, "iowait", 0.0) for times in chosen))


class Sampler:
    """Samples one or more process trees, as one, in a background thread until stopped."""

    def __init__(self, *pids: int) -> None:
        self._roots = [psutil.Process(pid) for pid in pids]
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"sampler-{pids[0]}")

    def start(self) -> Sampler:
        self._thread.start()
        return self

    def stop(self) -> list[Sample]:
        self._stop.set()
        self._thread.join()
        return self.samples

    def _run(self) -> None:
        while True:
            sample = sample_tree(*self._roots)
            if sample is not None:
                self.samples.append(sample)
            if self._stop.wait(SAMPLE_INTERVAL_S):
                return


def cpu_between(samples: list[Sample], begin: float, end: float, field: str = "cpu_s") -> float | None:
    """CPU seconds (`field`: cpu_s, system_s for kernel time, idle_s for its CPUs' idle time) between two
    wall-clock times, interpolated linearly between samples; None when the samples do not
    cover the window."""
    if len(samples) < 2 or samples[0].at > begin + SAMPLE_INTERVAL_S or samples[-1].at < end - SAMPLE_INTERVAL_S:
        return None
    return _cpu_at(samples, end, field) - _cpu_at(samples, begin, field)


def _cpu_at(samples: list[Sample], at: float, field: str) -> float:
    times = [s.at for s in samples]
    i = bisect.bisect_left(times, at)
    if i <= 0:
        return float(getattr(samples[0], field))
    if i >= len(samples):
        return float(getattr(samples[-1], field))
    before, after = getattr(samples[i - 1], field), getattr(samples[i], field)
    span = samples[i].at - samples[i - 1].at
    fraction = 0.0 if span <= 0 else (at - samples[i - 1].at) / span
    return float(before + fraction * (after - before))


def peak(samples: list[Sample], begin: float, end: float, field: str) -> int | None:
    values = [getattr(s, field) for s in samples if begin <= s.at <= end]
    return max(values) if values else None


def sample_until_exit(process: subprocess.Popen[bytes], deadline: float, on_poll: Callable[[], None],
                      poll_s: float, also_sample: Sequence[subprocess.Popen[bytes]] = ()) -> list[Sample]:
    """Sample a running child's CPU (with the processes `also_sample`, its helpers) until it exits,
    then stop it; ProcessError if it is still running at `deadline` (monotonic)."""
    sampler = Sampler(process.pid, *(p.pid for p in also_sample)).start()
    try:
        while process.poll() is None:
            if time.monotonic() > deadline:
                raise ProcessError("the load generator did not finish in time")
            on_poll()
            time.sleep(poll_s)
    finally:
        samples = sampler.stop()
        stop(process)
    return samples
