"""lab.run.stability in memory: the server's per-second series, drift, and the soak verdict."""

from __future__ import annotations

from typing import Any

import pytest

from lab.model.record import Drift
from lab.processes.sampler import Sample
from lab.run.stability import SOAK_MAX_RSS_GROWTH, SOAK_RSS_GRANULE_BYTES, attach_server_seconds, drift, soak_verdict


def test_each_second_gets_the_server_s_state_at_its_end() -> None:
    samples = [Sample(100.0 + t / 4, cpu_s=0.0, system_s=0.0, rss=1000 + int(t), fds=10 + int(t) // 4, idle_s=0.0)
               for t in range(0, 20)]  # every 0.25 s from wall clock 100.0 to 104.75
    held = [(100.5, 3), (101.5, 7), (103.9, 2)]
    seconds: list[dict[str, Any]] = [{"second": s} for s in range(6)]
    attach_server_seconds(seconds, samples, held, origin=99.5)
    # second 0 ends at 100.5: the sample at 100.5 (t=2); second 5 ends at 105.5: the last sample
    assert [s["server_rss_bytes"] for s in seconds] == [1002, 1006, 1010, 1014, 1018, 1019]
    assert [s["server_fds"] for s in seconds] == [10, 11, 12, 13, 14, 14]
    assert [s["server_open_connections"] for s in seconds] == [3, 7, 7, 7, 2, 2]
    early: list[dict[str, Any]] = [{"second": 0}]
    attach_server_seconds(early, samples, held, origin=90.0)  # before any sample
    assert early == [{"second": 0, "server_rss_bytes": None, "server_fds": None, "server_open_connections": None}]


def series(rss: list[int], fds: list[int], p99: list[float], warmup: int = 2) -> list[dict[str, Any]]:
    return [{"second": i, "phase": "warmup" if i < warmup else "measure", "server_rss_bytes": r, "server_fds": f,
             "latency_p99_us": p} for i, (r, f, p) in enumerate(zip(rss, fds, p99, strict=True))]


def test_drift_compares_the_first_and_last_tenth_after_the_warm_up() -> None:
    # 2 warm-up seconds (ignored: memory climbs while warming) and 20 measured: tenths of 2 seconds.
    rss = [10, 50] + [100, 100] + [101] * 16 + [110, 120]
    fds = [1, 5] + [20, 22] + [25] * 16 + [30, 30]
    p99 = [9e9, 9e9] + [100.0, 300.0] + [50.0] * 16 + [400.0, 400.0]
    assert drift(series(rss, fds, p99)) == Drift(server_rss_growth=pytest.approx(0.15), server_rss_growth_bytes=15,
                                                 server_fds_growth=9, latency_p99_drift=pytest.approx(1.0))
    assert drift(series([1, 2], [1, 2], [1.0, 2.0])) == Drift(None, None, None, None)  # nothing measured


def verdict(**row: Any) -> str:
    return soak_verdict({"error": None, "failures": 0, "server_rss_growth": 0.001,
                         "server_rss_growth_bytes": 30_000, "server_fds_idle": 9,
                         "server_fds_after": 9, **row})


def test_a_soak_passes_only_without_errors_growth_or_left_open_descriptors() -> None:
    assert verdict() == "pass"
    assert verdict(server_fds_after=8) == "pass"  # fewer than idle: fine
    # A memory leak is growth past both limits: a share of the start, and more than the allocator's step.
    over = {"server_rss_growth_bytes": SOAK_RSS_GRANULE_BYTES + 1}
    assert verdict(server_rss_growth=SOAK_MAX_RSS_GROWTH, **over) == (
        "fail: RSS grew 2.0% (2.0 MiB) after the warm-up (limit 2% and 2 MiB)")
    assert verdict(server_rss_growth=0.037, server_rss_growth_bytes=SOAK_RSS_GRANULE_BYTES) == "pass"  # one step
    assert verdict(server_rss_growth=SOAK_MAX_RSS_GROWTH - 1e-9, **over) == "pass"
    assert verdict(failures=3, server_fds_after=12) == (
        "fail: 3 failed requests of the real load; 3 descriptors still open after the run (12 vs 9 idle)")
    assert verdict(server_rss_growth=None, server_fds_after=None) == (
        "fail: RSS growth not measured; descriptors not measured")
    assert verdict(server_rss_growth_bytes=None).startswith("fail: RSS growth not measured")
    assert verdict(error="server died") == "fail: server died"
