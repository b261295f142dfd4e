"""One suite, every stage: the same requests get the same answers from all five servers."""

from __future__ import annotations

import socket
import time
from email.utils import parsedate_to_datetime

import pytest

from lab.processes.spawn import ServerProcess
from servers.core.app import PAYLOAD
from servers.core.limits import MAX_DELAY_MS, MAX_PAYLOAD_BYTES
from tests.cases import BAD_REQUESTS, LIMITS, UPGRADE
from tests.client import READ_TIMEOUT_S, Answer, RawClient, address, exchange, get, server_stats

# Every test here starts servers or the lab as processes: the slow tier (pytest -m system).
pytestmark = pytest.mark.system

TEXT = "text/plain; charset=utf-8"

ROUTES: dict[str, tuple[bytes, int, str | None, bytes]] = {
    # name: (raw request, status, content type, body)
    "plaintext": (get("/plaintext"), 200, TEXT, b"Hello, World!"),
    "json": (get("/json"), 200, "application/json", b'{"message":"Hello, World!"}'),
    "echo": ((b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\n"
              b"Content-Length: 11\r\n\r\nhello world"), 200, "application/octet-stream", b"hello world"),
    "echo chunked": ((b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), 200, "application/octet-stream", b"hello world"),
    "bytes": (get("/bytes/1000"), 200, TEXT, PAYLOAD[:1000]),
    "bytes 0": (get("/bytes/0"), 200, TEXT, b""),
    "bytes at limit": (get(f"/bytes/{MAX_PAYLOAD_BYTES}"), 200, TEXT, PAYLOAD[:MAX_PAYLOAD_BYTES]),
    "bytes over limit": (get(f"/bytes/{MAX_PAYLOAD_BYTES + 1}"), 400, TEXT, None),
    "delay over limit": (get(f"/delay/{MAX_DELAY_MS + 1}"), 400, TEXT, None),
    "health": (get("/health"), 200, TEXT, b"ok\n"),
    "not found": (get("/nope"), 404, TEXT, b"no such route\n"),
    "bytes with bad n": (get("/bytes/abc"), 404, TEXT, b"no such route\n"),
    "method not allowed": (b"POST /plaintext HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", 405, TEXT,
                           b"method not allowed\n"),
    "http/1.0": (b"GET /plaintext HTTP/1.0\r\n\r\n", 200, TEXT, b"Hello, World!"),
    "registered method off the routes": (b"REPORT /nope HTTP/1.1\r\nHost: t\r\n\r\n", 501, TEXT,
                                         b"method not implemented\n"),
    "registered method on a route": (b"PURGE /plaintext HTTP/1.1\r\nHost: t\r\n\r\n", 405, TEXT,
                                     b"method not allowed\n"),
}


def check_common_headers(answer: Answer) -> None:
    """Server, Date (a valid IMF-fixdate, within a few seconds of now), exact Content-Length."""
    assert answer.header("server") == "qpslab"
    date = answer.header("date")
    assert date is not None and date.endswith(" GMT")
    assert abs(parsedate_to_datetime(date).timestamp() - time.time()) < 5
    assert answer.header("content-length") == str(len(answer.body))


@pytest.mark.parametrize("name", list(ROUTES))
def test_route(server: ServerProcess, name: str) -> None:
    raw, status, content_type, body = ROUTES[name]
    answer = exchange(server.url, raw)
    assert answer.status == status
    assert answer.header("content-type") == content_type
    if body is not None:
        assert answer.body == body
    check_common_headers(answer)


def test_method_not_allowed_names_allowed_methods(server: ServerProcess) -> None:
    answer = exchange(server.url, b"DELETE /json HTTP/1.1\r\nHost: t\r\n\r\n")
    assert (answer.status, answer.header("allow")) == (405, "GET, HEAD")


