"""Latency histograms in µs (lab.model.hdr): clamping, the open loop's correction, an empty summary."""

from __future__ import annotations

import pytest

from lab.model import hdr, record
from lab.model.record import CorrectedLatency, Latency


def test_an_empty_histogram_summarizes_to_nothing_measured() -> None:
    assert set(record.row(hdr.summarize(hdr.new())).values()) == {None}
    assert hdr.summarize_corrected(hdr.new()) == hdr.summarize_corrected(None) == CorrectedLatency()
    assert set(record.row(CorrectedLatency()).values()) == {None}
    corrected = hdr.new()
    hdr.record_corrected(corrected, 3000, 1000, count=2)  # 3 ms late for a 1 ms schedule, twice
    hdr.record_corrected(corrected, 2000, 1000)  # once: 2 ms and the 1 ms it held back
    hdr.record(corrected, 5)  # once
    assert corrected.get_total_count() == 6 + 2 + 1
    histogram = hdr.new()
    hdr.record(histogram, 0.4)  # below the lowest trackable µs: kept as 1 µs, not dropped
    hdr.record(histogram, 1e12)  # beyond a minute: kept as the highest
    summary = hdr.summarize(hdr.decode(hdr.encode(histogram)))
    assert summary.latency_min_us == 1 and summary.latency_max_us == pytest.approx(hdr.HIGHEST_US, rel=1e-3)


def test_every_percentile_is_read_at_its_own_rank() -> None:
    """1 µs … 1,000 µs once each: every percentile is its own number (3 significant digits hold them exactly)."""
    histogram = hdr.new()
    for microseconds in range(1, 1001):
        hdr.record(histogram, microseconds)
    assert hdr.summarize(histogram) == Latency(
        latency_mean_us=500.5, latency_min_us=1.0, latency_max_us=1000.0, latency_p50_us=500.0,
        latency_p75_us=750.0, latency_p90_us=900.0, latency_p95_us=950.0, latency_p99_us=990.0,
        latency_p999_us=999.0)
    assert hdr.summarize_corrected(histogram) == CorrectedLatency(
        latency_corrected_mean_us=500.5, latency_corrected_p50_us=500.0, latency_corrected_p99_us=990.0,
        latency_corrected_p999_us=999.0)
