"""Slow clients must not deny service (slowloris): with the connection limit full of clients that
trickle their request head, trickle their body, or never read their answers, stages 1-4 still
answer real clients, and close the slow ones to make room. Stage 0 is the undefended baseline."""

from __future__ import annotations

import socket
import time

import pytest

from lab.hostile.clients import READER_PIPELINE
from servers.core.app import PLAINTEXT_BODY
from servers.core.limits import CROWDED_SHARE
from tests.client import address, exchange, get, server_stats
from tests.conftest import start_server

pytestmark = pytest.mark.system

LIMIT = 100
# A request timeout far beyond the test: the defence, not the timeout, must free the places.
ARGS = ("--max-connections", str(LIMIT), "--request-timeout", "60")
REAL_CLIENTS = 3 * LIMIT // 2
# Seconds all the real clients together may take; each is answered in about a millisecond.
REAL_BOUND_S = 15.0
OPENINGS = {
    "header": b"GET /plaintext HTTP/1.1\r\nHost: t\r\nX-Slow: ",
    "body": b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\nabc",
    "reader": get("/bytes/1048576") * READER_PIPELINE,
}


def _closed_by_server(socks: list[socket.socket]) -> int:
    closed = 0
    for sock in socks:
        sock.settimeout(0.2)
        try:
            while sock.recv(65536):
                pass
            closed += 1  # end of stream
        except ConnectionResetError:
            closed += 1  # aborted: the server did not wait for it
        except TimeoutError:
            pass
    return closed


def _held(url: str) -> int:
    """Connections the server holds, by its own count (minus the asking one)."""
    return int(server_stats(url)["open_connections"]) - 1


# Stage 1 is included for never-readers too, though here they do not hold its workers (a worker's
# sendall of a 1 MiB answer returns, the kernel keeping it); they do hold the event-loop stages'
# connections (their transports keep what the kernel has not taken, and wait to drain).
CASES = [(stage, kind) for stage in (1, 2, 3, 4) for kind in OPENINGS]


@pytest.mark.parametrize(("stage", "kind"), CASES, ids=[f"stage{s}-{k}" for s, k in CASES])
def test_real_clients_are_served_beside_a_full_house_of_slow_ones(stage: int, kind: str) -> None:
    server = start_server(stage, *ARGS)
    slow = []
    try:
        for _ in range(LIMIT):
            sock = socket.create_connection(address(server.url))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a never-reader reads nothing
            sock.sendall(OPENINGS[kind])
            slow.append(sock)
        deadline = time.monotonic() + 5
        while _held(server.url) < LIMIT - 1 and time.monotonic() < deadline:  # each /stats displaced one
            time.sleep(0.05)

        started = time.monotonic()
        answers = [exchange(server.url, get("/plaintext")) for _ in range(REAL_CLIENTS)]
        took = time.monotonic() - started
        assert [a.status for a in answers] == [200] * REAL_CLIENTS
        assert all(a.body == PLAINTEXT_BODY for a in answers)
        assert took < REAL_BOUND_S

        # a crowded server gives a request 1 s, so it closes slow clients until it is calm again
        # (at most CROWDED_SHARE of the limit in use); the rest get the normal request timeout
        deadline = time.monotonic() + 5
        while (held := _held(server.url)) > CROWDED_SHARE * LIMIT and time.monotonic() < deadline:
            time.sleep(0.1)
        assert held <= CROWDED_SHARE * LIMIT
        if kind != "reader":  # a never-reader's socket is full of answer: the server's count tells
            assert _closed_by_server(slow) >= LIMIT - held
    finally:
        for sock in slow:
            sock.close()
        server.stop()


def test_stage0_is_the_undefended_baseline() -> None:
    """One connection at a time and no timeout: one slow client stops stage 0 (its docstring
    says so); a real client gets no answer while it is there."""
    server = start_server(0)
    slow = socket.create_connection(address(server.url))
    try:
        slow.sendall(OPENINGS["header"])
        time.sleep(0.2)
        with socket.create_connection(address(server.url), timeout=1.0) as real:
            real.sendall(get("/plaintext"))
            with pytest.raises(TimeoutError):
                real.recv(1024)
    finally:
        slow.close()
        server.stop()
