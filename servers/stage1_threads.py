"""Stage 1, real concurrency: an acceptor thread feeding a fixed pool of workers.

The roadmap's first step: a pool of 10 workers (`--threads`), a connection limit, and
backpressure: when `--max-connections` are open and every one is being served, a new client gets
503 with Retry-After at once instead of waiting unseen in the backlog (a client still sending its
request is displaced instead: see below).

Defended against slow clients (slowloris): a worker blocked on a client that trickles its
request is a worker lost, and ten of them stop the pool. So the acceptor, on non-blocking
sockets and one selector, gathers each request (parsed by the core as it arrives) and hands a
connection to a worker only when there is something to answer, like an HTTP accept filter. At
the limit a new client displaces the connection that has made the least progress
(core/admission.py), and a request still arriving after `--request-timeout` (shrinking to 1 s
as the limit fills) is dropped. Not covered: a client that stops reading an answer larger than
the kernel takes into its socket buffers holds the worker writing to it until
`--request-timeout` (here a 1 MiB answer, the largest route, does not), and so does a body
trickled after `Expect: 100-continue`.
"""

from __future__ import annotations

import collections
import queue
import selectors
import signal
import socket
import threading
import time
from types import FrameType

from .core import STAGE_0_TO_3, App, DateHeader, HttpConnection, ThreadSafeStats, overloaded
from .core.admission import Admission
from .core.limits import RECV_BYTES, SHUTDOWN_GRACE_S
from .io.blocking import serve_connection
from .io.flags import announce, argument_parser, listening_errors, positive_int, server_config

NAME = "stage1_threads"
DEFAULT_THREADS = 10  # the roadmap's pool size
LISTEN_BACKLOG = 1024
# How often the acceptor wakes without a client, to close refused sockets and late requests.
ACCEPT_POLL_S = 0.25
# A refused client's socket stays half-closed this long so that its request, arriving after our
# 503, is not answered with a reset that would destroy the 503 before the client reads it.
REFUSED_LINGER_S = 1.0


class _Stop(Exception):
    pass


def _stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


class ThreadPoolServer:
    def __init__(self, listener: socket.socket, threads: int, max_connections: int, timeout: float) -> None:
        self._listener = listener
        self._stats = ThreadSafeStats(concurrency=threads)
        self._app = App(self._stats, NAME)
        self._date = DateHeader()
        self._timeout = timeout
        self._max_connections = max_connections
        # Connections whose request is complete, for the workers; never more than the limit.
        self._queue: queue.Queue[tuple[socket.socket, HttpConnection]] = queue.Queue()
        # Connections whose request is still arriving; the admission order has when each began.
        self._gathering: dict[socket.socket, HttpConnection] = {}
        self._admission: Admission[socket.socket] = Admission()
        self._selector = selectors.DefaultSelector()
        self._refused: collections.deque[tuple[float, socket.socket]] = collections.deque()
        self._workers = [threading.Thread(target=self._work, daemon=True, name=f"worker-{i}") for i in range(threads)]

    def serve_forever(self) -> None:
        for worker in self._workers:
            worker.start()
        self._listener.setblocking(False)
        self._selector.register(self._listener, selectors.EVENT_READ)
        next_sweep = 0.0
        while True:
            now = time.monotonic()
            if now >= next_sweep:  # not on every wake-up: a sweep looks at every gathering socket
                self._close_refused(now)
                self._drop_late(now)
                next_sweep = now + ACCEPT_POLL_S
            for key, _ in self._selector.select(ACCEPT_POLL_S):
                if key.fileobj is self._listener:
                    self._accept()
                else:
                    self._gather(key.fileobj)  # type: ignore[arg-type]

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            self._stats.connection_opened()
            if self._stats.open_connections > self._max_connections:
                victim = self._admission.victim()
                if victim is None:  # every connection is being served: refuse this one
                    self._refuse(sock)
                    continue
                self._drop(victim)
            sock.setblocking(False)
            self._gathering[sock] = HttpConnection(self._app, STAGE_0_TO_3, self._date)
            self._admission.began(sock, time.monotonic())
            self._selector.register(sock, selectors.EVENT_READ)

    def _gather(self, sock: socket.socket) -> None:
        """Read what arrived; once the core has something to answer, hand the connection over."""
        conn = self._gathering.get(sock)
        if conn is None:  # displaced by an accept earlier in the same wake-up, and closed
            return
        try:
            data = sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(sock)
            return
        if conn.parse(data):
            self._forget(sock)
            sock.setblocking(True)
            self._queue.put((sock, conn))

    def _forget(self, sock: socket.socket) -> None:
        self._selector.unregister(sock)
        del self._gathering[sock]
        self._admission.closed(sock)

    def _drop(self, sock: socket.socket) -> None:
        """Close a connection whose request was still arriving (displaced, late, or gone)."""
        self._forget(sock)
        self._stats.connection_closed()
        sock.close()

    def _drop_late(self, now: float) -> None:
        """Requests past their timeout, and, when crowded, those slower than the shrunk time."""
        admission = self._admission  # it holds exactly the gathering connections, oldest first
        for sock in admission.overdue(now, self._timeout):
            self._drop(sock)
        for sock in admission.crowded_out(now, self._timeout, self._stats.open_connections, self._max_connections):
            self._drop(sock)

    def _work(self) -> None:
        while True:
            sock, conn = self._queue.get()
            serve_connection(sock, conn, self._stats, self._timeout)

    def _refuse(self, sock: socket.socket) -> None:
        self._stats.connection_closed()  # its place is free at once; the socket only lingers
        try:
            sock.setblocking(False)
            sock.send(overloaded(self._stats, self._date.at(time.time())))
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            sock.close()
            return
        self._refused.append((time.monotonic() + REFUSED_LINGER_S, sock))

    def _close_refused(self, now: float) -> None:
        while self._refused and self._refused[0][0] <= now:
            sock = self._refused.popleft()[1]
            try:
                while sock.recv(65536):  # drain, so close() sends FIN rather than RST
                    pass
            except OSError:
                pass
            sock.close()

    def shutdown(self) -> None:
        """Stop accepting; give connections in service SHUTDOWN_GRACE_S, then leave (the
        workers are daemon threads and end with the process)."""
        self._listener.close()
        deadline = time.monotonic() + SHUTDOWN_GRACE_S
        while self._stats.open_connections and time.monotonic() < deadline:
            time.sleep(0.02)


def main(argv: list[str] | None = None) -> None:
    parser = argument_parser(NAME, __doc__.splitlines()[0])
    parser.add_argument("--threads", type=positive_int, default=DEFAULT_THREADS,
                        help=f"worker threads (default {DEFAULT_THREADS}, as in the roadmap)")
    args = parser.parse_args(argv)
    config = server_config(args)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with listening_errors(config.host, config.port):
        listener = socket.create_server((config.host, config.port), backlog=LISTEN_BACKLOG)
    server = ThreadPoolServer(listener, args.threads, config.max_connections, config.request_timeout)
    announce(listener)
    try:
        server.serve_forever()
    except _Stop:
        server.shutdown()


if __name__ == "__main__":
    main()
