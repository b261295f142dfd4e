"""What a run measures: one of the staged servers, started by the lab, or a URL already serving."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass

from lab.ranges import parse_ranges
from servers import STAGES


@dataclass(frozen=True)
class Target:
    name: str  # "stage0" … "stage4", a peer's name, or "external"
    stage: int | None  # None for a peer or an external URL
    module: str | None  # python -m module, for servers the lab starts
    args: tuple[str, ...] = ()  # extra server flags (stage 4's switches, for instance)
    url: str | None = None  # an already running server the lab only loads
    command: tuple[str, ...] = ()  # a peer's command line; "{port}" is replaced by a free port

    @property
    def label(self) -> str:
        return " ".join((self.name, *self.args)) if self.args else self.name


def stage_target(number: int, args: tuple[str, ...] = ()) -> Target:
    return Target(f"stage{number}", number, STAGES[number].module, args)


# Stage 4 with one optimization turned off each: the difference to plain stage 4 is what it buys.
ABLATIONS = (("--parser", "core"), ("--no-keep-alive",), ("--no-pipelining",), ("--no-gzip",), ("--no-cache",))


def ablation_targets() -> list[Target]:
    return [stage_target(4, switch) for switch in ABLATIONS]


# Peers: what a user would run instead of stage 4, configured for speed (uvloop, httptools, no
# access log), one process, serving the same routes (lab/peers/asgi.py).
PEERS: dict[str, tuple[tuple[str, ...], str]] = {
    # The floor (lab/peers/minimal.py): one canned answer, no checks; the generator's calibration.
    "minimal": (("-m", "lab.peers.minimal", "--port", "{port}"), "it ships with the lab"),
    "uvicorn": (("-m", "uvicorn", "lab.peers.asgi:app", "--host", "127.0.0.1", "--port", "{port}",
                 "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning"),
                "pip install -e '.[peers]'  (or: pip install uvicorn)"),
    "granian": (("-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", "{port}",
                 "--workers", "1", "--loop", "uvloop", "--no-access-log", "--log-level", "warning",
                 "lab.peers.asgi:app"),
                "pip install -e '.[peers]'  (or: pip install granian)"),
}


# Stage 4 itself with its core compiled by mypyc (lab/compiled.py): built on first use.
COMPILED_PEER = "stage4-mypyc"


def peer_names() -> list[str]:
    return [*PEERS, COMPILED_PEER]


def peer_target(name: str) -> Target:
    """A peer by name; ValueError naming the known ones or what to install."""
    if name == COMPILED_PEER:
        from lab.peers.compiled import command

        return Target(name, None, None, command=command())
    if name not in PEERS:
        raise ValueError(f"unknown peer {name!r} (known: {', '.join(peer_names())})")
    argv, install = PEERS[name]
    if importlib.util.find_spec(argv[1]) is None:
        raise ValueError(f"peer {name} is not installed: {install}")
    return Target(name, None, None, command=(sys.executable, *argv))


# The target name of the runs that measure the load generator's ceiling, not a server.
CALIBRATION_TARGET = "calibration"


def calibration_target() -> Target:
    """The minimal server (lab/peers/minimal.py), run to measure the load generator's ceiling."""
    argv, _ = PEERS["minimal"]
    return Target(CALIBRATION_TARGET, None, None, command=(sys.executable, *argv))


def external_target(url: str) -> Target:
    return Target("external", None, None, (), url.rstrip("/"))


def parse_stages(text: str) -> list[int]:
    """'0,1,4' or '0-4' → [0, 1, 4] / [0, 1, 2, 3, 4]; ValueError names what is wrong."""
    known = {s.number for s in STAGES}
    numbers = parse_ranges(text, "stages")
    for number in numbers:
        if number not in known:
            raise ValueError(f"unknown stage {number} (stages are {min(known)}-{max(known)})")
    return numbers
