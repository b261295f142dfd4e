"""Serving one connection on a blocking socket: the I/O of stages 0 and 1."""

from __future__ import annotations

import socket
import time

from .core import HttpConnection, Stats
from .core.limits import RECV_BYTES


def serve_connection(sock: socket.socket, conn: HttpConnection, stats: Stats, timeout: float | None) -> None:
    """Read, answer, repeat until the connection's closing reply; `timeout` (seconds) bounds the
    whole connection, so a client that dribbles bytes cannot hold a worker (None: no bound)."""
    stats.connection_opened()
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while not conn.closed:
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                sock.settimeout(remaining)
            data = sock.recv(RECV_BYTES)
            if not data:
                return
            for reply in conn.receive(data, time.time()):
                if reply.delay:
                    time.sleep(reply.delay)
                sock.sendall(reply.head + reply.body)
    except OSError:  # reset by the client, or its time ran out
        return
    finally:
        stats.connection_closed()
        sock.close()
