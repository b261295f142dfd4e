"""`client = "raw"`: a locust user that speaks HTTP/1.1 on a plain gevent socket.

locust's own clients spend most of a request in their HTTP libraries: on one core FastHttpUser
makes ~11k requests/s, which is below what stage 4 serves, so the lab would measure locust. This
user keeps locust (runner, spawning, stats, distributed workers: it fires locust's request event
like any client) and replaces only the client: requests encoded once per scenario, one
`sendall` per request (or per pipeline), `recv` into a buffer, responses framed by
drivers/locust/http1.py. Time is taken with perf_counter around the exchange, connect included
when a new connection is needed.

Pacing: no wait, think time (constant, between), or an open loop (`constant_rate`), where the
user keeps its own schedule, request k due at t0 + k/rate (or at Poisson arrivals), sent at
max(now, due). A request sent late because the connection was still busy with earlier answers
has its latency counted from when it was due, as wrk2 does (coordinated omission); one sent on
time, from when it left (gevent's timers wake up to a millisecond late: the generator's error,
not the server's). The service time (from the actual send) is what locust's stats get.
"""

from __future__ import annotations

import random
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

import gevent
from locust import User, task

from lab.drivers.locust.http1 import Response, ResponseError, ResponseReader, encode_request
from lab.model.scenario import Scenario

# Bytes asked of the socket per read: a 16-deep pipeline of small answers in one read.
RECV_BYTES = 64 * 1024
# Seconds a user pauses after it could not connect, so that a server that is down is not hit
# by a tight loop of refused connections (each still counts as a failure).
CONNECT_RETRY_PAUSE_S = 0.01
# How often the watchdog looks for exchanges past their timeout; a late one fails this much
# after its time at most. One watchdog instead of a timer per socket operation (gevent's
# socket timeouts arm and cancel a timer on every send and recv: a tenth of a request's cost).
WATCHDOG_INTERVAL_S = 0.1
# The context of a request event: none (a shared empty dict, not a new one per request).
_NO_CONTEXT: dict[str, Any] = {}


class UnexpectedStatus(Exception):
    """A well-formed response with another status than the scenario's expect_status."""


class ExchangeTimeout(Exception):
    """No complete response within the scenario's timeout."""


@dataclass(frozen=True)
class PreparedRequest:
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
    requests: tuple[PreparedRequest, ...]  # repeated by weight: a uniform pick is a weighted one
    pipeline: int
    timeout: float
    wait_kind: str
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
        prepared = tuple(
            PreparedRequest(spec.name, spec.method, encode_request(spec.method, spec.path, host, spec.headers,
                                                                   spec.body),
                            spec.method == "HEAD", spec.expect_status)
            for spec in scenario.requests for _ in range(spec.weight)
        )
        load = scenario.load
        wait = load.wait
        fixed = prepared[:1] * load.pipeline if len(set(prepared)) == 1 else None
        return cls(family, address, prepared, load.pipeline, load.timeout, wait.kind, wait.seconds,
                   wait.upper, wait.rate, load.arrivals == "poisson", fixed)


class _Watchdog:
    """Ends the exchanges that overran their timeout by closing their socket, which wakes the
    user's pending recv or send with an error."""

    def __init__(self) -> None:
        self.users: set[RawScenarioUser] = set()
        self._greenlet: gevent.Greenlet | None = None

    def watch(self, user: RawScenarioUser) -> None:
        self.users.add(user)
        if self._greenlet is None:
            self._greenlet = gevent.spawn(self._run)

    def forget(self, user: RawScenarioUser) -> None:
        self.users.discard(user)

    def _run(self) -> None:
        while True:
            gevent.sleep(WATCHDOG_INTERVAL_S)
            now = time.perf_counter()
            for user in list(self.users):
                user.expire_if_late(now)


_WATCHDOG = _Watchdog()


