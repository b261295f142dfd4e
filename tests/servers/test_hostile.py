"""Hostile clients against every stage: the server answers or closes cleanly, and stays up."""

from __future__ import annotations

import contextlib
import socket
import time

import h11
import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab.processes.spawn import ServerProcess
from tests.client import RawClient, address, exchange, get, reset, server_stats, wait_until

# Every test here starts servers or the lab as processes: the slow tier (pytest -m system).
pytestmark = pytest.mark.system

ALL = [0, 1, 2, 3, 4]


def healthy(server: ServerProcess) -> bool:
    return exchange(server.url, get("/health")).status == 200


def stats(server: ServerProcess) -> dict[str, object]:
    return server_stats(server.url)


def test_garbage_after_a_valid_request(server: ServerProcess) -> None:
    with RawClient(server.url) as client:
        client.send(get("/plaintext") + b"\x00\x01 garbage \r\n\r\n")
        first = client.read()
        assert first is not None and first.body == b"Hello, World!"
        second = client.read()
        if first.header("connection") == "close":  # stages 0-3: the connection ends with its answer
            assert second is None
        else:
            assert second is not None and second.status == 400 and second.header("connection") == "close"
            assert client.closed_by_server(2)
    assert healthy(server)


def test_reset_in_the_middle_of_a_request(server: ServerProcess) -> None:
    before = stats(server)["open_connections"]
    sock = socket.create_connection(address(server.url))
    sock.sendall(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\npartial")
    time.sleep(0.05)
    reset(sock)
    assert healthy(server)
    # the reset connection is gone from the gauge (the /stats request itself counts as one)
    assert wait_until(lambda: stats(server)["open_connections"] <= before, 3)


def test_reset_in_the_middle_of_a_response(server: ServerProcess) -> None:
    for _ in range(3):
        sock = socket.create_connection(address(server.url))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(get("/bytes/1000000"))
        time.sleep(0.05)
        reset(sock)
    assert healthy(server)


def test_half_closed_client_still_gets_its_answer(server: ServerProcess) -> None:
    with RawClient(server.url) as client:
        client.send(get("/plaintext"))
        client.sock.shutdown(socket.SHUT_WR)
        answer = client.read()
        assert answer is not None and answer.body == b"Hello, World!"
        assert client.closed_by_server(2)
    assert healthy(server)


def test_stage4_answers_a_half_closed_pipeline_in_full() -> None:
    from tests.conftest import start_server

    proc = start_server(4, "--no-cache")
    try:
        with RawClient(proc.url) as client:
            client.send(get("/bytes/300000") * 3 + get("/delay/100") + get("/bytes/300000"))  # > one reply budget
            client.sock.shutdown(socket.SHUT_WR)
            sizes = [len(a.body) for a in (client.read() for _ in range(5)) if a is not None]
            assert sizes == [300000] * 3 + [13, 300000]
            assert client.closed_by_server(2)
    finally:
        proc.stop()


@pytest.mark.parametrize(("stage", "extra"), [(1, ()), (2, ()), (3, ()), (4, ()), (4, ("--no-cache",))],
                         ids=["stage1", "stage2", "stage3", "stage4", "stage4-no-cache"])
def test_a_client_that_never_reads_cannot_grow_server_memory(stage: int, extra: tuple[str, ...]) -> None:
    """Without the cache every answer is a fresh 1 MiB: only the reply budget bounds them."""
    from tests.conftest import start_server

    proc = start_server(stage, *extra)  # --request-timeout 1
    try:
        server = psutil.Process(proc.pid)
        exchange(proc.url, get("/bytes/1000000"))  # warm: payload and cache in place
        before = server.memory_info().rss
        sock = socket.create_connection(address(proc.url))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        # 2,000 pipelined requests for 1 MiB each: 2 GiB of answers asked for in 80 KB.
        sock.sendall(get("/bytes/1000000") * 2000)
        peak = before
        for _ in range(20):
            time.sleep(0.1)
            peak = max(peak, server.memory_info().rss)
        assert peak - before < 32 * 2**20, f"server grew by {(peak - before) / 2**20:.0f} MiB"
        assert healthy(proc)
        # The stuck client, still not reading, is dropped after its time (--request-timeout 1):
        # only the /stats request's own connection stays open, and the socket ends (EOF after
        # what was already sent, or a reset) instead of timing out.
        assert wait_until(lambda: server_stats(proc.url)["open_connections"] == 1, 10)
        sock.settimeout(5)
        with contextlib.suppress(ConnectionResetError):
            while sock.recv(1 << 20):
                pass
        sock.close()
    finally:
        proc.stop()


@pytest.mark.parametrize("stage", [1, 2, 3, 4])
def test_a_burst_of_2000_connections(stage: int) -> None:
    from tests.conftest import start_server

    proc = start_server(stage)
    socks = []
    try:
        for _ in range(2000):
            sock = socket.socket()
            sock.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                sock.connect(address(proc.url))
            socks.append(sock)
        time.sleep(0.5)
    finally:
        for sock in socks:
            sock.close()
    try:
        started = time.monotonic()
        assert healthy(proc)
        after = time.monotonic() - started
        # Relative to an answer on the same machine now: a server still digesting the burst
        # (2,000 accepts, or worse, 2,000 threads) would take far longer than its usual answer.
        started = time.monotonic()
        assert healthy(proc)
        assert after < max(20 * (time.monotonic() - started), 0.5)
    finally:
        proc.stop()


def _parses_or_closes(raw: bytes, url: str) -> None:
    """Send `raw`; whatever comes back must be valid HTTP/1.1 to h11, or a clean close."""
    with RawClient(url, timeout=3) as client:
        client.send(raw)
        client.sock.shutdown(socket.SHUT_WR)
        try:
            while client.read() is not None:
                pass
        except ConnectionResetError:
            pass  # a server refusing mid-stream may reset; that is a clean end too
        except h11.RemoteProtocolError as error:
            raise AssertionError(f"unparseable answer to {raw!r}: {error}") from None


SEEDS = [get("/plaintext"), b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello",
         b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
         get("/json") + get("/bytes/10")]


@st.composite
def mutated_requests(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["replace", "insert", "delete"]))
        byte = draw(st.sampled_from(b" \t\r\n:;,/0aZ\x00\x7f\xff-"))
        if action == "replace" and position < len(data):
            data[position] = byte
        elif action == "insert":
            data.insert(position, byte)
        elif position < len(data):
            del data[position]
    return bytes(data)


FUZZ_EXAMPLES = 60


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=mutated_requests())
def test_fuzzed_requests(server: ServerProcess, raw: bytes) -> None:
    _parses_or_closes(raw, server.url)
    assert healthy(server)
