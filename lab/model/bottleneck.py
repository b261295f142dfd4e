"""What limited a run's rate: the server, the load generator, both, the scenario's users, or the
open loop's own schedule. A verdict or a speedup reads a run's QPS by it: only a saturated
server's QPS measures the server, and a run that saturated nothing measured its offered load.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Bottleneck(StrEnum):
    SERVER = "server"  # its CPU was full, or its own design (one connection, a thread pool) set the rate
    GENERATOR = "generator"  # the load generator's CPU was full and the server's not: its QPS is a floor
    BOTH = "both"  # both full: the server's capacity lies between QPS and QPS ÷ its busy share
    USERS = "users"  # a closed loop that filled neither side: users ÷ latency set the rate
    SCHEDULE = "schedule"  # an open loop served at the rate it asked, neither side full


# A process this busy on its CPUs (its CPU time over the window and its CPUs) has no room left.
SATURATED_BUSY = 0.90
# A CPU idle less than this had no room left, whoever used it: the kernel's loopback work (in no
# process's time) or a neighbour fill what the process's own busy share does not show.
SATURATED_IDLE = 0.10
# An open-loop run served at least this share of the rate it asked for held its schedule.
HELD_RATE_SHARE = 0.95


@dataclass(frozen=True)
class Side:
    """How full one side of a run was: its processes' busy share (the busiest single process's
    too: one locust process is single-threaded) and its CPUs' idle share."""

    busy: float | None
    idle: float | None = None
    busiest_process: float | None = None

    @property
    def saturated(self) -> bool:
        full = [b for b in (self.busy, self.busiest_process) if b is not None and b >= SATURATED_BUSY]
        return bool(full) or (self.idle is not None and self.idle < SATURATED_IDLE)


def bottleneck(server: Side, generator: Side, *, users: int, concurrency: int | None,
               asked_rate: float | None, qps: float) -> Bottleneck:
    """The limit of one run. `concurrency`: the requests the server serves at once by its design
    (its /stats), None where only connections bound it; `asked_rate`: an open loop's total rate."""
    if server.saturated and generator.saturated:
        return Bottleneck.BOTH
    if server.saturated:
        return Bottleneck.SERVER
    if generator.saturated:
        return Bottleneck.GENERATOR
    if asked_rate is not None and qps >= HELD_RATE_SHARE * asked_rate:
        return Bottleneck.SCHEDULE
    # Neither side full: whoever holds fewer requests at once held the rate.
    if concurrency is not None and concurrency < users:
        return Bottleneck.SERVER
    return Bottleneck.USERS


# Readings whose QPS is a floor for the server: its generator was saturated too.
FLOORS = (Bottleneck.GENERATOR, Bottleneck.BOTH)


def measures_server(limit: str | None) -> bool:
    """Whether a run's QPS is the server's capacity (or, for BOTH, within its bound)."""
    return limit in (Bottleneck.SERVER, Bottleneck.BOTH)


# Among tied readings of one target × scenario's runs, the one that proves least wins.
_CAUTION = (Bottleneck.GENERATOR, Bottleneck.USERS, Bottleneck.BOTH, Bottleneck.SCHEDULE, Bottleneck.SERVER)


def prevailing(limits: Iterable[object]) -> str | None:
    """What held most of a target × scenario's runs (a tie: the reading that proves least)."""
    counts = Counter(str(limit) for limit in limits if isinstance(limit, str))
    if not counts:
        return None
    most = max(counts.values())
    tied = [limit for limit, count in counts.items() if count == most]
    return min(tied, key=lambda limit: _CAUTION.index(Bottleneck(limit)) if limit in set(_CAUTION) else -1)
