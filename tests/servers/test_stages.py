"""What only some stages do: stage 4's protocol switches, backpressure, timeouts, shutdown."""

from __future__ import annotations

import gzip
import signal
import socket
import subprocess
import sys
import time

import pytest

from lab.processes.spawn import ServerProcess
from servers import STAGES
from servers.core.app import PAYLOAD
from servers.core.limits import SHUTDOWN_GRACE_S, SWEEP_INTERVAL_S
from tests.client import RawClient, address, exchange, get, reset, server_stats
from tests.conftest import STAGE4_KEEPALIVE_S, STAGE4_REQUEST_S, start_server

# Every test here starts servers or the lab as processes: the slow tier (pytest -m system).
pytestmark = pytest.mark.system

GZIP_GET = b"GET /bytes/4000 HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip, deflate\r\n\r\n"


def pipeline_of(count: int) -> bytes:
    return b"".join(get(f"/bytes/{n}") for n in range(1, count + 1))


@pytest.mark.parametrize("switches", [(), ("--parser", "core"), ("--no-pipelining",), ("--no-cache", "--no-gzip")],
                         ids=["default", "core-parser", "no-pipelining", "no-cache-no-gzip"])
def test_stage4_answers_16_pipelined_requests_in_order(switches: tuple[str, ...]) -> None:
    proc = start_server(4, *switches)
    try:
        with RawClient(proc.url) as client:
            client.send(pipeline_of(16))
            answers = [client.read() for _ in range(16)]
            assert [a.body if a else None for a in answers] == [PAYLOAD[:n] for n in range(1, 17)]
            client.send(get("/plaintext"))  # and the connection is still usable
            last = client.read()
            assert last is not None and last.body == b"Hello, World!"
    finally:
        proc.stop()


@pytest.mark.parametrize("stage", [0, 1, 2, 3])
def test_stages_0_to_3_close_after_one_response(stage: int) -> None:
    proc = start_server(stage)
    try:
        with RawClient(proc.url) as client:
            client.send(get("/plaintext") + get("/json"))
            first = client.read()
            assert first is not None and first.header("connection") == "close"
            assert client.read() is None and client.closed
    finally:
        proc.stop()


