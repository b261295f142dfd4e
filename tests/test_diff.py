"""lab.analysis.diff on batches built by hand: change, interval, verdict, regressions, formats."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

from lab.analysis.diff import as_markdown, as_records, compare, regressions


def runs(target: str, qps: list[float], cpu: list[float], bottleneck: str = "server",
         scenario: str = "plaintext") -> pd.DataFrame:
    rows: list[dict[str, Any]] = [
        {"target_label": target, "scenario": scenario, "error": None, "qps": q, "server_cpu_us_per_request": c,
         "latency_p50_us": 1e6 / q, "latency_p99_us": 4e6 / q, "server_rss_peak_bytes": 30e6, "bottleneck": bottleneck}
        for q, c in zip(qps, cpu, strict=True)]
    return pd.DataFrame(rows)


def by_metric(changes: list[Any]) -> dict[str, Any]:
    return {c.metric: c for c in changes}


def test_a_clear_slowdown_is_worse_and_noise_is_no_change() -> None:
    base = runs("stage4", [10_000, 10_200, 9_900], [15.0, 15.2, 14.9])
    slower = runs("stage4", [8_000, 8_100, 7_900], [19.0, 19.1, 18.8])
    changes = by_metric(compare(base, slower))
    qps = changes["qps"]
    assert qps.verdict == "worse" and qps.change == pytest.approx(8_000 / 10_000 - 1)
    assert qps.high is not None and qps.high < 0 and qps.p_value == pytest.approx(0.1)  # 3 v 3: U's floor
    assert changes["server_cpu_us_per_request"].verdict == "worse"  # more CPU per request is worse
    assert changes["latency_p50_us"].verdict == "worse"
    assert changes["server_rss_peak_bytes"].verdict == "no significant change"
    assert {c.metric for c in regressions(list(changes.values()), 0.05)} == {
        "qps", "server_cpu_us_per_request", "latency_p50_us", "latency_p99_us"}
    assert regressions(list(changes.values()), 0.5) == []  # none beyond 50%
    noisy = runs("stage4", [10_100, 9_800, 10_300], [15.1, 14.8, 15.3])
    assert {c.verdict for c in compare(base, noisy)} == {"no significant change"}
    faster = by_metric(compare(slower, base))
    assert faster["qps"].verdict == "better" and faster["server_cpu_us_per_request"].verdict == "better"


def test_it_cannot_tell_from_few_repeats_or_a_generator_s_numbers() -> None:
    two = compare(runs("s", [10_000, 10_100], [15, 15]), runs("s", [5_000, 5_100], [30, 30]))
    assert {c.verdict for c in two} == {"cannot tell: fewer than 3 repeats"} and not regressions(two, 0.0)
    bound = by_metric(compare(runs("s", [10_000] * 3, [15.0, 15.1, 15.2], "generator"),
                              runs("s", [9_000] * 3, [20.0, 20.1, 20.2])))
    assert bound["qps"].verdict == "cannot tell: generator-bound" and bound["qps"].low is None
    assert bound["server_cpu_us_per_request"].verdict == "worse"  # what the server spent still counts


def test_only_pairs_in_both_batches_without_error() -> None:
    base = pd.concat([runs("a", [1, 1, 1], [1, 1, 1]), runs("b", [1, 1, 1], [1, 1, 1])])
    new = pd.concat([runs("a", [1, 1, 1], [1, 1, 1]), runs("c", [1, 1, 1], [1, 1, 1])])
    new.loc[new.index[0], "error"] = "died"
    changes = compare(base, new)
    assert {(c.target, c.metric) for c in changes} >= {("a", "qps")} and {c.target for c in changes} == {"a"}
    assert by_metric(changes)["qps"].verdict == "cannot tell: fewer than 3 repeats"  # one of three failed


def test_the_formats_carry_the_same_changes() -> None:
    changes = compare(runs("stage4", [10_000, 10_200, 9_900], [15.0, 15.2, 14.9]),
                      runs("stage4", [8_000, 8_100, 7_900], [19.0, 19.1, 18.8]))
    records = json.loads(json.dumps(as_records(changes)))
    assert records[0]["metric"] == "qps" and records[0]["verdict"] == "worse" and records[0]["significant"]
    markdown = as_markdown(changes, "A", "B").splitlines()
    assert markdown[0] == "`lab diff A B`" and len(markdown) == 4 + len(changes)
    assert markdown[4].startswith("| stage4 | plaintext | qps | 10,000.0 | 8,000.0 | -20.0% |")
    assert markdown[4].endswith("| 0.10 | worse |")
