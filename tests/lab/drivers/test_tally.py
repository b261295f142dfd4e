"""What locust's load processes tallied, merged into one run's result (lab.drivers.locust.tally), in memory."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from lab.drivers.base import RunFailed
from lab.drivers.locust.driver import check_client
from lab.drivers.locust.recorder import Recorder
from lab.drivers.locust.tally import Second, Tally, merge
from lab.model import hdr
from lab.model.scenario import Load, Scenario
from lab.model.window import Window

SCENARIO = Scenario(id="t", description="", load=Load(users=2, spawn_rate=2, duration=10.0, warmup=0.0),
                    requests=(), default=False, source="", content_hash="")


def tally(latency_ms: float, count: int, error: str | None = None, cpu_busy: float | None = None) -> Tally:
    recorder = Recorder(warmup=0.0, duration=10.0)
    recorder.start(100.0)
    for i in range(count):
        recorder.record(100.0 + i * 9.0 / count, latency_ms, 10, error)
    return replace(recorder.result(), cpu_busy=cpu_busy)


def test_merged_counts_and_percentiles_are_those_of_every_process_together() -> None:
    fast, slow, failing = tally(0.1, 100, cpu_busy=0.5), tally(1.0, 300, cpu_busy=0.97), tally(1.0, 7, "boom")
    also_failing = tally(1.0, 2, "boom")
    merged = merge([fast, slow, failing, also_failing], SCENARIO, [])
    assert (merged.requests, merged.failures, merged.response_bytes) == (400, 9, 4000)
    assert merged.errors == {"boom": 9} and merged.processes == 4
    assert merged.busiest_process == 0.97
    # 100 at 100 µs and 300 at 1,000 µs: the median is in the slow process's, the minimum the fast one's.
    assert merged.latency.latency_p50_us == pytest.approx(1000, rel=1e-2)
    assert merged.latency.latency_min_us == pytest.approx(100, rel=1e-2)
    assert merged.latency.latency_mean_us == pytest.approx((100 * 100 + 300 * 1000) / 400, rel=1e-2)
    assert hdr.decode(merged.histogram or "").get_total_count() == 400
    assert sum(s["requests"] for s in merged.seconds) == 409


def second(n: int, requests: int, failures: int = 0, p50: float | None = None) -> Second:
    return Second(n, requests, failures, p50, None if p50 is None else 2 * p50, None if p50 is None else 3 * p50)


def row(n: int, requests: int, failures: int = 0, p50: float | None = None, *, phase: str) -> dict[str, object]:
    return {"second": n, "requests": requests, "failures": failures, "latency_p50_us": p50,
            "latency_p99_us": None if p50 is None else 2 * p50, "latency_max_us": None if p50 is None else 3 * p50,
            "phase": phase}


def test_per_second_series_line_up_by_wall_clock_and_keep_the_worst_percentile() -> None:
    scenario = Scenario(id="t", description="", load=Load(users=2, spawn_rate=2, duration=2.0, warmup=1.0),
                        requests=(), default=False, source="", content_hash="")
    early = Tally(started=100.0, window=Window(101.0, 103.0), requests=0, failures=0, retried=0, response_bytes=0,
                  errors={}, histogram=hdr.encode(hdr.new()), corrected=None,
                  seconds=(second(0, 5, 1, 100.0), second(1, 6), second(2, 7, 1, 80.0)))
    late = replace(early, started=102.0, window=Window(103.0, 105.0),
                   seconds=(second(0, 10, 1, 50.0), second(1, 20, 0, 10.0)))
    merged = merge([early, late], scenario, samples=["s"])
    assert merged.seconds == [
        row(0, 5, 1, 100.0, phase="warmup"),
        row(1, 6, phase="measure"),
        row(2, 17, 2, 80.0, phase="measure"),  # counts summed, the worse process's percentiles
        row(3, 20, 0, 10.0, phase="after"),
    ]
    assert (merged.window, merged.generator_samples) == (Window(101.0, 105.0), ["s"])
    assert merged.busiest_process is None  # no process knew its CPU share
    assert merged.corrected.latency_corrected_p50_us is None  # closed loop: nothing to correct


def test_open_loop_tallies_merge_their_corrected_histograms() -> None:
    corrected = []
    for value in (1000, 3000):
        histogram = hdr.new()
        hdr.record(histogram, value, 10)
        corrected.append(replace(tally(0.5, 10), corrected=hdr.encode(histogram)))
    latency = merge(corrected, SCENARIO, []).corrected
    assert latency.latency_corrected_mean_us == pytest.approx(2000, rel=1e-2)
    assert latency.latency_corrected_p50_us == pytest.approx(1000, rel=1e-2)
    assert latency.latency_corrected_p99_us == pytest.approx(3000, rel=1e-2)
    assert latency.latency_corrected_p999_us == pytest.approx(3000, rel=1e-2)


def test_a_tally_crosses_processes_whole_and_moves_onto_another_clock(tmp_path: Path) -> None:
    recorder = Recorder(warmup=1.0, duration=10.0, interval_us=1000.0)
    recorder.start(100.0)
    recorder.record(101.5, 2.0, 10, None)
    recorder.record(102.5, 2.0, 0, "boom")
    recorder.user_classes = ["RawScenarioUser"]
    sent = recorder.result()
    path = tmp_path / "tally.json"
    path.write_text(sent.to_json())
    assert Tally.read(path) == sent == Tally.from_dict(sent.as_dict())
    assert sent.window == Window(101.0, 111.0) and sent.user_classes == ("RawScenarioUser",)
    moved = sent.moved(-0.25)
    assert (moved.started, moved.window) == (99.75, Window(100.75, 110.75))
    assert replace(moved, started=sent.started, window=sent.window) == sent  # nothing else moves


def _ran(*user_classes: str) -> Tally:
    """A tally of a process that ran `user_classes` (and recorded nothing else)."""
    return Tally(started=0.0, window=Window(0.0, 0.0), requests=0, failures=0, retried=0, response_bytes=0,
                 errors={}, histogram="", corrected=None, seconds=(), user_classes=user_classes)


def test_a_run_of_another_client_is_refused() -> None:
    check_client([_ran("RawScenarioUser")], "raw")
    with pytest.raises(RunFailed, match=r"asked for client 'raw' .* but locust ran FastScenarioUser"):
        check_client([_ran("FastScenarioUser")], "raw")
    with pytest.raises(RunFailed, match="but locust ran FastScenarioUser, RawScenarioUser"):
        check_client([_ran("RawScenarioUser"), _ran("FastScenarioUser")], "raw")


def test_two_processes_seconds_keep_the_worse_percentile_either_way_and_their_retries_add_up() -> None:
    scenario = Scenario(id="t", description="", load=Load(users=2, spawn_rate=2, duration=2.0, warmup=0.0),
                        requests=(), default=False, source="", content_hash="")
    quiet = Tally(started=100.0, window=Window(100.0, 102.0), requests=3, failures=0, retried=1, response_bytes=0,
                  errors={}, histogram=hdr.encode(hdr.new()), corrected=None,
                  seconds=(second(0, 1), second(1, 1, 0, 10.0)))
    busy = replace(quiet, retried=2, seconds=(second(0, 2, 0, 30.0), second(1, 2, 0, 15.0)))
    merged = merge([quiet, busy], scenario, [])
    assert [(s["latency_p50_us"], s["latency_max_us"]) for s in merged.seconds] == [(30.0, 90.0), (15.0, 45.0)]
    merged = merge([busy, quiet], scenario, [])  # the worse from either side
    assert [s["latency_p50_us"] for s in merged.seconds] == [30.0, 15.0]
    assert merged.retried == 3
