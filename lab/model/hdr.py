"""Latency histograms in microseconds (HdrHistogram), and the percentiles the lab reports."""

from __future__ import annotations

from collections.abc import Iterable

from hdrh.histogram import HdrHistogram

from lab.model.record import CorrectedLatency, Latency

LOWEST_US = 1
# Longest latency a histogram holds; a request slower than a minute is a failure, not a latency.
HIGHEST_US = 60_000_000
# 3 significant digits: a value is known to 0.1%, e.g. 1,234 µs ± 1 µs.
SIGNIFICANT_DIGITS = 3
# Per-second histograms of the time series need less precision and 1/10 the memory.
SECOND_SIGNIFICANT_DIGITS = 2


def new(significant_digits: int = SIGNIFICANT_DIGITS) -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, significant_digits)


def record(histogram: HdrHistogram, microseconds: float, count: int = 1) -> None:
    histogram.record_value(_clamp(microseconds), count)


def record_corrected(histogram: HdrHistogram, microseconds: float, interval_us: float, count: int = 1) -> None:
    """Record as a closed loop that meant to send every `interval_us` would have seen it had it
    not waited: a response k intervals late also stands for the k requests it held back
    (HdrHistogram's coordinated-omission correction)."""
    histogram.record_corrected_value(_clamp(microseconds), int(interval_us), count)


def _clamp(microseconds: float) -> int:
    return min(max(int(microseconds), LOWEST_US), HIGHEST_US)


def encode(histogram: HdrHistogram) -> str:
    return str(histogram.encode().decode("ascii"))


def decode(encoded: str) -> HdrHistogram:
    return HdrHistogram.decode(encoded.encode("ascii"))


def merge(encoded: Iterable[str]) -> HdrHistogram:
    total = new()
    for item in encoded:
        histogram = decode(item)
        # hdrh's add takes an empty histogram's minimum as 0: a process that recorded nothing
        # (only failures, or it started late) would make every run's minimum 0 µs.
        if histogram.get_total_count():
            total.add(histogram)
    return total


def summarize_corrected(histogram: HdrHistogram | None) -> CorrectedLatency:
    """The corrected histogram's mean and percentiles; None throughout when there is none."""
    if histogram is None or histogram.get_total_count() == 0:
        return CorrectedLatency()
    at = histogram.get_value_at_percentile
    return CorrectedLatency(latency_corrected_mean_us=float(histogram.get_mean_value()),
                            latency_corrected_p50_us=float(at(50.0)), latency_corrected_p99_us=float(at(99.0)),
                            latency_corrected_p999_us=float(at(99.9)))


def summarize(histogram: HdrHistogram) -> Latency:
    """Mean, min, max and percentiles in µs; None throughout for an empty histogram."""
    if histogram.get_total_count() == 0:
        return Latency()
    at = histogram.get_value_at_percentile
    return Latency(latency_mean_us=float(histogram.get_mean_value()), latency_min_us=float(histogram.get_min_value()),
                   latency_max_us=float(histogram.get_max_value()), latency_p50_us=float(at(50.0)),
                   latency_p75_us=float(at(75.0)), latency_p90_us=float(at(90.0)), latency_p95_us=float(at(95.0)),
                   latency_p99_us=float(at(99.0)), latency_p999_us=float(at(99.9)))
