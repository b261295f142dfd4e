"""Serving one connection on a blocking socket: the I/O of stages 0 and 1."""

from __future__ import annotations

import socket
import time

from ..core import HttpConnection, Stats
from ..core.limits import RECV_BYTES


def serve_connection(sock: socket.socket, conn: HttpConnection, stats: Stats, timeout: float | None) -> None:
    """Answer what `conn` has already parsed, then read, answer, repeat until the connection's
    closing reply; `timeout` (seconds) bounds the whole connection, so a client that dribbles
    bytes cannot hold a worker (None: no bound). Closes the socket and counts it closed."""
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        replies = conn.replies(time.time())  # what stage 1's acceptor gathered before
        while True:
            for reply in replies:
                if reply.delay:
                    time.sleep(reply.delay)
                sock.sendall(reply.head + reply.body)
            if conn.closed:
                return
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                sock.settimeout(remaining)
            data = sock.recv(RECV_BYTES)
            if not data:
                return
            replies = conn.receive(data, time.time())
    except OSError:  # reset by the client, or its time ran out
        return
    finally:
        stats.connection_closed()
        sock.close()
