"""The raw locust client (client = "raw") against real stages and a hostile fake server: right
counts, the right failures with clear messages, pipelining, and no hang."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from lab.files.target_file import calibration_target
from lab.processes.spawn import ServerProcess
from lab.store import results
from tests.client import server_stats
from tests.conftest import lab, start_server

# Every test here starts the lab as processes: the slow tier (pytest -m system).
pytestmark = pytest.mark.system

SCENARIO = """
description = "raw client test"
[load]
users = {users}
duration = "1s"
warmup = "500ms"
client = "raw"
timeout = "300ms"
pipeline = {pipeline}
[[request]]
path = "/plaintext"
"""
# Seconds a one-second run of the lab may take, locust's start-up included; a hang exceeds it.
RUN_BOUND_S = 60
OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!"
CHUNKED = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"5\r\nHello\r\n8\r\n, World!\r\n0\r\nX-Done: yes\r\n\r\n")


def _heads(conn: socket.socket) -> Iterator[int]:
    """Yields, per read, how many request heads it completed; ends when the client closes."""
    buffer = b""
    while True:
        try:
            data = conn.recv(65536)
        except OSError:
            return
        if not data:
            return
        buffer += data
        count = buffer.count(b"\r\n\r\n")
        buffer = buffer[buffer.rfind(b"\r\n\r\n") + 4:] if count else buffer
        if count:
            yield count


def trickle(answer: bytes) -> Callable[[socket.socket, list[int]], None]:
    """Each answer in one-byte writes: every split of the response reaches the client."""

    def serve(conn: socket.socket, seen: list[int]) -> None:
        for count in _heads(conn):
            for _ in range(count):
                for byte in answer:
                    conn.sendall(bytes([byte]))

    return serve


def close_delimited(conn: socket.socket, seen: list[int]) -> None:
    for _ in _heads(conn):
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nHello, World!")
        return  # the close ends the body


def close_mid_body(conn: socket.socket, seen: list[int]) -> None:
    for _ in _heads(conn):
        conn.sendall(OK[:-5])
        return


def garbage(conn: socket.socket, seen: list[int]) -> None:
    for _ in _heads(conn):
        conn.sendall(b"HTTP/1.1 OK 200\r\n\r\n")


def silent(conn: socket.socket, seen: list[int]) -> None:
    for _ in _heads(conn):
        pass  # reads requests, answers none


def counting(conn: socket.socket, seen: list[int]) -> None:
    for count in _heads(conn):
        seen.append(count)
        conn.sendall(OK * count)


class FakeServer:
    """A TCP server on 127.0.0.1 in this process, one thread per connection."""

    def __init__(self, behaviour: Callable[[socket.socket, list[int]], None]) -> None:
        self.seen: list[int] = []  # requests completed per read, for `counting`
        seen = self.seen

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                # one-byte writes must leave at once, not wait for an ACK (Nagle)
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with contextlib.suppress(OSError):  # the client closing mid-answer is its right
                    behaviour(self.request, seen)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def run_against(url: str, tmp_path: Path, users: int = 2, pipeline: int = 1) -> dict[str, Any]:
    scenario = tmp_path / "raw.toml"
    scenario.write_text(SCENARIO.format(users=users, pipeline=pipeline))
    started = time.monotonic()
    done = lab("run", "--target", url, "--scenario", str(scenario), "--results", str(tmp_path / "out"),
               timeout=RUN_BOUND_S)
    assert done.returncode == 0, done.stdout + done.stderr
    assert time.monotonic() - started < RUN_BOUND_S
    rows: list[dict[str, Any]] = results.load(tmp_path / "out").to_dict("records")
    (row,) = rows
    assert row["client"] == "raw" and pd.isna(row["error"]), row["error"]
    return row


@pytest.mark.parametrize("behaviour", [trickle(OK), trickle(CHUNKED), close_delimited],
                         ids=["content-length-byte-by-byte", "chunked-byte-by-byte", "close-delimited"])
def test_every_framing_at_every_split_is_counted(behaviour: Callable[[socket.socket, list[int]], None],
                                                 tmp_path: Path) -> None:
    server = FakeServer(behaviour)
    try:
        row = run_against(server.url, tmp_path)
    finally:
        server.close()
    assert row["failures"] == 0, row["top_error"]
    assert row["requests"] > 20
    assert row["bytes_per_s"] == pytest.approx(13 * row["qps"])  # body bytes, decoded from chunks too


@pytest.mark.parametrize(("behaviour", "message"), [
    (close_mid_body, "the server closed the connection in the middle of a response"),
    (garbage, "bad status line"),
    (silent, "no response within 0.3 s"),
])
def test_broken_servers_are_failures_with_their_reason(behaviour: Callable[[socket.socket, list[int]], None],
                                                       message: str, tmp_path: Path) -> None:
    server = FakeServer(behaviour)
    try:
        row = run_against(server.url, tmp_path)
    finally:
        server.close()
    assert row["requests"] == 0 and row["failures"] > 0
    assert message in str(row["top_error"])


def test_pipeline_writes_n_requests_at_once(tmp_path: Path) -> None:
    server = FakeServer(counting)
    try:
        row = run_against(server.url, tmp_path, users=1, pipeline=8)
    finally:
        server.close()
    assert row["failures"] == 0 and row["requests"] > 100
    # one user, 8 requests per write: every read the server made held a multiple of 8 requests
    # (the first read is the lab's pre-run check: one request)
    assert server.seen[0] == 1 and len(server.seen) > 10
    assert all(count % 8 == 0 for count in server.seen[1:]), server.seen[:20]


@pytest.mark.parametrize("stage", [0, 1, 2, 3, 4])
def test_raw_client_counts_what_the_server_served(stage: int, tmp_path: Path) -> None:
    """The lab's count against the server's own (/stats): every request the raw client recorded,
    warm-up included, was answered, and none twice. The server may have answered up to one
    request per user more: those in flight when locust stopped its users, never recorded."""
    users = 4
    server = start_server(stage)
    try:
        row = run_against(server.url, tmp_path, users=users)
        served = server_stats(server.url)["by_status"]["200"]
    finally:
        server.stop()
    assert row["failures"] == 0 and row["requests"] > 200
    recorded = int(results.load_timeseries(tmp_path / "out")["requests"].sum())
    verified = 1  # the lab's pre-run check sends the scenario's one request once
    assert recorded <= served - verified <= recorded + users


KEEP_ALIVE_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!"


def close_on_second_request(conn: socket.socket, seen: list[int]) -> None:
    """Answers a connection's first request and closes it when the second arrives, unanswered:
    a keep-alive timeout that crossed the client's next request, every time."""
    for count, _ in enumerate(_heads(conn)):
        if count:
            return
        conn.sendall(KEEP_ALIVE_OK)


