"""The per-process recorder of locust's users, in memory: the window, microseconds, the open loop's correction."""

from __future__ import annotations

import pytest

from lab.drivers.locust.recorder import Recorder
from lab.model import hdr


def test_recorder_counts_only_the_measured_window() -> None:
    recorder = Recorder(warmup=2.0, duration=3.0)
    recorder.start(100.0)
    recorder.record(101.0, 5.0, 10, None)  # warm-up: time series only
    recorder.record(102.5, 0.25, 10, None)  # measured, 250 µs
    recorder.record(104.9, 0.75, 20, None)  # measured, 750 µs
    recorder.record(103.0, 1.0, 0, "ConnectionResetError: boom")  # measured failure
    recorder.record(105.0, 1.0, 10, None)  # window closed
    result = recorder.result()
    assert (result.requests, result.failures, result.response_bytes) == (2, 1, 30)
    assert result.errors == {"ConnectionResetError: boom": 1}
    histogram = hdr.decode(result.histogram)
    assert histogram.get_total_count() == 2
    summary = hdr.summarize(histogram)
    assert summary.latency_min_us == 250 and summary.latency_max_us == pytest.approx(750, rel=1e-3)
    assert [s.requests for s in result.seconds] == [1, 1, 1, 1, 1]


def test_recorder_keeps_microseconds_below_a_millisecond() -> None:
    recorder = Recorder(warmup=0.0, duration=10.0)
    recorder.start(0.0)
    for ms in (0.123, 0.456, 0.789):
        recorder.record(1.0, ms, 1, None)
    summary = hdr.summarize(hdr.decode(recorder.result().histogram))
    assert summary.latency_p50_us == 456


def test_open_loop_recorder_corrects_for_coordinated_omission() -> None:
    recorder = Recorder(warmup=0.0, duration=10.0, interval_us=1000.0)
    recorder.start(0.0)
    recorder.record(1.0, 10.0, 1, None)  # 10 ms late for a client meant to send every 1 ms
    result = recorder.result()
    assert hdr.decode(result.histogram).get_total_count() == 1
    corrected = hdr.decode(result.corrected or "")
    assert corrected.get_total_count() == 10  # 10 ms, 9 ms, … 1 ms: the requests it held back
    assert corrected.get_min_value() == pytest.approx(1000, rel=1e-2)


def test_closed_loop_recorder_has_no_corrected_histogram() -> None:
    recorder = Recorder(warmup=0.0, duration=10.0)
    recorder.start(0.0)
    recorder.record(1.0, 10.0, 1, None)
    assert recorder.result().corrected is None