def test_stage4_keeps_connections_alive(stage4: ServerProcess) -> None:
    with RawClient(stage4.url) as client:
        for _ in range(3):
            client.send(get("/json"))
            answer = client.read()
            assert answer is not None and answer.status == 200 and answer.header("connection") is None
        client.send(b"GET /json HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        answer = client.read()
        assert answer is not None and answer.header("connection") == "close"
        assert client.closed_by_server(2)


def test_stage4_http10_keep_alive_reuses_the_connection(stage4: ServerProcess) -> None:
    with RawClient(stage4.url) as client:
        for _ in range(3):
            client.send(b"GET /plaintext HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            answer = client.read()
            assert answer is not None and answer.header("connection") == "keep-alive" and not client.closed
        client.send(b"GET /plaintext HTTP/1.0\r\n\r\n")  # without the header, 1.0 closes
        answer = client.read()
        assert answer is not None and answer.status == 200
        assert client.closed or client.closed_by_server(2)


def test_stage4_closes_idle_keep_alive_connections_at_the_keep_alive_timeout(stage4: ServerProcess) -> None:
    with RawClient(stage4.url) as client:
        client.send(get("/plaintext"))
        assert client.read() is not None
        started = time.monotonic()
        assert client.closed_by_server(STAGE4_REQUEST_S + 2)
        # Swept every 0.5 s: well before the request timeout, which would be the wrong clock.
        assert time.monotonic() - started < (STAGE4_KEEPALIVE_S + STAGE4_REQUEST_S) / 2 + SWEEP_INTERVAL_S


def test_stage4_gives_a_request_begun_the_request_timeout_not_the_keep_alive_one(stage4: ServerProcess) -> None:
    with RawClient(stage4.url) as client:
        client.send(get("/plaintext"))
        assert client.read() is not None
        client.send(b"GET /plaintext HTTP/1.1\r\nHo")  # a request begun: its own clock starts
        started = time.monotonic()
        assert client.closed_by_server(STAGE4_REQUEST_S + 2)
        assert time.monotonic() - started > (STAGE4_KEEPALIVE_S + STAGE4_REQUEST_S) / 2


def test_stage4_gzip_round_trip(stage4: ServerProcess) -> None:
    answer = exchange(stage4.url, GZIP_GET)
    assert answer.header("content-encoding") == "gzip"
    assert answer.header("vary") == "Accept-Encoding"
    assert len(answer.body) < 4000
    assert gzip.decompress(answer.body) == PAYLOAD[:4000]
    plain = exchange(stage4.url, get("/bytes/4000"))
    assert plain.header("content-encoding") is None and plain.body == PAYLOAD[:4000]
    small = exchange(stage4.url, b"GET /plaintext HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n")
    assert small.header("content-encoding") is None  # under GZIP_MIN_BYTES
    refused = exchange(stage4.url, b"GET /bytes/4000 HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip;q=0\r\n\r\n")
    assert refused.header("content-encoding") is None


def test_stage4_etag_gives_304(stage4: ServerProcess) -> None:
    first = exchange(stage4.url, get("/plaintext"))
    etag = first.header("etag")
    assert etag is not None and etag.startswith('"')
    again = exchange(stage4.url, f"GET /plaintext HTTP/1.1\r\nHost: t\r\nIf-None-Match: {etag}\r\n\r\n".encode())
    assert (again.status, again.body, again.header("etag")) == (304, b"", etag)
    other = exchange(stage4.url, b'GET /plaintext HTTP/1.1\r\nHost: t\r\nIf-None-Match: "nope"\r\n\r\n')
    assert (other.status, other.body) == (200, b"Hello, World!")
    zipped = exchange(stage4.url, GZIP_GET)
    assert zipped.header("etag") not in (None, exchange(stage4.url, get("/bytes/4000")).header("etag"))


def test_stage4_json_is_never_cached(stage4: ServerProcess) -> None:
    first = exchange(stage4.url, get("/json"))
    assert first.header("etag") is None
    time.sleep(1.05)
    assert exchange(stage4.url, get("/json")).header("date") != first.header("date")


def test_stage4_cached_responses_carry_a_fresh_date(stage4: ServerProcess) -> None:
    first = exchange(stage4.url, get("/plaintext")).header("date")
    time.sleep(1.05)
    assert exchange(stage4.url, get("/plaintext")).header("date") != first


def test_stage4_switches_turn_features_off() -> None:
    proc = start_server(4, "--no-keep-alive", "--no-gzip", "--no-cache")
    try:
        answer = exchange(proc.url, GZIP_GET)
        assert answer.header("connection") == "close"
        assert answer.header("content-encoding") is None and answer.header("etag") is None
        assert answer.body == PAYLOAD[:4000]
    finally:
        proc.stop()


def test_stage1_full_queue_answers_503_at_once() -> None:
    proc = start_server(1, "--threads", "1", "--max-connections", "2")
    busy: list[RawClient] = []
    try:
        for _ in range(2):  # one in service, then one queued
            busy.append(RawClient(proc.url))
            busy[-1].send(get("/delay/1000"))
            time.sleep(0.1)  # lets the worker take the first before the second arrives
        started = time.monotonic()
        refused = exchange(proc.url, get("/plaintext"))
        assert time.monotonic() - started < 0.5  # at once: not after the 1 s the queue needs
        assert (refused.status, refused.header("retry-after")) == (503, "1")
        for client in busy:
            answer = client.read()
            assert answer is not None and answer.status == 200
        assert exchange(proc.url, get("/health")).status == 200
    finally:
        for client in busy:
            client.close()
        proc.stop()


def answered_after(client: RawClient, asked: float) -> float:
    answer = client.read()
    assert answer is not None and (answer.status, answer.body) == (200, b"Hello, World!")
    return time.monotonic() - asked


@pytest.mark.parametrize("stage", [1, 2, 3, 4])
def test_held_answers_come_back_each_after_its_own_time(stage: int) -> None:
    # Stages 3-4 keep held answers in one queue per length with one timer for its oldest: the
    # timer must be armed again for the next, and lengths must not wait on each other.
    proc = start_server(stage)
    clients = [RawClient(proc.url) for _ in range(4)]
    try:
        asked = []
        for client, path in zip(clients, ["/delay/600", "/delay/300", "/delay/300", "/delay/300"], strict=True):
            client.send(get(path))
            asked.append(time.monotonic())
            time.sleep(0.1)
        waited = [answered_after(client, at) for client, at in zip(clients, asked, strict=True)]
        # Each at least its own length (the clocks' granularity aside), none near another's.
        assert 0.595 <= waited[0] < 0.9, waited
        assert all(0.295 <= wait < 0.55 for wait in waited[1:]), waited
    finally:
        for client in clients:
            client.close()
        proc.stop()


@pytest.mark.parametrize("stage", [2, 3, 4])
def test_a_held_answer_is_not_cut_short_by_the_hold_of_a_client_that_left(stage: int) -> None:
    # Stages 3-4 pool protocol objects: the one a client reset mid-hold serves the next client,
    # and the gone client's hold falling due must not send the newcomer's held answer early.
    proc = start_server(stage)
    try:
        gone = socket.create_connection(address(proc.url))
        gone.sendall(get("/delay/700"))  # under the tests' 1 s request timeout, which holds stage 2's
        time.sleep(0.1)
        reset(gone)
        time.sleep(0.2)
        with RawClient(proc.url) as newcomer:
            asked = time.monotonic()
            newcomer.send(get("/delay/700"))
            assert answered_after(newcomer, asked) >= 0.695  # not 0.4 s, when the gone client's fell due
    finally:
        proc.stop()


@pytest.mark.parametrize("stage", [2, 3, 4])
def test_async_stages_answer_503_when_every_connection_is_being_served(stage: int) -> None:
    proc = start_server(stage, "--max-connections", "2")
    held = [RawClient(proc.url) for _ in range(2)]
    try:
        for client in held:
            client.send(get("/delay/500"))  # complete: the server itself holds the answer (< the 1 s timeout)
        time.sleep(0.2)
        refused = exchange(proc.url, get("/plaintext"))
        assert (refused.status, refused.header("retry-after")) == (503, "1")
        for client in held:  # neither was displaced for the newcomer
            answer = client.read()
            assert answer is not None and answer.status == 200
    finally:
        for client in held:
            client.close()
    try:
        time.sleep(0.2)
        assert exchange(proc.url, get("/health")).status == 200
    finally:
        proc.stop()


@pytest.mark.parametrize("stage", [1, 2, 3, 4])
def test_at_the_limit_a_newcomer_displaces_the_oldest_incomplete_request(stage: int) -> None:
    proc = start_server(stage, "--max-connections", "2", "--request-timeout", "30")
    slow = [RawClient(proc.url) for _ in range(2)]
    try:
        for client in slow:
            client.send(b"GET /plaintext HTTP/1.1\r\n")  # incomplete: holds its connection
            time.sleep(0.1)  # the first is the older
        answer = exchange(proc.url, get("/plaintext"))
        assert answer.status == 200
        assert slow[0].closed_by_server(2.0)  # the oldest made room
        assert not slow[1].closed_by_server(0.3)  # the other keeps its place
    finally:
        for client in slow:
            client.close()
        proc.stop()


DRIBBLED = {
    "headers": get("/plaintext"),
    "body": b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 40\r\n\r\n" + b"b" * 40,
}


@pytest.mark.parametrize("part", list(DRIBBLED))
@pytest.mark.parametrize("stage", [1, 2, 3, 4])
def test_slow_client_is_closed_after_the_request_timeout(stage: int, part: str) -> None:
    proc = start_server(stage)  # --request-timeout 1
    raw = DRIBBLED[part]
    head_end = raw.index(b"\r\n\r\n") + 4 if part == "body" else 0
    try:
        with RawClient(proc.url) as client:
            client.send(raw[:head_end])  # for "body": the head at once, then the body byte by byte
            started = time.monotonic()
            closed = False
            for byte in raw[head_end:]:
                try:
                    client.send(bytes([byte]))
                except OSError:
                    closed = True
                    break
                if client.closed_by_server(0.4):
                    closed = True
                    break
            assert closed, "the server waited for the whole dribbled request"
            assert time.monotonic() - started < 3
        assert exchange(proc.url, get("/health")).status == 200
    finally:
        proc.stop()


def test_stage0_is_blocked_by_one_slow_client() -> None:
    """The baseline's defining weakness, kept on purpose: one client at a time."""
    proc = start_server(0)
    try:
        with RawClient(proc.url) as slow:
            slow.send(b"GET /plaintext HTTP/1.1\r\n")  # and nothing more for now
            time.sleep(0.1)
            waiting = RawClient(proc.url, timeout=0.5)
            waiting.send(get("/plaintext"))
            with pytest.raises(TimeoutError):
                waiting.read()
            slow.send(b"Host: t\r\n\r\n")
            assert slow.read() is not None
            waiting.sock.settimeout(2)
            answer = waiting.read()
            assert answer is not None and answer.status == 200
            waiting.close()
    finally:
        proc.stop()


@pytest.mark.parametrize("stage", [0, 1, 2, 3, 4])
def test_sigterm_stops_within_two_seconds_with_a_client_connected(stage: int) -> None:
    proc = start_server(stage)
    sock = socket.create_connection(address(proc.url))
    sock.sendall(b"GET /plaintext HTTP/1.1\r\n")  # a request in progress
    time.sleep(0.1)
    assert proc.process is not None
    started = time.monotonic()
    proc.process.send_signal(signal.SIGTERM)
    code = proc.process.wait(5)
    sock.close()
    assert time.monotonic() - started < SHUTDOWN_GRACE_S + 0.5  # the grace, then the drop
    assert code == 0, proc.output_tail()


def test_stage4_workers_share_the_port_and_stop_together() -> None:
    import psutil

    proc = start_server(4, "--workers", "2")
    try:
        workers = psutil.Process(proc.pid).children()
        assert len(workers) == 2
        served_by = set()
        for _ in range(40):  # SO_REUSEPORT spreads new connections over both workers
            served_by.add(server_stats(proc.url)["pid"])
            assert exchange(proc.url, get("/plaintext")).body == b"Hello, World!"
        assert served_by == {w.pid for w in workers}
        code = proc.stop()
        assert code == 0
        assert not any(w.is_running() for w in workers)
    finally:
        proc.stop()


def test_stage4_stops_when_a_worker_dies() -> None:
    import psutil

    proc = start_server(4, "--workers", "2")
    try:
        psutil.Process(proc.pid).children()[0].kill()
        assert proc.process is not None and proc.process.wait(5) == 1
        assert "exited" in proc.output_tail()
    finally:
        proc.stop()


@pytest.mark.parametrize(("stage", "extra"), [(0, ()), (1, ()), (2, ()), (3, ()), (4, ()), (4, ("--workers", "2"))],
                         ids=["stage0", "stage1", "stage2", "stage3", "stage4", "stage4-workers"])
def test_port_in_use_is_a_clear_error(stage: int, extra: tuple[str, ...]) -> None:
    holder = socket.create_server(("127.0.0.1", 0))
    port = holder.getsockname()[1]
    try:
        done = subprocess.run([sys.executable, "-m", STAGES[stage].module, "--port", str(port), *extra],
                              capture_output=True, text=True, timeout=20, check=False)
    finally:
        holder.close()
    assert done.returncode == 2
    assert "cannot listen" in done.stderr and "in use" in done.stderr
    assert "Traceback" not in done.stderr
