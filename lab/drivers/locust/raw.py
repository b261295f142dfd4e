"""`client = "raw"`: a locust user that speaks HTTP/1.1 itself, all users of a process on one epoll.

locust's own clients spend most of a request in their HTTP libraries: on one core FastHttpUser
makes ~5-11k requests/s, below what stage 4 serves, so the lab would measure locust. This client
keeps locust (runner, user count, spawn rate, stats, failures, distributed workers) and replaces
the client. Each locust user is one connection; one Engine per process drives all of them over
non-blocking sockets and one epoll, as wrk drives its connections per thread: a ready socket is
read, its responses framed (http1.py), the next requests written (encoded once per scenario,
one write per request or pipeline), with no greenlet switch per request. The engine gives
gevent's hub a turn after every poll, so locust's own greenlets (spawning, the run timer,
reports to a master) keep running. A user's greenlet only waits: when locust stops the user,
its connection goes.

Successes reach the lab's recorder once per poll and locust's statistics in batches
(stats_batch.py); each failure fires locust's request event, as any client's does. Time is taken
with perf_counter when an exchange starts (connect included, when it needs a new connection)
and when the read that completes each response returns.

Pacing: no wait, think time (constant, between), or an open loop (`constant_rate`), where each
user keeps its own schedule, request k due at t0 + k/rate (or at Poisson arrivals), sent at
max(now, due). A request sent late because the connection was still busy with earlier answers
has its latency counted from when it was due, as wrk2 does (coordinated omission); one sent on
time, from when it left (a timer wakes up to a millisecond late: the generator's error, not the
server's). The service time (from the actual send) is what locust's stats get.

A request on a reused connection that the server closed before answering any of it (its
keep-alive timeout racing the request) is sent once more on a new connection if every request
of the batch is idempotent, as RFC 9112 §9.3.1 lets a client, and counted as retried.
"""

from __future__ import annotations

import _socket
import errno
import heapq
import itertools
import os
import random
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Protocol

import gevent
from gevent.event import Event
from gevent.hub import Waiter, get_hub
from gevent.monkey import get_original
from locust import User, task

from lab.drivers.locust.http1 import Response, ResponseError, ResponseReader
from lab.drivers.locust.raw_plan import PreparedRequest, RawPlan
from lab.model.scenario import WaitKind

