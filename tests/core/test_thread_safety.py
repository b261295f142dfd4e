"""The roadmap's quality criterion for stage 1: counters exact under concurrent threads.

In memory, with the interpreter asked to switch threads every microsecond; and end to end, many
client threads against stage 1's pool. (CPython 3.11 switches threads only between bytecodes
that check for it, so an unlocked `+=` happens not to lose updates here; the lock is what keeps
the counts exact where it would: free-threaded builds, other interpreters.)"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from servers.core.stats import ThreadSafeStats
from tests.cases import BAD_REQUESTS
from tests.client import exchange, get, server_stats
from tests.conftest import start_server

THREADS, ROUNDS = 8, 5_000


@pytest.fixture
def eager_switching() -> Iterator[None]:
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


def hammer(stats: ThreadSafeStats) -> None:
    def work() -> None:
        for _ in range(ROUNDS):
            stats.connection_opened()
            stats.answered(200)
            stats.protocol_error(400)
            stats.connection_closed()

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_thread_safe_stats_count_every_event(eager_switching: None) -> None:
    stats = ThreadSafeStats()
    hammer(stats)
    total = THREADS * ROUNDS
    assert stats.snapshot() == {"requests": 2 * total, "by_status": {"200": total, "400": total},
                                "protocol_errors": total, "connections": total, "open_connections": 0,
                                "peak_open_connections": stats.snapshot()["peak_open_connections"],
                                "concurrency": None}


@pytest.mark.system
def test_stage1_stats_are_exact_after_many_concurrent_clients() -> None:
    proc = start_server(1, "--threads", "8")
    try:
        before = server_stats(proc.url)  # its own request is counted after the snapshot
        bad = BAD_REQUESTS["invalid method characters"][0]
        plan = [get("/plaintext")] * 600 + [get("/nope")] * 200 + [bad] * 200

        with ThreadPoolExecutor(max_workers=32) as pool:
            statuses = list(pool.map(lambda raw: exchange(proc.url, raw).status, plan))
        assert sorted(set(statuses)) == [200, 400, 404]
        after = server_stats(proc.url)
        asked = len(plan) + 1  # and the first /stats
        assert after["requests"] - before["requests"] == asked
        assert after["connections"] - before["connections"] == asked
        assert after["protocol_errors"] - before["protocol_errors"] == 200
        changes = {code: n - before["by_status"].get(code, 0) for code, n in after["by_status"].items()}
        assert changes == {"200": 601, "400": 200, "404": 200}
        assert after["open_connections"] == 1  # the /stats request's own
    finally:
        proc.stop()
