"""Valgrind's callgrind as the lab's instruction counter: how a server is started under it, how
its counting is switched on and off from outside, and what it counted.

The server runs under `valgrind --tool=callgrind --instr-atstart=no`: counting is off while it
starts and warms up; `callgrind_control` (through valgrind's gdbserver, vgdb) zeroes the counters,
turns counting on for the window and dumps it. The dump's `Ir` is the user-space instructions the
server executed (its kernel work is not counted: `sysCount`, from --collect-systime, is how many
system calls it made). valgrind runs the program on a synthetic CPU, one thread at a time, so a
count does not move with the machine's speed or load, and depends on the software only.
"""

from __future__ import annotations

import functools
import os
import platform
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

from lab.counting.callgrind import FunctionCost, Profile, parse

INSTALL = "install valgrind (Debian/Ubuntu: apt-get install valgrind; Fedora: dnf install valgrind)"
# Seconds a callgrind_control command may take: vgdb wakes a server blocked in a system call.
CONTROL_TIMEOUT_S = 30.0
# Added to a counted server's environment: Python's string hashes fixed, so that dict and set
# layouts, and so the work of every lookup, are the same in every run; Go's preemption by signal
# off, on which callgrind asserts (threads.c:247, vgCallgrind_post_signal) and the Go peer died.
DETERMINISTIC_ENV = {"PYTHONHASHSEED": "0", "GODEBUG": "asyncpreemptoff=1"}
# What a counted server keeps of the lab's environment; nothing else (not `_`, PWD, the terminal's
# variables). Its layout in memory follows from what it starts with, and CPython's type-attribute
# cache is indexed by objects' addresses: stage 4 counted 49,420 instructions per request started
# from `lab compare` and 48,944 from a script, in the same second, until this was fixed.
KEPT_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


def environment(source: Mapping[str, str]) -> dict[str, str]:
    """A counted server's environment, before its target's own `env`: the same wherever the lab
    was started from, on one machine."""
    return {name: source[name] for name in KEPT_ENV if name in source} | DETERMINISTIC_ENV
# vgdb attaches with ptrace to wake a server waiting in epoll; Yama's scope 3 forbids that to all.
_PTRACE_SCOPE = Path("/proc/sys/kernel/yama/ptrace_scope")


class CountingFailed(Exception):
    """valgrind or callgrind_control did not do what a counted run needs; the message says why."""


def missing() -> str | None:
    """Why instructions cannot be counted on this machine, with what to change; None if they can."""
    system, machine = platform.system(), platform.machine()
    if system == "Darwin" and machine in ("arm64", "aarch64"):
        return "valgrind does not run on macOS on Apple silicon: count instructions on a Linux machine"
    if system != "Linux":
        return f"counted runs need valgrind on Linux; this is {system}"
    for tool in ("valgrind", "callgrind_control"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed: {INSTALL}"
    scope = _ptrace_scope()
    if scope == 3 or (scope == 2 and os.geteuid() != 0):
        return (f"{_PTRACE_SCOPE} is {scope}: callgrind_control cannot attach to a server to switch counting "
                f"(run as root, or `sysctl kernel.yama.ptrace_scope=1`)")
    return None


def _ptrace_scope() -> int | None:
    try:
        return int(_PTRACE_SCOPE.read_text())
    except (OSError, ValueError):
        return None


@functools.cache
def version() -> str:
    """What `valgrind --version` prints: valgrind-3.19.0."""
    return subprocess.run(["valgrind", "--version"], capture_output=True, text=True, timeout=CONTROL_TIMEOUT_S,
                          check=True).stdout.strip()


def prefix(dumps: Path) -> list[str]:
    """The argv a server's own argv follows to run counted, counting off, dumps into `dumps`."""
    return ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--collect-systime=yes",
            "--trace-children=yes", "--vgdb=yes", "--quiet",  # children: a server's workers are counted too
            f"--callgrind-out-file={dumps}/callgrind.out.%p"]


def control(pids: Iterable[int], *commands: str) -> None:
    """Run callgrind_control's `commands` (e.g. "--zero", "--instr=on", "--dump") on each pid."""
    for pid in pids:
        for command in commands:
            try:
                done = subprocess.run(["callgrind_control", command, str(pid)], capture_output=True, text=True,
                                      timeout=CONTROL_TIMEOUT_S, check=False)
            except subprocess.TimeoutExpired:
                raise CountingFailed(f"callgrind_control {command} {pid} did not answer within "
                                     f"{CONTROL_TIMEOUT_S:.0f} s") from None
            if done.returncode != 0 or "OK" not in done.stdout:
                said = " ".join((done.stdout + done.stderr).split())
                raise CountingFailed(f"callgrind_control {command} {pid} failed: {said}")


def read_dumps(dumps: Path, pids: Iterable[int]) -> Profile:
    """Every pid's newest dump in `dumps`, added together (a server and its workers)."""
    profiles = []
    for pid in pids:
        numbered = sorted(dumps.glob(f"callgrind.out.{pid}.*"), key=lambda path: int(path.suffix[1:]))
        if not numbered:
            raise CountingFailed(f"callgrind wrote no dump for process {pid} in {dumps}")
        profiles.append(parse(numbered[-1].read_text(errors="replace")))
    return merged(profiles)


def merged(profiles: list[Profile]) -> Profile:
    """Several processes' profiles as one: totals and each function's costs added."""
    events = profiles[0].events
    totals: dict[str, int] = {}
    costs: dict[tuple[str, str], tuple[dict[str, int], dict[str, int]]] = {}
    for profile in profiles:
        for event, value in profile.totals.items():
            totals[event] = totals.get(event, 0) + value
        for function in profile.functions:
            own, inclusive = costs.setdefault((function.object, function.function), ({}, {}))
            for into, add in ((own, function.self), (inclusive, function.inclusive)):
                for event, value in add.items():
                    into[event] = into.get(event, 0) + value
    return Profile(events, totals, [FunctionCost(obj, name, own, inclusive)
                                    for (obj, name), (own, inclusive) in costs.items()])
