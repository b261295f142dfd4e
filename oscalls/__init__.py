"""What the operating system offers that not every one does: the only place that asks.

Linux gives a child a death signal (prctl) and a process a CPU affinity (sched_setaffinity),
and names its CPU in /proc; macOS and the BSDs give none of these. Every caller goes through
these functions, so on those systems the servers and the lab run unpinned, and children rely
on their parent's explicit stops instead of a signal from the kernel. The lab says so once
(`lab.cli.options.pinning`), and a run records its pinning columns empty.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
from pathlib import Path

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def can_pin() -> bool:
    """Whether this OS lets a process choose its CPUs."""
    return hasattr(os, "sched_setaffinity") and hasattr(os, "sched_getaffinity")


def allowed_cpus() -> frozenset[int] | None:
    """The CPUs this process may run on, or None where the OS cannot say (no affinity)."""
    return frozenset(os.sched_getaffinity(0)) if can_pin() else None


def all_cpus() -> frozenset[int]:
    """The CPUs a process may use: the allowed ones, or every CPU where affinity is unknown."""
    return allowed_cpus() or frozenset(range(os.cpu_count() or 1))


def pin(cpus: frozenset[int]) -> None:
    """Run this process on `cpus`; nothing where the OS has no affinity (said once by the lab)."""
    if can_pin():
        os.sched_setaffinity(0, cpus)


def die_with_parent(signum: int) -> None:
    """Have the kernel send `signum` to this process when its parent dies (Linux only: elsewhere
    the parent's own stop, which every caller also does, is the only guard)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signum)


def cpu_model() -> str:
    """The CPU's marketing name (Linux's /proc/cpuinfo), else what the platform module knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
