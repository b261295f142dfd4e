"""The process sampler's arithmetic, in memory: CPU seconds between two instants of its samples."""

from __future__ import annotations

import pytest

from lab.processes.sampler import Sample, cpu_between


def test_cpu_between_interpolates() -> None:
    samples = [Sample(float(t), cpu_s=t * 0.5, system_s=t * 0.125, rss=0, fds=0) for t in range(10)]
    assert cpu_between(samples, 2.5, 6.5) == pytest.approx(2.0)
    assert cpu_between(samples, 2.5, 6.5, "system_s") == pytest.approx(0.5)
    assert cpu_between(samples, -5.0, 6.0) is None  # window starts before the first sample
