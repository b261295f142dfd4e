"""The harness's pure pieces: the per-process recorder, CPU interpolation, the median interval."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from lab import hdr
from lab.analysis.roadmap import roadmap_stage, roadmap_table
from lab.analysis.summary import median_interval
from lab.drivers.locust.recorder import Recorder
from lab.processes.sampler import Sample, cpu_between
from lab.run.plan import saturation_hint


def test_recorder_counts_only_the_measured_window() -> None:
    recorder = Recorder(warmup=2.0, duration=3.0)
    recorder.start(100.0)
    recorder.record(101.0, 5.0, 10, None)  # warm-up: time series only
    recorder.record(102.5, 0.25, 10, None)  # measured, 250 µs
    recorder.record(104.9, 0.75, 20, None)  # measured, 750 µs
    recorder.record(103.0, 1.0, 0, "ConnectionResetError: boom")  # measured failure
    recorder.record(105.0, 1.0, 10, None)  # window closed
    result = recorder.result()
    assert (result["requests"], result["failures"], result["response_bytes"]) == (2, 1, 30)
    assert result["errors"] == {"ConnectionResetError: boom": 1}
    histogram = hdr.decode(result["histogram"])
    assert histogram.get_total_count() == 2
    summary = hdr.summarize(histogram)
    assert summary["latency_min_us"] == 250 and summary["latency_max_us"] == pytest.approx(750, rel=1e-3)
    assert [s["requests"] for s in result["seconds"]] == [1, 1, 1, 1, 1]


def test_recorder_keeps_microseconds_below_a_millisecond() -> None:
    recorder = Recorder(warmup=0.0, duration=10.0)
    recorder.start(0.0)
    for ms in (0.123, 0.456, 0.789):
        recorder.record(1.0, ms, 1, None)
    summary = hdr.summarize(hdr.decode(recorder.result()["histogram"]))
    assert summary["latency_p50_us"] == 456


def test_cpu_between_interpolates() -> None:
    samples = [Sample(float(t), cpu_s=t * 0.5, system_s=t * 0.125, rss=0, fds=0) for t in range(10)]
    assert cpu_between(samples, 2.5, 6.5) == pytest.approx(2.0)
    assert cpu_between(samples, 2.5, 6.5, "system_s") == pytest.approx(0.5)
    assert cpu_between(samples, -5.0, 6.0) is None  # window starts before the first sample


def test_median_interval() -> None:
    assert median_interval([5.0]) == (5.0, 5.0, 5.0)
    assert median_interval([3.0, 1.0, 2.0]) == (2.0, 1.0, 3.0)
    values = [float(v) for v in range(1, 21)]  # n = 20: the order statistics 6 and 15
    assert median_interval(values) == (10.5, 6.0, 15.0)


def test_open_loop_recorder_corrects_for_coordinated_omission() -> None:
    recorder = Recorder(warmup=0.0, duration=10.0, interval_us=1000.0)
    recorder.start(0.0)
    recorder.record(1.0, 10.0, 1, None)  # 10 ms late for a client meant to send every 1 ms
    result = recorder.result()
    assert hdr.decode(result["histogram"]).get_total_count() == 1
    corrected = hdr.decode(result["corrected"])
    assert corrected.get_total_count() == 10  # 10 ms, 9 ms, … 1 ms: the requests it held back
    assert corrected.get_min_value() == pytest.approx(1000, rel=1e-2)


def test_closed_loop_recorder_has_no_corrected_histogram() -> None:
    recorder = Recorder(warmup=0.0, duration=10.0)
    recorder.start(0.0)
    recorder.record(1.0, 10.0, 1, None)
    assert recorder.result()["corrected"] is None


def test_saturation_hint_when_most_locust_runs_were_generator_bound() -> None:
    def runs(*bottlenecks: str, target: str = "stage4") -> pd.DataFrame:
        return pd.DataFrame({"driver": ["locust"] * len(bottlenecks), "bottleneck": list(bottlenecks),
                             "target": [target] * len(bottlenecks)})

    assert saturation_hint(runs("server", "server", "generator")) is None
    hint = saturation_hint(runs("generator", "generator", "server"))
    assert hint is not None and hint.startswith("2 of 3 locust runs were generator-bound")
    assert saturation_hint(pd.DataFrame({"driver": ["wrk"], "bottleneck": ["generator"], "target": ["x"]})) is None
    # the generator's calibration is generator-bound by design: it is not a server's number
    both = pd.concat([runs("server"), runs("generator", "generator", target="calibration")])
    assert saturation_hint(both) is None


@pytest.mark.parametrize(("n", "low", "high"), [(6, 1, 6), (8, 1, 8), (9, 2, 8), (10, 2, 9), (12, 3, 10),
                                                (100, 40, 61)])
def test_median_interval_uses_the_binomial_order_statistics(n: int, low: float, high: float) -> None:
    values = [float(v) for v in range(n, 0, -1)]  # given in any order
    assert median_interval(values)[1:] == (low, high)
    assert all(math.isnan(v) for v in median_interval([]))


def test_the_roadmap_table_gives_targets_and_what_the_roadmap_reports_reaching() -> None:
    table = roadmap_table().set_index("stage")
    assert table.loc[1, "speedup_target"] == pytest.approx(5_000 / 459)
    assert table.loc[1, "speedup_reported"] == pytest.approx(7_877 / 459)  # reached, beyond its target
    assert table.loc[4, "speedup_reported"] == pytest.approx(100_000 / 459)  # not reported: the target
    assert roadmap_stage(2) is not None and roadmap_stage(2).stage == 2  # type: ignore[union-attr]
    assert roadmap_stage(5) is None and roadmap_stage(None) is None
