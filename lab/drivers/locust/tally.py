"""What each locust load process tallied (recorder.Recorder.result), merged into one run's result."""

from __future__ import annotations

from typing import Any

from lab.drivers.base import LoadResult
from lab.model import hdr
from lab.model.scenario import Scenario


def merge(tallies: list[dict[str, Any]], scenario: Scenario, samples: list[Any]) -> LoadResult:
    """One result from the processes' tallies: counts summed, histograms added, the window spanning
    them all, the busiest process kept (one saturated process limits the run)."""
    histogram = hdr.merge(t["histogram"] for t in tallies)
    corrected = [t["corrected"] for t in tallies if t.get("corrected")]
    errors: dict[str, int] = {}
    for t in tallies:
        for message, count in t["errors"].items():
            errors[message] = errors.get(message, 0) + count
    return LoadResult(
        requests=sum(t["requests"] for t in tallies),
        failures=sum(t["failures"] for t in tallies),
        response_bytes=sum(t["response_bytes"] for t in tallies),
        errors=errors,
        window_start=min(t["window_start"] for t in tallies),
        window_end=max(t["window_end"] for t in tallies),
        latency=hdr.summarize(histogram),
        corrected=hdr.summarize_corrected(hdr.merge(corrected) if corrected else None),
        generator_samples=samples,
        processes=len(tallies),
        retried=sum(t["retried"] for t in tallies),
        busiest_process=max((t["cpu_busy"] for t in tallies if t.get("cpu_busy") is not None), default=None),
        histogram=hdr.encode(histogram),
        seconds=_merge_seconds(tallies, scenario),
    )


def _merge_seconds(tallies: list[dict[str, Any]], scenario: Scenario) -> list[dict[str, Any]]:
    started = min(t["started"] for t in tallies)
    seconds: dict[int, dict[str, Any]] = {}
    for t in tallies:
        offset = round(t["started"] - started)
        for s in t["seconds"]:
            second = s["second"] + offset
            entry = seconds.setdefault(second, {"second": second, "requests": 0, "failures": 0,
                                                "latency_p50_us": None, "latency_p99_us": None,
                                                "latency_max_us": None})
            entry["requests"] += s["requests"]
            entry["failures"] += s["failures"]
            for key in ("latency_p50_us", "latency_p99_us", "latency_max_us"):
                # Across processes the exact percentile is lost; the worst process's is kept.
                if s[key] is not None:
                    entry[key] = s[key] if entry[key] is None else max(entry[key], s[key])
    warmup = scenario.load.warmup
    measured_end = warmup + scenario.load.duration
    for entry in seconds.values():
        second = entry["second"]
        entry["phase"] = "warmup" if second < warmup else "measure" if second < measured_end else "after"
    return sorted(seconds.values(), key=lambda e: e["second"])
