"""Facts about the machine and software that every run row records."""

from __future__ import annotations

import functools
import platform
import socket
import subprocess
from importlib import metadata

import psutil

import oscalls
from lab.model.machine import FACTS
from lab.model.record import Machine
from lab.paths import REPO


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git_commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out + ("-dirty" if dirty else "")


@functools.cache
def environment() -> Machine:
    versions = {fact.name: _version(fact.package) for fact in FACTS if fact.package}
    return Machine(
        cpu_model=oscalls.cpu_model(),
        cpu_count=psutil.cpu_count(logical=True) or 0,
        hostname=socket.gethostname(),
        platform=platform.platform(),
        python_version=platform.python_version(),
        git_commit=_git_commit(),
        **versions,
    )
