"""The raw client's successes reach locust's statistics in batches, in memory: what locust shows
is what one request event per request would have shown."""

from __future__ import annotations

import os
import random

import pytest

# locust monkey-patches the process it is imported into (threads become greenlets), which would
# change every later test in this one: import it as a library, unpatched, and say so only here.
os.environ["LOCUST_SKIP_MONKEY_PATCH"] = "1"
try:
    from locust.stats import RequestStats, StatsEntry

    from lab.drivers.locust.stats_batch import FLUSH_S, StatsBatch
finally:
    del os.environ["LOCUST_SKIP_MONKEY_PATCH"]  # the locust processes tests start must patch theirs

START = 1_700_000_000.0  # a wall-clock second


def _compare(one: StatsEntry, batched: StatsEntry) -> None:
    assert batched.num_requests == one.num_requests
    assert batched.num_failures == one.num_failures == 0
    assert batched.total_content_length == one.total_content_length
    assert dict(batched.response_times) == dict(one.response_times)
    assert dict(batched.num_reqs_per_sec) == dict(one.num_reqs_per_sec)
    assert batched.median_response_time == one.median_response_time
    assert batched.get_response_time_percentile(0.99) == one.get_response_time_percentile(0.99)
    assert batched.min_response_time == pytest.approx(one.min_response_time, abs=1e-3)
    assert batched.max_response_time == pytest.approx(one.max_response_time, abs=1e-3)
    assert batched.avg_response_time == pytest.approx(one.avg_response_time, abs=1e-3)


def test_batches_give_locust_the_statistics_of_one_event_per_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two request names, 3,000 successes over three seconds with response times from 40 µs to
    1.2 s (every rounding bucket locust has), handed over in polls of up to 40."""
    draw = random.Random(7)
    clock = {"now": START}
    monkeypatch.setattr("locust.stats.time.time", lambda: clock["now"])
    one, batched = RequestStats(), RequestStats()
    batch = StatsBatch(batched)
    now = START
    while now < START + 3.0:
        now += draw.uniform(0.0, 0.004)
        clock["now"] = now
        for method, name in (("GET", "/plaintext"), ("POST", "/echo")):
            micros = [int(draw.lognormvariate(7.0, 2.0)) % 1_200_000 for _ in range(draw.randrange(1, 40))]
            for value in micros:
                one.log_request(method, name, value / 1000.0, 13)
            batch.add(method, name, micros, 13 * len(micros), now)
    batch.flush()
    assert set(batched.entries) == set(one.entries) == {("/plaintext", "GET"), ("/echo", "POST")}
    for key in one.entries:
        _compare(one.entries[key], batched.entries[key])
    _compare(one.total, batched.total)
    assert len(one.total.num_reqs_per_sec) >= 3  # the seconds were kept apart


def test_successes_wait_at_most_a_flush_interval() -> None:
    stats = RequestStats()
    batch = StatsBatch(stats)
    batch.add("GET", "/", [100], 13, START)  # the first add flushes nothing yet and starts the interval
    batch.add("GET", "/", [200], 13, START + FLUSH_S / 2)
    assert stats.total.num_requests == 0
    batch.add("GET", "/", [300], 13, START + FLUSH_S * 1.5)
    assert stats.total.num_requests == 2  # the two before the interval ended; the third waits
    batch.flush()
    assert stats.total.num_requests == 3


def test_a_batch_keeps_the_exact_minimum_maximum_and_its_times(monkeypatch: pytest.MonkeyPatch) -> None:
    """The random test above draws 0 µs among thousands, which hides a wrong minimum: here every
    figure is known, and the entry's first and last request times are locust's own."""
    monkeypatch.setattr("locust.stats.time.time", lambda: START + 5.0)  # flushing, later than every request
    stats = RequestStats()
    batch = StatsBatch(stats)
    batch.add("GET", "/", [250, 1_200], 26, START + 0.25)
    batch.add("GET", "/", [700], 13, START + 0.5)
    batch.flush()
    entry = stats.entries[("/", "GET")]
    assert (entry.min_response_time, entry.max_response_time) == (0.25, 1.2)
    assert entry.total_response_time == pytest.approx(0.25 + 1.2 + 0.7)
    assert (entry.start_time, entry.last_request_timestamp) == (START + 0.25, START + 0.5)
    assert (stats.total.start_time, stats.total.last_request_timestamp) == (START + 0.25, START + 0.5)


def test_a_flush_interval_is_flush_s_exactly() -> None:
    stats = RequestStats()
    batch = StatsBatch(stats)
    batch.add("GET", "/", [100], 13, 0.0)  # a clock at its epoch: a flush interval measured from 0
    batch.add("GET", "/", [100], 13, FLUSH_S)
    assert stats.total.num_requests == 1