@pytest.mark.parametrize("path", ["/plaintext", "/bytes/5000"])
def test_head_is_get_without_the_body(server: ServerProcess, path: str) -> None:
    """HEAD answers with GET's status and fields, Content-Length included, and no body: the next
    bytes on the connection are the next response (stage 4) or the end of it (stages 0-3)."""
    get_answer = exchange(server.url, get(path))
    with socket.create_connection(address(server.url), timeout=READ_TIMEOUT_S) as sock:
        sock.sendall(f"HEAD {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode() + get("/health", close=True))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n"), data[:200]
    fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
    assert fields[b"Content-Length"] == str(len(get_answer.body)).encode()
    assert fields[b"Content-Type"].decode() == get_answer.header("content-type")
    assert rest == b"" or (rest.startswith(b"HTTP/1.1 200 OK\r\n") and rest.endswith(b"ok\n")), rest[:200]


def test_expect_100_continue_is_answered_before_the_body(server: ServerProcess) -> None:
    """curl sends `Expect: 100-continue` with bodies over 1 KiB and waits a second for the
    interim answer; every stage sends it as soon as the head is in."""
    with socket.create_connection(address(server.url), timeout=READ_TIMEOUT_S) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n"
                     b"Connection: close\r\n\r\n")
        interim = b""
        while not interim.endswith(b"\r\n\r\n"):
            chunk = sock.recv(4096)
            assert chunk, interim
            interim += chunk
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hello")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(b"\r\n\r\nhello"), data


def test_delay_waits(server: ServerProcess) -> None:
    started = time.monotonic()
    exchange(server.url, get("/plaintext"))
    baseline = time.monotonic() - started  # an exchange without a wait, on this machine now
    started = time.monotonic()
    answer = exchange(server.url, get("/delay/200"))
    elapsed = time.monotonic() - started
    assert (answer.status, answer.body) == (200, b"Hello, World!")
    # At least the 200 ms asked for, and nearer that than the next multiple of it.
    assert elapsed + 0.005 >= 0.2 and elapsed - baseline < 0.4


def test_stats_counts_requests(server: ServerProcess) -> None:
    before = server_stats(server.url)
    exchange(server.url, get("/plaintext"))
    after = server_stats(server.url)
    assert after["server"] == server.argv[2].split(".")[-1]
    assert after["requests"] >= before["requests"] + 2  # the plaintext and the first /stats
    assert after["by_status"]["200"] >= before["by_status"].get("200", 0) + 2
    assert after["open_connections"] >= 1  # this very request's connection


# Requests each stage serves at once by design, as its /stats says (None: only connections bound it).
CONCURRENCY = {"stage0_serial": 1, "stage1_threads": 10}


def test_stats_names_the_design_concurrency(server: ServerProcess) -> None:
    name = server.argv[2].split(".")[-1]
    assert server_stats(server.url)["concurrency"] == CONCURRENCY.get(name)


def test_date_changes_after_a_second(server: ServerProcess) -> None:
    first = exchange(server.url, get("/plaintext")).header("date")
    time.sleep(1.05)
    second = exchange(server.url, get("/plaintext")).header("date")
    assert first != second


@pytest.mark.parametrize("name", list(BAD_REQUESTS))
def test_bad_request(server: ServerProcess, name: str) -> None:
    raw, status = BAD_REQUESTS[name]
    answer = exchange(server.url, raw)
    assert answer.status == status
    assert answer.header("connection") == "close"
    check_common_headers(answer)
    assert exchange(server.url, get("/health")).status == 200


@pytest.mark.parametrize("name", list(LIMITS))
def test_limits_are_drawn_at_the_same_byte(server: ServerProcess, name: str) -> None:
    at, past, status = LIMITS[name]
    assert exchange(server.url, at).status == (404 if name == "request line" else 200)  # read, not refused
    assert exchange(server.url, past).status == status


def test_an_upgrade_is_answered_without_switching_and_the_connection_ends(server: ServerProcess) -> None:
    with RawClient(server.url) as client:
        client.send(UPGRADE + b"\x81\x05hello" + get("/health"))
        answer = client.read()
        assert answer is not None and (answer.status, answer.body) == (200, b"Hello, World!")
        assert answer.header("connection") == "close" and "upgrade" not in answer.headers
        assert client.closed or client.closed_by_server(READ_TIMEOUT_S)


def test_stats_counts_protocol_errors(server: ServerProcess) -> None:
    before = server_stats(server.url)["protocol_errors"]
    exchange(server.url, BAD_REQUESTS["invalid method characters"][0])
    after = server_stats(server.url)["protocol_errors"]
    assert after == before + 1
