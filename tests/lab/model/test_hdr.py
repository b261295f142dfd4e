"""Latency histograms in µs (lab.model.hdr): clamping, the open loop's correction, an empty summary."""

from __future__ import annotations

import pytest

from lab.model import hdr, record
from lab.model.record import CorrectedLatency


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
