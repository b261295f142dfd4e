"""Stage 1's own bookkeeping, in process: what one wake-up of its selector may hold."""

from __future__ import annotations

import socket
import time

import pytest

from servers.stage1_threads import ThreadPoolServer

pytestmark = pytest.mark.system  # real sockets on loopback, though no process


def test_a_connection_displaced_earlier_in_the_same_wake_up_is_passed_over() -> None:
    """One select() can report a gathering connection readable and the listener too; the accept
    handled first may displace that connection (the limit reached), and its read must then be
    skipped: a hold-1000 run once stopped stage 1 with a KeyError there."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.setblocking(False)
        server = ThreadPoolServer(listener, threads=1, max_connections=1, timeout=5.0)
        with socket.create_connection(listener.getsockname()) as first:
            first.sendall(b"GET / HTTP/1.1\r\n")  # a head still arriving
            deadline = time.monotonic() + 5
            while not server._gathering and time.monotonic() < deadline:
                server._accept()
            (victim,) = server._gathering
            with socket.create_connection(listener.getsockname()):
                while victim in server._gathering and time.monotonic() < deadline:
                    server._accept()  # over the limit: the slowest head (the first) is displaced
                assert victim not in server._gathering and len(server._gathering) == 1
                server._gather(victim)  # its readiness, reported in the same wake-up
                assert len(server._gathering) == 1
                for sock in list(server._gathering):
                    server._drop(sock)