class RawScenarioUser(User):
    """One connection (reopened when the server closes it), the scenario's requests on it."""

    plan: ClassVar[RawPlan | None] = None  # set by the locustfile before users start

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self._sock: socket.socket | None = None
        self._reader = ResponseReader()
        self._fire = environment.events.request.fire
        self._deadline = 0.0  # perf_counter time the exchange under way must end by; 0: none
        self._late = False  # the watchdog closed the socket of an exchange past its deadline

    def expire_if_late(self, now: float) -> None:
        if self._deadline and now > self._deadline and self._sock is not None:
            self._late = True
            self._drop()

    @task
    def load(self) -> None:
        plan = self.plan
        assert plan is not None, "the locustfile sets RawScenarioUser.plan before the run"
        _WATCHDOG.watch(self)
        try:
            if plan.wait_kind == "constant_rate":
                self._open_loop(plan)
            else:
                self._closed_loop(plan)
        finally:
            _WATCHDOG.forget(self)
            self._drop()

    def _closed_loop(self, plan: RawPlan) -> None:
        kind = plan.wait_kind
        while True:
            self._exchange(plan, plan.batch(), None)
            if kind == "constant":
                gevent.sleep(plan.wait_low)
            elif kind == "between":
                gevent.sleep(random.uniform(plan.wait_low, plan.wait_high))

    def _open_loop(self, plan: RawPlan) -> None:
        interval = 1.0 / plan.rate
        # A random phase: users started together would otherwise fire together, every interval.
        due = time.perf_counter() + random.uniform(0.0, interval)
        while True:
            wait = due - time.perf_counter()
            if wait > 0:
                gevent.sleep(wait)
                # On time: the request's latency starts when it leaves. A timer wakes up to a
                # millisecond late, and that lateness is this generator's, not the server's.
                origin = time.perf_counter()
            else:
                origin = due  # behind: the time since it was due went to the server's earlier answers
            self._exchange(plan, plan.batch(), origin)
            due += random.expovariate(plan.rate) if plan.poisson else interval

    def _exchange(self, plan: RawPlan, batch: Sequence[PreparedRequest], origin: float | None) -> None:
        """Send `batch` in one write, read its responses, fire one request event per request.
        `origin`: in an open loop, the time each request's scheduled latency counts from."""
        start = time.perf_counter()
        self._deadline = start + plan.timeout
        done: list[tuple[Response, float]] = []
        try:
            sock = self._sock if self._sock is not None else self._connect(plan)
            reader = self._reader
            for request in batch:
                reader.sent(request.head_only)
            data = batch[0].data if len(batch) == 1 else b"".join(r.data for r in batch)
            sent = sock.send(data)
            if sent < len(data):
                sock.sendall(data[sent:])
            while len(done) < len(batch):
                received = sock.recv(RECV_BYTES)
                now = time.perf_counter()
                responses = reader.feed(received) if received else reader.eof()
                done += [(response, now) for response in responses]
                if len(done) < len(batch) and (not received or (done and done[-1][0].close)):
                    raise ResponseError(f"the server closed the connection with {len(batch) - len(done)} "
                                        f"of {len(batch)} requests unanswered")
            self._deadline = 0.0
            if done[-1][0].close:
                self._drop()
        except (OSError, ResponseError) as error:
            failed_at = time.perf_counter()
            self._deadline = 0.0
            self._drop()
            self._report(batch, done, start, origin)
            failure: Exception = error
            if self._late or isinstance(error, TimeoutError):
                self._late = False
                failure = ExchangeTimeout(f"no response within {plan.timeout:g} s")
            for request in batch[len(done):]:
                self._fire(request_type=request.method, name=request.name, response_time=(failed_at - start) * 1e3,
                           response_length=0, exception=failure, context=_NO_CONTEXT, response=None, url=None)
            if isinstance(error, ConnectionRefusedError):
                gevent.sleep(CONNECT_RETRY_PAUSE_S)
            return
        self._report(batch, done, start, origin)

    def _report(self, batch: Sequence[PreparedRequest], done: list[tuple[Response, float]], start: float,
                origin: float | None) -> None:
        fire = self._fire
        for request, (response, at) in zip(batch, done, strict=False):
            status = response.status
            exception = None if status == request.expect_status else UnexpectedStatus(
                f"status {status}, expected {request.expect_status}")
            context = _NO_CONTEXT if origin is None else {"scheduled_ms": (at - origin) * 1e3}
            fire(request_type=request.method, name=request.name, response_time=(at - start) * 1e3,
                 response_length=response.body_length, exception=exception, context=context, response=None,
                 url=None)

    def _connect(self, plan: RawPlan) -> socket.socket:
        sock = self._sock = socket.socket(plan.family, socket.SOCK_STREAM)  # _drop() closes it on failure
        self._reader = ResponseReader()
        sock.connect(plan.address)  # bounded by the watchdog, like the rest of the exchange
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock

    def _drop(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
