"""A run's numbers from what the driver counted and the samples show, in memory: the row's CPU
figures, saturation verdict and memory per held connection."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lab.drivers.base import LoadResult
from lab.model import record
from lab.model.bottleneck import SATURATED_BUSY
from lab.model.record import CorrectedLatency, Latency, Limit
from lab.model.scenario import Load, Scenario
from lab.model.window import Window
from lab.processes.sampler import Sample
from lab.run.measure import MIN_CONNECTIONS_FOR_PER_CONNECTION, Pinning, connections, limit, measured

# A closed loop of 100 users (the server's figures here are 2.0 CPU seconds in 10 on one CPU).
SCENARIO = Scenario("s", "", Load(users=100, spawn_rate=100, duration=10.0, warmup=1.0), (), False, "s.toml", "h")


def result(busiest_process: float | None, generator_cpu_s: float) -> LoadResult:
    samples = [Sample(at, cpu_s=generator_cpu_s * (at - 100.0) / 10.0, system_s=0.0, rss=0, fds=0,
                      idle_s=0.5 * (at - 100.0)) for at in (99.5, 100.0, 105.0, 110.0, 110.5)]
    return LoadResult(requests=50_000, failures=0, response_bytes=0, errors={}, window=Window(100.0, 110.0),
                      latency=Latency(), corrected=CorrectedLatency(), generator_samples=samples,
                      processes=2, busiest_process=busiest_process)


SERVER = [Sample(at, cpu_s=2.0 * (at - 100.0) / 10.0, system_s=(at - 100.0) / 10.0, rss=1 << 20, fds=9,
                 idle_s=0.05 * (at - 100.0))
          for at in (99.5, 100.0, 105.0, 110.0, 110.5)]


@pytest.mark.parametrize(("generator_cpu_s", "busiest", "bottleneck"), [
    (19.0, None, "both"),  # its two CPUs 95% busy; the server's CPU 5% idle: both full
    (2 * SATURATED_BUSY * 10.0, None, "both"),  # exactly at the line
    (17.0, None, "server"),  # 85%
    (8.0, 0.95, "both"),  # one locust process saturated, though the CPUs were not
    (8.0, 0.5, "server"),
])
def test_the_verdict_follows_the_cpu_shares_the_row_carries(
        generator_cpu_s: float, busiest: float | None, bottleneck: str) -> None:
    pinning = Pinning(frozenset({0}), frozenset({1, 2}))
    throughput, server, generator = measured(result(busiest, generator_cpu_s), SERVER, pinning)
    row = record.row(throughput, server, generator, limit(SCENARIO, throughput, server, generator, None))
    assert row["generator_cpu_busy"] == pytest.approx(generator_cpu_s / 10.0 / 2)
    assert row["generator_busiest_process_busy"] == busiest
    assert row["server_cpus_idle"] == pytest.approx(0.05)  # SERVER's CPU: 0.5 s idle of 10
    assert row["generator_cpus_idle"] == pytest.approx(0.25)  # 5 s of 20
    assert row["bottleneck"] == bottleneck


def test_neither_side_full_is_the_users_or_the_server_s_design() -> None:
    pinning = Pinning(frozenset({0}), frozenset({1, 2}))
    roomy = [replace(sample, idle_s=0.5 * (sample.at - 100.0)) for sample in SERVER]
    throughput, server, generator = measured(result(0.5, 8.0), roomy, pinning)
    assert limit(SCENARIO, throughput, server, generator, None).bottleneck == "users"
    assert limit(SCENARIO, throughput, server, generator, 1) == Limit(1, "server")  # one request at a time
    assert limit(SCENARIO, throughput, server, generator, 100).bottleneck == "users"  # as many as the users


def test_server_cpu_per_request_and_rate_come_from_the_window() -> None:
    row = record.row(*measured(result(None, 5.0), SERVER, Pinning(frozenset({0}), frozenset({1}))))
    assert row["qps"] == 5000.0
    assert row["server_cpu_s"] == pytest.approx(2.0)
    assert row["server_cpu_us_per_request"] == pytest.approx(40.0)
    assert row["projected_qps_one_core"] == pytest.approx(25_000)
    assert row["server_cpu_busy"] == pytest.approx(0.2)
    assert row["server_system_cpu_share"] == pytest.approx(0.5)
    assert (row["server_rss_peak_bytes"], row["server_fds_peak"]) == (1 << 20, 9)


def holding(held_fds: int) -> list[Sample]:
    """A server whose RSS grows by 3,000 bytes for each of the descriptors it opens under the load."""
    return [Sample(100.0 + at, cpu_s=0.0, system_s=0.0, rss=(20 << 20) + 3_000 * count, fds=12 + count,
                   idle_s=0.0)
            for at, count in ((-0.5, 0), (0.0, held_fds // 2), (5.0, held_fds), (10.0, held_fds // 2))]


def test_memory_per_connection_is_per_descriptor_the_server_held_whatever_its_stats_said() -> None:
    server = holding(1_000)
    _, cost, _ = measured(result(None, 5.0), server, Pinning(frozenset({0}), frozenset({1})))
    # Its /stats read 860 at best: a full server answers them only when a place is free.
    row = record.row(connections(result(None, 5.0), server, [(101.0, 860), (103.0, 700)], cost))
    assert (row["server_connections_peak"], row["server_fds_held_peak"]) == (860, 1_000)
    assert row["server_rss_idle_bytes"] == 20 << 20
    assert row["server_rss_per_connection_bytes"] == pytest.approx(3_000.0)


def test_too_few_held_connections_give_no_figure_per_connection() -> None:
    few = MIN_CONNECTIONS_FOR_PER_CONNECTION
    for held, per in ((few, 3_000.0), (few - 1, None)):
        server = holding(held)
        _, cost, _ = measured(result(None, 5.0), server, Pinning(frozenset({0}), frozenset({1})))
        row = record.row(connections(result(None, 5.0), server, [], cost))
        assert (row["server_fds_held_peak"], row["server_connections_peak"]) == (held, None)
        assert row["server_rss_per_connection_bytes"] == (pytest.approx(per) if per else None)
