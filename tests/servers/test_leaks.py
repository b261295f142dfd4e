"""The roadmap's "no memory leak": under sustained load, memory and descriptors stay flat."""

from __future__ import annotations

import socket
import threading
import time

import psutil
import pytest

from tests.client import RawClient, address, get, reset, server_stats
from tests.conftest import start_server

# Every test here starts servers or the lab as processes: the slow tier (pytest -m system).
pytestmark = pytest.mark.system

REQUESTS = (get("/plaintext"), get("/json"), get("/bytes/4096"),
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 512\r\n\r\n" + b"e" * 512)
CLIENTS = 4
WARMUP_ROUNDS = 750  # per client: 3,000 requests that let pools, caches and arenas reach size
MEASURED_ROUNDS = 3000  # per client: 12,000 requests that must not grow anything
# RSS may move by this much after warm-up (the roadmap's leak criterion; pymalloc breathes a little).
MAX_RSS_GROWTH = 0.05


def _one_per_connection(url: str, rounds: int) -> None:
    for i in range(rounds):
        with RawClient(url) as client:
            client.send(REQUESTS[i % len(REQUESTS)])
            answer = client.read()
            assert answer is not None and answer.status == 200


def _keep_alive(url: str, rounds: int) -> None:
    with RawClient(url) as client:
        for start in range(0, rounds, 16):
            batch = [REQUESTS[i % len(REQUESTS)] for i in range(start, min(start + 16, rounds))]
            client.send(b"".join(batch))  # pipelined
            for _ in batch:
                answer = client.read()
                assert answer is not None and answer.status == 200


def _load(url: str, rounds: int, keep_alive: bool) -> None:
    errors: list[BaseException] = []

    def client() -> None:
        try:
            (_keep_alive if keep_alive else _one_per_connection)(url, rounds)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors, errors[0]


def _settled(proc: psutil.Process, url: str) -> tuple[int, int]:
    """RSS and open descriptors once the server holds no client connection (but this one)."""
    deadline = time.monotonic() + 5
    while server_stats(url)["open_connections"] > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.2)
    return proc.memory_info().rss, proc.num_fds()


@pytest.mark.parametrize("stage", [2, 3, 4])
def test_memory_and_descriptors_stay_flat_under_load(stage: int) -> None:
    server = start_server(stage)
    try:
        proc = psutil.Process(server.pid)
        keep_alive = stage == 4
        _load(server.url, WARMUP_ROUNDS, keep_alive)
        rss_before, fds_before = _settled(proc, server.url)
        _load(server.url, MEASURED_ROUNDS, keep_alive)
        rss_after, fds_after = _settled(proc, server.url)
        growth = rss_after / rss_before - 1
        print(f"stage {stage}: RSS {rss_before / 2**20:.1f} → {rss_after / 2**20:.1f} MiB ({growth:+.1%}), "
              f"fds {fds_before} → {fds_after}")
        assert growth < MAX_RSS_GROWTH
        assert fds_after == fds_before
    finally:
        server.stop()


def test_descriptors_return_after_clients_vanish() -> None:
    """Connections dropped without a goodbye (RST) leave no descriptor behind (stage 4)."""
    server = start_server(4)
    try:
        proc = psutil.Process(server.pid)
        _, fds_before = _settled(proc, server.url)
        for _ in range(200):
            sock = socket.create_connection(address(server.url))
            sock.sendall(get("/plaintext"))
            reset(sock)
        _, fds_after = _settled(proc, server.url)
        assert fds_after == fds_before
    finally:
        server.stop()
