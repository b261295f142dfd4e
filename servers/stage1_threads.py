"""Stage 1, real concurrency: an acceptor thread feeding a fixed pool of workers.

The roadmap's first step: a pool of 10 workers (`--threads`), a bounded queue of accepted
connections, and backpressure: when `--max-connections` are queued or in service, a new client
gets 503 with Retry-After at once instead of waiting unseen in the backlog.
"""

from __future__ import annotations

import collections
import queue
import signal
import socket
import threading
import time
from types import FrameType

from .blocking import serve_connection
from .core import OVERLOADED, STAGE_0_TO_3, App, DateHeader, HttpConnection, ThreadSafeStats, encode_closing
from .core.limits import SHUTDOWN_GRACE_S
from .flags import announce, argument_parser, listening_errors, positive_int, server_config

NAME = "stage1_threads"
DEFAULT_THREADS = 10  # the roadmap's pool size
LISTEN_BACKLOG = 1024
# How often the acceptor wakes without a client, to close refused sockets and notice a stop.
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
        self._stats = ThreadSafeStats()
        self._app = App(self._stats, NAME)
        self._date = DateHeader()
        self._timeout = timeout
        # Connections in service are at most `threads`; the queue holds the rest of the limit.
        self._queue: queue.Queue[socket.socket] = queue.Queue(maxsize=max(1, max_connections - threads))
        self._refused: collections.deque[tuple[float, socket.socket]] = collections.deque()
        self._workers = [threading.Thread(target=self._work, daemon=True, name=f"worker-{i}") for i in range(threads)]

    def serve_forever(self) -> None:
        for worker in self._workers:
            worker.start()
        self._listener.settimeout(ACCEPT_POLL_S)
        while True:
            self._close_refused(time.monotonic())
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            sock.settimeout(None)
            try:
                self._queue.put_nowait(sock)
            except queue.Full:
                self._refuse(sock)

    def _work(self) -> None:
        while True:
            sock = self._queue.get()
            serve_connection(sock, HttpConnection(self._app, STAGE_0_TO_3, self._date), self._stats, self._timeout)

    def _refuse(self, sock: socket.socket) -> None:
        self._stats.answered(503)
        try:
            sock.setblocking(False)
            sock.send(encode_closing(OVERLOADED, self._date.at(time.time())))
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
