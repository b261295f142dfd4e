"""A scenario: the load and the requests of one workload, as the lab and its drivers use it.

scenario_file.py reads them from scenarios/*.toml."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any

METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")
# The locust client a scenario asks for → the user class the locustfile runs for it: the lab's
# own HTTP/1.1 client on a socket (drivers/locust/raw.py, ~5x FastHttpUser's rate on one core),
# FastHttpUser (geventhttpclient) or HttpUser (requests).
USER_CLASSES = {"raw": "RawScenarioUser", "fast": "FastScenarioUser", "http": "HttpScenarioUser"}
DEFAULT_CLIENT = "raw"
# How open-loop requests are spaced: evenly (request k at t0 + k/rate) or as a Poisson process.
ARRIVALS = ("uniform", "poisson")
# Seconds one exchange may take before it is a failure (wrk's default is 2 s; servers here hold
# /delay answers up to 1 s, and a loaded stage 0 queues for longer).
DEFAULT_TIMEOUT_S = 10.0
CLIENTS = tuple(USER_CLASSES)
# Largest body a scenario may send; the servers refuse bodies over 1 MiB with 413.
MAX_BODY_SIZE = 1024 * 1024
# Deepest pipeline a scenario may ask for; TechEmpower's plaintext test uses 16.
MAX_PIPELINE = 256
# Slow clients a scenario may hold beside its load: one process's sockets, under the usual
# 65,536-descriptor hard limit with room for the rest.
MAX_SLOW_CLIENTS = 20_000
# What hostile clients do (lab/hostile/clients.py): trickle a head or a body, never read large
# answers, reset a connection mid-request or mid-response, open and drop connections in a storm;
# "mixed" divides them among all of these.
HOSTILE_KINDS = ("header", "body", "reader", "reset-request", "reset-response", "churn")
SLOW_KINDS = (*HOSTILE_KINDS, "mixed")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str, what: str = "duration") -> float:
    """'10s', '500ms', '2m', '1.5h' → seconds."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{what} must look like '10s', '500ms' or '2m', got {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


class WaitKind(StrEnum):
    """How one user paces its requests."""

    NONE = "none"  # the next as soon as the answer is in: a closed loop at full speed
    CONSTANT = "constant"  # a fixed pause after each answer
    BETWEEN = "between"  # a pause drawn between two bounds
    CONSTANT_RATE = "constant_rate"  # on a schedule, whatever the server does: an open loop


@dataclass(frozen=True)
class Wait:
    """Think time between one user's requests."""

    kind: WaitKind = WaitKind.NONE
    seconds: float = 0.0  # constant: the pause; between: the lower bound
    upper: float = 0.0  # between: the upper bound
    rate: float = 0.0  # constant_rate: requests per second per user (locust constant_throughput)


@dataclass(frozen=True)
class Load:
    users: int
    spawn_rate: float
    duration: float  # seconds measured
    warmup: float  # seconds run before measuring, excluded from every statistic
    wait: Wait = field(default_factory=Wait)
    client: str = DEFAULT_CLIENT
    # Local locust processes generating load, each pinned to a client CPU of its own (round
    # robin when there are more processes than CPUs); None: one per client CPU.
    processes: int | None = None
    pipeline: int = 1  # requests sent at once on a connection before reading answers (raw, wrk)
    timeout: float = DEFAULT_TIMEOUT_S  # seconds one exchange may take (raw client)
    arrivals: str = "uniform"  # open loop (raw client): uniform or poisson
    slow_clients: int = 0  # hostile connections held beside the load (lab/hostile/clients.py)
    slow_kind: str = "header"  # what they do: one of SLOW_KINDS
    slow_persist: bool = False  # slow clients the server closes come back (soaks: the pressure lasts)
    # Set by the command line, never by a scenario file: locust workers on other machines
    # (`lab worker`) that the run waits for, and the HOST:PORT their master listens on.
    expect_workers: int = 0
    master_bind: str = ""

    @property
    def open_loop(self) -> bool:
        """Requests on a schedule (a fixed rate), whatever the server does."""
        return self.wait.kind == WaitKind.CONSTANT_RATE

    @property
    def asked_rate(self) -> float | None:
        """An open loop's requests per second, all users together; None for a closed loop."""
        return self.wait.rate * self.users if self.open_loop else None

    def local_processes(self, client_cpus: int) -> int:
        """How many locust processes load from this machine with `client_cpus` CPUs to load from."""
        return client_cpus if self.processes is None else self.processes

    @property
    def distributed(self) -> bool:
        """A locust master and workers, rather than one standalone process (processes resolved)."""
        assert self.processes is not None, "resolve processes (local_processes) before running"
        return self.processes > 1 or self.expect_workers > 0


@dataclass(frozen=True)
class RequestSpec:
    name: str
    method: str
    path: str
    weight: int = 1
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    expect_status: int = 200


@dataclass(frozen=True)
class Scenario:
    id: str  # the file name without .toml
    description: str
    load: Load
    requests: tuple[RequestSpec, ...]
    default: bool  # part of `lab compare` when --scenarios is not given
    source: str  # the file's path
    content_hash: str  # sha256 of the file's bytes, recorded with every run
    # It measures connections kept open between requests: a target that closes each one after its
    # answer could hold none of them, and a comparison leaves it out there (saying so).
    keep_alive: bool = False

    def with_load(self, *, renamed: str | None = None, **changes: Any) -> Scenario:
        """This scenario with some of its load's fields changed (a None keeps the field's value:
        the command line's overrides are None when not given), and its id `renamed` if given."""
        load = replace(self.load, **{name: value for name, value in changes.items() if value is not None})
        return replace(self, id=renamed or self.id, load=load)

    def at_rate(self, total_rate: float) -> Scenario:
        """This scenario as an open loop: its users together ask for `total_rate` requests/s."""
        wait = Wait(WaitKind.CONSTANT_RATE, rate=total_rate / self.load.users)
        return replace(self, load=replace(self.load, wait=wait))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["requests"] = [{**r, "body": r["body"].decode("latin-1")} for r in data["requests"]]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scenario:
        load = dict(data["load"])
        load["wait"] = Wait(**{**load["wait"], "kind": WaitKind(load["wait"]["kind"])})
        requests = tuple(
            RequestSpec(**{**r, "headers": tuple(map(tuple, r["headers"])), "body": r["body"].encode("latin-1")})
            for r in data["requests"]
        )
        return cls(**{**data, "load": Load(**load), "requests": requests})
