"""What every raw user of one run sends and how it paces itself, made once from the scenario
before the engine (raw.py) starts: each request encoded once, the server's address resolved once."""

from __future__ import annotations

import random
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from lab.drivers.locust.http1 import encode_request
from lab.model.scenario import Scenario, WaitKind


@dataclass(frozen=True, eq=False)
class PreparedRequest:
    slot: int  # its place among the plan's distinct requests: where its successes are gathered
    name: str
    method: str
    data: bytes
    head_only: bool
    expect_status: int


@dataclass(frozen=True)
class RawPlan:
    """What every raw user of one run does, made once from the scenario."""

    family: int  # the server's address, resolved once: a per-connection getaddrinfo goes through
    address: tuple[Any, ...]  # gevent's thread pool, which cost 100 ms tails to closing servers
    distinct: tuple[PreparedRequest, ...]  # one per scenario request, by slot
    requests: tuple[PreparedRequest, ...]  # repeated by weight: a uniform pick is a weighted one
    pipeline: int
    timeout: float
    wait_kind: WaitKind
    wait_low: float
    wait_high: float
    rate: float  # constant_rate: requests per second of one user
    poisson: bool
    fixed: tuple[PreparedRequest, ...] | None  # every batch, when the scenario has one request

    def batch(self) -> tuple[PreparedRequest, ...] | list[PreparedRequest]:
        """The requests to write at once: `pipeline` of them, picked by weight."""
        return self.fixed or [random.choice(self.requests) for _ in range(self.pipeline)]

    @classmethod
    def of(cls, scenario: Scenario, url: str) -> RawPlan:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"the raw client speaks plain http://, not {url!r}")
        port = parts.port or 80
        host = parts.netloc
        family, _, _, _, address = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)[0]
        distinct = tuple(
            PreparedRequest(slot, spec.name, spec.method,
                            encode_request(spec.method, spec.path, host, spec.headers, spec.body),
                            spec.method == "HEAD", spec.expect_status)
            for slot, spec in enumerate(scenario.requests)
        )
        weighted = tuple(request for request, spec in zip(distinct, scenario.requests, strict=True)
                         for _ in range(spec.weight))
        load = scenario.load
        wait = load.wait
        fixed = distinct * load.pipeline if len(distinct) == 1 else None
        return cls(family, address, distinct, weighted, load.pipeline, load.timeout, wait.kind, wait.seconds,
                   wait.upper, wait.rate, load.arrivals == "poisson", fixed)
