"""The process sampler's arithmetic, in memory: CPU seconds between two instants of its samples."""

from __future__ import annotations

import os
import time

import psutil
import pytest

from lab.processes.sampler import Sample, cpu_between, sample_tree


def test_cpu_between_interpolates() -> None:
    samples = [Sample(float(t), cpu_s=t * 0.5, system_s=t * 0.125, rss=0, fds=0, idle_s=t * 0.25) for t in range(10)]
    assert cpu_between(samples, 2.5, 6.5) == pytest.approx(2.0)
    assert cpu_between(samples, 2.5, 6.5, "system_s") == pytest.approx(0.5)
    assert cpu_between(samples, 2.5, 6.5, "idle_s") == pytest.approx(1.0)
    assert cpu_between(samples, -5.0, 6.0) is None  # window starts before the first sample


def test_a_sample_counts_the_idle_time_of_the_cpus_its_process_may_use() -> None:
    """The sampler's idle seconds are those of this process's CPUs: pinned to one, at most one
    second of idle per second passes, whatever the other CPUs do."""
    me = psutil.Process()
    cpus = me.cpu_affinity()
    me.cpu_affinity([cpus[0]])
    try:
        first = sample_tree(me)
        time.sleep(0.5)
        second = sample_tree(me)
    finally:
        me.cpu_affinity(cpus)
    assert first is not None and second is not None
    elapsed = second.at - first.at
    assert 0 <= second.idle_s - first.idle_s <= elapsed * 1.05 + 0.02, (os.cpu_count(), elapsed)
