"""The sampling profilers a profiled run attaches to a server: py-spy for a Python process (its
Python frames), `perf record` for a native one (node, go, rust-hyper). Which one is chosen from
the running process, since a target file's Python launcher may exec a native server.

py-spy reads the server without stopping it (--nonblocking), and so without --native (which
needs the stop): a C function's time counts to the Python function that called it. Stopped for
each sample, the server was stopped at its next system call far more often than its share of
the time there: in the tests' target, spin() (pure Python, 32.6 µs a request by its own clock)
came out at 22.3 µs with --native, and within 30% without it (tests/lab/run/test_profiled.py).
"""

from __future__ import annotations

import functools
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import psutil

from lab.processes.spawn import spawn, stop
from lab.profiling.stacks import Stacks, read_folded, read_perf_script

PY_SPY = "py-spy"
PERF = "perf"
# Samples per second: at 100, a 10-second window gives about 1,000 stacks, and py-spy keeps up
# (with --native it fell a second behind at 250 Hz on stage 4 here).
RATE_HZ = {PY_SPY: 100, PERF: 499}
# Seconds a profiler gets past its window to write its output (perf script names every frame).
WRITE_TIMEOUT_S = 60.0
INSTALL = {
    PY_SPY: "py-spy is installed with the lab (pip install py-spy)",
    PERF: "install perf (Debian: apt-get install linux-perf; Ubuntu: apt-get install linux-tools-generic; "
          "Fedora: dnf install perf)",
}
_PTRACE_SCOPE = Path("/proc/sys/kernel/yama/ptrace_scope")
_PERF_PARANOID = Path("/proc/sys/kernel/perf_event_paranoid")
_CAP_SYS_PTRACE = 19


class ProfilingFailed(Exception):
    """The profiler did not attach, or wrote nothing readable; the message says why."""


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _has_capability(bit: int) -> bool:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> bit & 1)
    except (OSError, ValueError):
        pass
    return False


def _executable(kind: str) -> str | None:
    """py-spy beside this interpreter first (the lab's venv may not be on PATH), then on PATH."""
    beside = Path(sys.executable).with_name(kind)
    return str(beside) if beside.is_file() else shutil.which(kind)


def missing(kind: str) -> str | None:
    """Why `kind` cannot profile a server the lab starts here, with what to change; None if it can."""
    executable = _executable(kind)
    if executable is None:
        return f"{kind} is not installed: {INSTALL[kind]}"
    system = platform.system()
    if kind == PY_SPY:
        if system == "Darwin" and os.geteuid() != 0:
            return "py-spy needs root on macOS to read another process: run the lab with sudo"
        if system == "Linux":
            scope = _read_int(_PTRACE_SCOPE)
            if scope == 3 or (scope in (1, 2) and os.geteuid() != 0):
                return (f"{_PTRACE_SCOPE} is {scope}: py-spy cannot attach to the server the lab started (run as "
                        "root, or `sysctl kernel.yama.ptrace_scope=0`)")
            if os.geteuid() == 0 and not _has_capability(_CAP_SYS_PTRACE):
                return ("this root has no CAP_SYS_PTRACE (a container started without it): py-spy cannot attach; "
                        "start the container with --cap-add SYS_PTRACE")
        return None
    if system != "Linux":
        return f"perf profiles native servers on Linux only; this is {system}"
    paranoid = _read_int(_PERF_PARANOID)
    if paranoid is not None and paranoid > 1 and os.geteuid() != 0:
        return (f"{_PERF_PARANOID} is {paranoid}: perf cannot sample the server's stacks (run as root, or "
                "`sysctl kernel.perf_event_paranoid=1`)")
    try:
        version(kind)
    except (OSError, subprocess.SubprocessError):
        return f"perf is installed but does not run (`perf --version` failed): {INSTALL[PERF]} for this kernel"
    return None


@functools.cache
def version(kind: str) -> str:
    """`py-spy --version` or `perf --version`, as printed: "py-spy 0.4.3"."""
    executable = _executable(kind) or kind
    return subprocess.run([executable, "--version"], capture_output=True, text=True, timeout=30,
                          check=True).stdout.strip()


def chosen(pid: int) -> str:
    """py-spy for a Python interpreter, perf for anything else (the process as it runs now)."""
    try:
        name = Path(psutil.Process(pid).exe()).name
    except (psutil.Error, OSError) as error:
        raise ProfilingFailed(f"cannot tell what the server runs: {error}") from error
    return PY_SPY if name.startswith(("python", "pypy")) else PERF


@dataclass(frozen=True)
class Recording:
    """A profiler recording one process for a number of seconds."""

    kind: str
    rate_hz: int
    process: subprocess.Popen[bytes]
    output: Path
    said: Path  # its standard error

    def stacks(self) -> Stacks:
        """Wait for the profiler to finish and read what it sampled."""
        try:
            self.process.wait(timeout=WRITE_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.stop()
            raise ProfilingFailed(f"{self.kind} did not finish within {WRITE_TIMEOUT_S:.0f} s of its window") from None
        said = " ".join(self.said.read_text(errors="replace").split())[-300:] if self.said.is_file() else ""
        if self.process.returncode != 0 or not self.output.is_file():
            raise ProfilingFailed(f"{self.kind} failed (exit {self.process.returncode}): {said}")
        if self.kind == PY_SPY:
            return read_folded(self.output.read_text())
        script = subprocess.run([_executable(PERF) or PERF, "script", "-i", str(self.output)], capture_output=True,
                                text=True, timeout=WRITE_TIMEOUT_S, check=False)
        if script.returncode != 0:
            raise ProfilingFailed(f"perf script failed: {' '.join(script.stderr.split())[-300:]}")
        return read_perf_script(script.stdout)

    def stop(self) -> None:
        """End a recording early (the run failed)."""
        stop(self.process, grace=0)


def record(pid: int, seconds: float, scratch: Path, cpus: frozenset[int], *, after: float = 0.0) -> Recording:
    """Sample `pid` (and its children) for `seconds`, beginning `after` seconds from now, the
    profiler on `cpus` (the load generator's: off the server's, whose CPU time per request the
    profile divides; none: any)."""
    kind = chosen(pid)
    reason = missing(kind)
    if reason is not None:
        raise ProfilingFailed(reason)
    executable = _executable(kind) or kind
    rate = RATE_HZ[kind]
    output = scratch / ("profile.folded" if kind == PY_SPY else "perf.data")
    if kind == PY_SPY:
        # --function: a Python frame is its function (its first line), not the line sampled.
        argv = [executable, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))),
                "--rate", str(rate), "--format", "raw", "--function", "--subprocesses", "--nonblocking",
                "--output", str(output)]
    else:
        argv = [executable, "record", "-F", str(rate), "-g", "--pid", str(pid), "-o", str(output), "--quiet",
                "--", "sleep", f"{seconds:.3f}"]
    said = scratch / f"{kind}.stderr"
    with said.open("wb") as errors:
        # Its own process group, killed if the lab dies: never a profiler left attached. Started
        # now, from this thread (the kernel kills it when the thread that started it ends), and
        # waiting in a shell for its window.
        delayed = ["sh", "-c", 'sleep "$0" && exec "$@"', f"{after:.3f}", *argv]
        process = spawn(delayed, cpus or None, stdout=subprocess.DEVNULL, stderr=errors)
    return Recording(kind, rate, process, output, said)