# Bytes asked of the socket per read: a 16-deep pipeline of small answers in one read.
RECV_BYTES = 64 * 1024
# Seconds a connection pauses after it could not connect, so that a server that is down is not
# hit by a tight loop of refused connections (each still counts as a failure).
CONNECT_RETRY_PAUSE_S = 0.01
# How often the engine looks for exchanges past their timeout; a late one fails this much after
# its time at most.
WATCHDOG_INTERVAL_S = 0.1
# Methods a client may send again after the connection failed under them (RFC 9110 §9.2.2).
IDEMPOTENT_METHODS = frozenset(("GET", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE"))
# Exit code of a locust process whose engine broke: its tally would be partial, so it writes none.
ENGINE_FAILED_EXIT = 70
# The context of a failure's request event: none (a shared empty dict, not a new one per request).
_NO_CONTEXT: dict[str, Any] = {}
# The kernel's epoll, which gevent's patched select module hides.
_epoll, _EPOLLIN, _EPOLLOUT = get_original("select", ["epoll", "EPOLLIN", "EPOLLOUT"])


class UnexpectedStatus(Exception):
    """A well-formed response with another status than the scenario's expect_status."""


class ExchangeTimeout(Exception):
    """No complete response within the scenario's timeout."""


class ClosedUnanswered(ResponseError):
    """The server closed the connection before it answered every request of the exchange."""


class Successes:
    """One request's successes since the engine last handed them over."""

    __slots__ = ("body_bytes", "micros", "request")

    def __init__(self, request: PreparedRequest) -> None:
        self.request = request
        self.micros: list[int] = []  # response times, µs
        self.body_bytes = 0


class Completed(Protocol):
    """Where an engine hands the successes of one poll: `now` is the wall clock they completed
    at (to one poll), `scheduled_us` their latencies from when each was due (open loop),
    `retried` how many of them were sent twice."""

    def __call__(self, now: float, successes: list[Successes], scheduled_us: list[int], retried: int) -> None: ...


class _Connection:
    """One user's connection and the exchange under way on it."""

    __slots__ = ("batch", "connecting", "deadline", "done", "due", "fd", "origin", "outgoing", "reader", "retried",
                 "served", "sock", "start", "stopped")

    def __init__(self) -> None:
        self.sock: _socket.socket | None = None
        self.fd = -1
        self.reader = ResponseReader()
        self.connecting = False
        self.outgoing = b""  # what the exchange still has to write
        self.served = 0  # exchanges completed on this socket: a reused one may have been closed under us
        self.batch: Sequence[PreparedRequest] = ()
        self.done = 0  # responses of the batch received
        self.start = 0.0  # perf_counter time the exchange started
        self.origin: float | None = None  # open loop: when its requests were due, if sent late
        self.deadline = 0.0  # perf_counter time the exchange must end by; 0: none under way
        self.due = 0.0  # open loop: when the next request is due
        self.retried = False  # the exchange was sent again on a new connection
        self.stopped = False  # its user is gone


class Engine:
    """All raw users of one process: their connections on one epoll, driven by one greenlet."""

    def __init__(self, plan: RawPlan, completed: Completed, fire: Callable[..., None]) -> None:
        self._plan = plan
        self._completed = completed
        self._fire = fire  # locust's request event, for failures
        self._epoll = _epoll()
        self._by_fd: dict[int, _Connection] = {}
        self._live: set[_Connection] = set()
        self._timers: list[tuple[float, int, _Connection]] = []  # (perf_counter due, order, connection)
        self._order = itertools.count()
        self._successes = [Successes(request) for request in plan.distinct]
        self._open_loop = plan.wait_kind == WaitKind.CONSTANT_RATE
        # The bytes of the one batch a single-request scenario sends: joined once, not per exchange.
        self._fixed_data = b"".join(r.data for r in plan.fixed) if plan.fixed else b""
        self._scheduled_us: list[int] = []
        self._retried = 0  # successes since the last hand-over that were sent twice
        self._watched_at = 0.0
        self._hub = get_hub()
        self._ready = self._hub.loop.io(self._epoll.fileno(), 1)
        gevent.spawn(self._run)

    def open(self) -> _Connection:
        """A new user's connection; its first exchange starts now (an open loop's at a random
        point of its interval: users started together would otherwise fire together)."""
        connection = _Connection()
        self._live.add(connection)
        now = time.perf_counter()
        if self._open_loop:
            connection.due = now + random.uniform(0.0, 1.0 / self._plan.rate)
            self._at(connection.due, connection)
        else:
            self._exchange(connection, now, None)
        return connection

    def close(self, connection: _Connection) -> None:
        """Its user stopped: the exchange under way is dropped unreported, as locust drops a
        stopped user's request."""
        connection.stopped = True
        self._live.discard(connection)
        self._drop(connection)

    # -- the loop ---------------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            poll = self._epoll.poll
            by_fd = self._by_fd
            while True:
                events = poll(0)
                if not events:
                    self._wait()
                    events = poll(0)
                for fd, mask in events:
                    connection = by_fd.get(fd)
                    if connection is not None:
                        self._on_ready(connection, mask)
                now = time.perf_counter()
                if self._timers and self._timers[0][0] <= now:
                    self._fire_timers(now)
                if now - self._watched_at >= WATCHDOG_INTERVAL_S:
                    self._watched_at = now
                    self._expire(now)
                self._hand_over()
                if events:
                    gevent.sleep(0)  # the hub's turn: locust's greenlets, the user's spawning
        except Exception:  # a bug here would leave a run of silent users: fail the process loudly
            traceback.print_exc()
            sys.stderr.flush()
            os._exit(ENGINE_FAILED_EXIT)

    def _wait(self) -> None:
        """Until a socket is ready, the next timer is due or the watchdog's next look."""
        waiter = Waiter(self._hub)
        self._ready.start(waiter.switch, None)
        timeout = WATCHDOG_INTERVAL_S
        if self._timers:
            timeout = min(timeout, max(0.0, self._timers[0][0] - time.perf_counter()))
        timer = self._hub.loop.timer(timeout)
        timer.start(waiter.switch, None)
        try:
            waiter.get()
        finally:
            self._ready.stop()
            timer.close()

    def _at(self, due: float, connection: _Connection) -> None:
        heapq.heappush(self._timers, (due, next(self._order), connection))

    def _fire_timers(self, now: float) -> None:
        timers = self._timers
        while timers and timers[0][0] <= now:
            _, _, connection = heapq.heappop(timers)
            if not connection.stopped:
                # On time: the latency starts when the request leaves. A timer wakes up late,
                # and that lateness is this generator's, not the server's.
                self._exchange(connection, time.perf_counter(), None)

    def _expire(self, now: float) -> None:
        for connection in [c for c in self._live if c.deadline and now > c.deadline]:
            self._failed(connection, ExchangeTimeout(f"no response within {self._plan.timeout:g} s"), now)

    def _hand_over(self) -> None:
        done = [s for s in self._successes if s.micros]
        if done:
            self._completed(time.time(), done, self._scheduled_us, self._retried)
            for successes in done:
                successes.micros = []
                successes.body_bytes = 0
            self._scheduled_us = []
            self._retried = 0

    # -- one connection ---------------------------------------------------------------------------

    def _exchange(self, connection: _Connection, now: float, origin: float | None) -> None:
        """Start the next batch on `connection`: write it, or connect first."""
        plan = self._plan
        connection.batch = plan.batch()
        connection.done = 0
        connection.start = now
        connection.origin = origin
        connection.deadline = now + plan.timeout
        connection.retried = False
        self._send(connection, now)

    def _send(self, connection: _Connection, now: float) -> None:
        """Write the exchange's batch, on a new connection if the socket is gone."""
        batch = connection.batch
        connection.outgoing = self._fixed_data if batch is self._plan.fixed else b"".join(r.data for r in batch)
        if connection.sock is None:
            self._connect(connection, now)
            return
        reader = connection.reader
        for request in batch:
            reader.sent(request.head_only)
        self._write(connection, now)

    def _connect(self, connection: _Connection, now: float) -> None:
        plan = self._plan
        sock = connection.sock = _socket.socket(plan.family, _socket.SOCK_STREAM | _socket.SOCK_NONBLOCK)
        connection.fd = sock.fileno()
        connection.reader = ResponseReader()
        connection.served = 0
        code = sock.connect_ex(plan.address)
        if code not in (0, errno.EINPROGRESS):
            self._failed(connection, OSError(code, os.strerror(code)), now, pause=True)
            return
        connection.connecting = True
        self._by_fd[connection.fd] = connection
        self._epoll.register(connection.fd, _EPOLLOUT)

    def _on_ready(self, connection: _Connection, mask: int) -> None:
        if connection.connecting:
            sock = connection.sock
            assert sock is not None
            code = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_ERROR)
            if code:
                self._failed(connection, OSError(code, os.strerror(code)), time.perf_counter(), pause=True)
                return
            connection.connecting = False
            sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            for request in connection.batch:
                connection.reader.sent(request.head_only)
            self._write(connection, time.perf_counter(), registered=_EPOLLOUT)
        elif connection.outgoing:
            self._write(connection, time.perf_counter(), registered=_EPOLLOUT)
        else:
            self._read(connection)

    def _write(self, connection: _Connection, now: float, registered: int = _EPOLLIN) -> None:
        """Write what the exchange still has to; wait for writable or readable accordingly.
        `registered`: what the connection's socket is polled for now."""
        sock = connection.sock
        assert sock is not None
        data = connection.outgoing
        try:
            sent = sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError as error:
            self._failed(connection, error, now)
            return
        connection.outgoing = data[sent:] if sent < len(data) else b""
        wanted = _EPOLLOUT if connection.outgoing else _EPOLLIN
        if wanted != registered:
            self._epoll.modify(connection.fd, wanted)

    def _read(self, connection: _Connection) -> None:
        sock = connection.sock
        assert sock is not None
        try:
            data = sock.recv(RECV_BYTES)
        except BlockingIOError:
            return
        except OSError as error:
            if connection.deadline:
                self._failed(connection, error, time.perf_counter())
            else:
                self._drop(connection)
            return
        if not connection.deadline:
            self._between_exchanges(connection, data)
            return
        now = time.perf_counter()
        try:
            responses = connection.reader.feed(data) if data else connection.reader.eof()
        except ResponseError as error:
            self._failed(connection, error, now)
            return
        batch = connection.batch
        if responses:
            self._answered(connection, responses, now)
        if connection.done == len(batch):
            self._finished(connection, responses[-1], now)
        elif not data or (responses and responses[-1].close):
            unanswered = len(batch) - connection.done
            self._failed(connection, ClosedUnanswered(f"the server closed the connection with {unanswered} of "
                                                      f"{len(batch)} requests unanswered"), now)

    def _between_exchanges(self, connection: _Connection, data: bytes) -> None:
        """A kept-alive connection became readable while no exchange is under way: the server
        closed it (its idle timeout), so the next exchange connects anew; or it sent bytes
        nobody asked for, a failure."""
        if data:
            self._fail_one(connection.batch[-1], 0.0, 0, ResponseError("a response nobody asked for"))
        self._drop(connection)

    def _answered(self, connection: _Connection, responses: list[Response], now: float) -> None:
        origin, first = connection.origin, connection.done
        connection.done += len(responses)
        micros = int((now - connection.start) * 1e6)
        batch = connection.batch[first:] if first else connection.batch
        for request, response in zip(batch, responses, strict=False):
            if response.status == request.expect_status:
                successes = self._successes[request.slot]
                successes.micros.append(micros)
                successes.body_bytes += response.body_length
                self._retried += connection.retried
                if origin is not None:
                    self._scheduled_us.append(int((now - origin) * 1e6))
                elif self._open_loop:
                    self._scheduled_us.append(micros)
            else:
                self._fail_one(request, micros / 1e3, response.body_length,
                               UnexpectedStatus(f"status {response.status}, expected {request.expect_status}"))

    def _finished(self, connection: _Connection, last: Response, now: float) -> None:
        connection.deadline = 0.0
        connection.served += 1
        if last.close:
            self._drop(connection)
        self._next(connection, now)

    def _next(self, connection: _Connection, now: float) -> None:
        """Pace the connection's next exchange."""
        plan = self._plan
        kind = plan.wait_kind
        if kind == WaitKind.NONE:
            self._exchange(connection, now, None)
        elif kind == WaitKind.CONSTANT:
            self._at(now + plan.wait_low, connection)
        elif kind == WaitKind.BETWEEN:
            self._at(now + random.uniform(plan.wait_low, plan.wait_high), connection)
        else:
            connection.due += random.expovariate(plan.rate) if plan.poisson else 1.0 / plan.rate
            if connection.due > now:
                self._at(connection.due, connection)
            else:  # behind: the time since it was due went to the server's earlier answers
                self._exchange(connection, now, connection.due)

    def _failed(self, connection: _Connection, error: Exception, now: float, pause: bool = False) -> None:
        """The exchange failed: each unanswered request is a failure; the next exchange is paced
        as usual, or after a pause when the connection could not even be made."""
        if self._may_retry(connection, error):
            connection.retried = True
            self._drop(connection)
            self._send(connection, now)
            return
        self._drop(connection)
        connection.deadline = 0.0
        elapsed = (now - connection.start) * 1e3
        for request in connection.batch[connection.done:]:
            self._fail_one(request, elapsed, 0, error)
        if pause:
            self._at(now + CONNECT_RETRY_PAUSE_S, connection)
        else:
            self._next(connection, now)

    def _fail_one(self, request: PreparedRequest, elapsed_ms: float, length: int, error: Exception) -> None:
        """One failed request, as locust's request event (its statistics and the lab's recorder)."""
        self._fire(request_type=request.method, name=request.name, response_time=elapsed_ms, response_length=length,
                   exception=error, context=_NO_CONTEXT, response=None, url=None)

    def _may_retry(self, connection: _Connection, error: Exception) -> bool:
        """The server closed a reused connection before any byte of an answer: its idle timeout
        crossed the request in flight, and an idempotent batch may go again, once."""
        closed = isinstance(error, ConnectionResetError | BrokenPipeError | ClosedUnanswered)
        return (closed and connection.served > 0 and connection.done == 0 and not connection.retried
                and connection.reader.idle and all(r.method in IDEMPOTENT_METHODS for r in connection.batch))

    def _drop(self, connection: _Connection) -> None:
        sock = connection.sock
        if sock is not None:
            self._by_fd.pop(connection.fd, None)
            sock.close()  # leaves the epoll set with it
            connection.sock = None
            connection.connecting = False
            connection.outgoing = b""


class RawScenarioUser(User):
    """One connection, driven by its process's Engine; the user's greenlet waits until stopped."""

    engine: ClassVar[Engine | None] = None  # started by the locustfile when the run starts

    @classmethod
    def start_engine(cls, plan: RawPlan, completed: Completed, fire: Callable[..., None]) -> None:
        cls.engine = Engine(plan, completed, fire)

    @task
    def load(self) -> None:
        engine = self.engine
        assert engine is not None, "the locustfile starts the engine before the users"
        connection = engine.open()
        try:
            Event().wait()  # locust ends this greenlet to stop the user
        finally:
            engine.close(connection)