def close_after_answer(conn: socket.socket, seen: list[int]) -> None:
    """Answers one request without saying Connection: close, then closes while the client waits."""
    for _ in _heads(conn):
        conn.sendall(KEEP_ALIVE_OK)
        return


def _run_scenario(url: str, tmp_path: Path, request: str, load: str = "") -> dict[str, Any]:
    scenario = tmp_path / "raw.toml"
    scenario.write_text(f'description = "raw"\n[load]\nusers = 2\nduration = "1s"\nwarmup = "500ms"\n'
                        f'client = "raw"\ntimeout = "300ms"\n{load}\n[[request]]\n{request}\n')
    done = lab("run", "--target", url, "--scenario", str(scenario), "--results", str(tmp_path / "out"),
               timeout=RUN_BOUND_S)
    assert done.returncode == 0, done.stdout + done.stderr
    (row,) = results.load(tmp_path / "out").to_dict("records")
    assert pd.isna(row["error"]), row["error"]
    return row


def test_an_idempotent_request_on_a_connection_closed_under_it_is_sent_again(tmp_path: Path) -> None:
    server = FakeServer(close_on_second_request)
    try:
        row = _run_scenario(server.url, tmp_path, 'path = "/plaintext"')
    finally:
        server.close()
    assert row["failures"] == 0 and row["requests"] > 50
    # every request after a connection's first met the close and went again, on a new connection
    assert row["requests"] * 0.9 <= row["retried_requests"] <= row["requests"]


def test_a_post_on_a_connection_closed_under_it_fails(tmp_path: Path) -> None:
    server = FakeServer(close_on_second_request)
    try:
        row = _run_scenario(server.url, tmp_path, 'method = "POST"\npath = "/echo"\nbody = "x"')
    finally:
        server.close()
    assert row["retried_requests"] == 0 and row["requests"] > 10 and row["failures"] > 10
    assert "the server closed the connection with 1 of 1 requests unanswered" in str(row["top_error"])


def test_a_connection_the_server_closed_between_requests_is_reopened_before_the_next(tmp_path: Path) -> None:
    """With think time, the close arrives while the connection waits: the next request goes on a
    new connection from the start, neither failed nor retried."""
    server = FakeServer(close_after_answer)
    try:
        row = _run_scenario(server.url, tmp_path, 'path = "/plaintext"', 'wait = { constant = "20ms" }')
    finally:
        server.close()
    assert row["failures"] == 0 and row["retried_requests"] == 0 and row["requests"] > 30


def test_the_closing_calibration_server_answers_once_per_connection() -> None:
    """`minimal --close`, the ceiling closing stages are read against: one answer, then the close."""
    target = calibration_target(closing=True)
    server = ServerProcess("", command=target.command, announces=True)
    server.start()
    try:
        port = int(server.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            conn.sendall(b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n" * 2)
            received = b""
            while chunk := conn.recv(65536):
                received += chunk
    finally:
        server.stop()
    assert received.count(b"HTTP/1.1 200 OK") == 1 and b"\r\nConnection: close\r\n" in received
    assert received.endswith(b"Hello, World!")
