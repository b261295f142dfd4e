"""What a run measures: one of the staged servers, a server described by a target file
(lab/files/target_file.py), both started by the lab, or a URL already serving."""

from __future__ import annotations

from dataclasses import dataclass

from lab.model.ranges import parse_ranges
from lab.model.scenario import Scenario, WaitKind
from servers import STAGES

# A target's `ready`: it prints `listening on URL` (as the stages do) instead of being polled.
LISTENING = "listening"


@dataclass(frozen=True)
class Target:
    name: str  # "stage0" … "stage4", a target file's name, or "external"
    stage: int | None  # None for a target file or an external URL
    module: str | None  # python -m module, for the stages
    args: tuple[str, ...] = ()  # extra server flags (stage 4's switches, for instance)
    url: str | None = None  # an already running server the lab only loads
    command: tuple[str, ...] = ()  # a target file's argv; "{port}" is replaced by a free port
    env: tuple[tuple[str, str], ...] = ()  # added to the lab's environment; "{port}" replaced too
    cwd: str | None = None  # where the command runs (None: where the lab runs)
    ready: str = "/health"  # a path polled until it answers, or "listening": the `listening on URL` line
    version: tuple[str, ...] = ()  # argv printing the server's runtime and library versions (target files)
    # It answers every request with `Connection: close`: the load generator's ceiling here is
    # the one with a new connection per request (the calibration server's --close).
    closes: bool = False

    @property
    def label(self) -> str:
        return " ".join((self.name, *self.args)) if self.args else self.name


def reference_closes(target: Target, scenario: Scenario) -> bool:
    """Whether a target's rows under a scenario are read against the closing calibration run: a
    closed loop's ceiling depends on whether each request opens a connection; an open loop's
    latency floor is the keep-alive one for every target (the same schedule, the same floor); a
    pipelined scenario is refused to closing targets at verification."""
    return target.closes and scenario.load.wait.kind == WaitKind.NONE and scenario.load.pipeline == 1


def runs_on(target: Target, scenario: Scenario) -> bool:
    """Whether a comparison runs `scenario` on `target`: not a keep-alive scenario on a target
    that closes every connection, which would measure nothing the scenario is for."""
    return not (scenario.keep_alive and target.closes)


def stage_target(number: int, args: tuple[str, ...] = ()) -> Target:
    closes = not STAGES[number].keeps_alive or NO_KEEP_ALIVE in args
    return Target(f"stage{number}", number, STAGES[number].module, args, closes=closes)


NO_KEEP_ALIVE = "--no-keep-alive"
# Stage 4 with one optimization turned off each: the difference to plain stage 4 is what it buys.
ABLATIONS = (("--parser", "core"), (NO_KEEP_ALIVE,), ("--no-pipelining",), ("--no-gzip",), ("--no-cache",))


def ablation_targets() -> list[Target]:
    return [stage_target(4, switch) for switch in ABLATIONS]


# The target name of the runs that measure the load generator's ceiling, not a server.
CALIBRATION_TARGET = "calibration"
# The target file (targets/NAME.toml) of the server those runs load: one canned answer, no checks.
CALIBRATION_SERVER = "minimal"
# Its switch for one answer per connection: the ceiling that closing targets are read against.
CLOSE_SWITCH = "--close"


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
