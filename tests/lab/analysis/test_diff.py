"""lab.analysis.diff on batches built in memory: the exact test's verdicts, its family-wise error
rate and power by simulation, drift control by the calibration runs, within-batch pairs, formats."""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from lab.analysis.diff import (
    ALPHA,
    AS_MEASURED,
    COUNTED_METRICS,
    METRICS,
    PER_REFERENCE,
    as_records,
    compare,
    compare_targets,
    drift,
    machine_differences,
    regressions,
    repeats_needed,
    smallest_p,
)
from lab.analysis.present import diff_markdown, notes

CPU = "server_cpu_us_per_request"


def runs(target: str, qps: list[float], cpu: list[float], bottleneck: str = "server", scenario: str = "plaintext",
         **more: Any) -> pd.DataFrame:
    rows: list[dict[str, Any]] = [
        {"target": target, "target_label": target, "scenario": scenario, "repeat": repeat, "driver": "wrk",
         "run_id": f"{target}-{scenario}-{repeat}", "error": None, "load_level": None, "qps": q, CPU: c,
         "latency_p50_us": 1e6 / q, "latency_p99_us": 4e6 / q, "server_rss_peak_bytes": 30e6,
         "bottleneck": bottleneck, **more}
        for repeat, (q, c) in enumerate(zip(qps, cpu, strict=True))]
    return pd.DataFrame(rows)


def by_metric(changes: list[Any]) -> dict[str, Any]:
    return {c.metric: c for c in changes}


BASE_QPS = [10_000, 10_200, 9_900, 10_100, 9_950]
BASE_CPU = [15.0, 15.2, 14.9, 15.1, 15.05]


def test_the_exact_test_s_floor_and_the_repeats_it_needs() -> None:
    assert smallest_p(3, 3) == pytest.approx(0.1)  # 2 of C(6, 3) = 20 splits
    assert smallest_p(5, 5) == pytest.approx(2 / 252)
    assert repeats_needed(0.05) == 4 and repeats_needed(0.01) == 5 and repeats_needed(0.005) == 6


def test_a_clear_slowdown_is_worse_and_noise_is_no_change() -> None:
    base = runs("stage4", BASE_QPS, BASE_CPU)
    slower = runs("stage4", [8_000, 8_100, 7_900, 8_050, 7_950], [19.0, 19.1, 18.8, 19.2, 18.9])
    changes = by_metric(compare(base, slower))
    qps = changes["qps"]
    assert qps.verdict == "worse" and qps.change == pytest.approx(
        math.exp(np.log(slower["qps"]).mean() - np.log(base["qps"]).mean()) - 1)
    assert qps.p_value == pytest.approx(2 / 252) and qps.level == pytest.approx(ALPHA / 5)  # 5 metrics, 5 v 5
    assert qps.high is not None and qps.low is not None and qps.low < qps.change < qps.high < 0
    assert qps.detectable is not None and 0 < qps.detectable < 0.2 and qps.basis == AS_MEASURED
    assert changes[CPU].verdict == "worse"  # more CPU per request is worse
    assert changes["latency_p50_us"].verdict == "worse"
    assert changes["server_rss_peak_bytes"].verdict == "no significant change"  # 30 MB on both sides
    assert {c.metric for c in regressions(list(changes.values()), 0.05)} == {
        "qps", CPU, "latency_p50_us", "latency_p99_us"}
    assert regressions(list(changes.values()), 0.5) == []  # none beyond 50%
    noisy = runs("stage4", [10_100, 9_800, 10_300, 9_900, 10_050], [15.1, 14.8, 15.3, 15.0, 15.2])
    assert {c.verdict for c in compare(base, noisy)} == {"no significant change"}
    faster = by_metric(compare(slower, base))
    assert faster["qps"].verdict == "better" and faster[CPU].verdict == "better"


def test_a_significant_change_is_exactly_one_whose_interval_excludes_none() -> None:
    rng = np.random.default_rng(7)
    for _ in range(40):
        base = runs("s", list(10_000 * np.exp(rng.normal(0, 0.03, 5))), list(15 * np.exp(rng.normal(0, 0.03, 5))))
        new = runs("s", list(9_500 * np.exp(rng.normal(0, 0.03, 5))), list(15.6 * np.exp(rng.normal(0, 0.03, 5))))
        for c in compare(base, new):
            if c.low is None:
                continue
            assert c.significant == (not c.low <= 0 <= c.high), c
            assert c.low <= c.change <= c.high


def test_it_cannot_tell_from_few_repeats_and_says_how_many_would() -> None:
    three = compare(runs("s", [10_000, 10_100, 10_050], [15, 15.1, 15.2]),
                    runs("s", [5_000, 5_100, 5_050], [30, 30.1, 30.2]))
    assert {c.verdict for c in three} == {"cannot tell: 3 v 3 repeats; 5 a side would"}
    assert not regressions(three, 0.0) and all(c.low is None and c.detectable is None for c in three)
    bound = by_metric(compare(runs("s", BASE_QPS, BASE_CPU, "generator"),
                              runs("s", [9_000] * 5, [20.0, 20.1, 20.2, 20.3, 20.05])))
    assert bound["qps"].verdict == "cannot tell: generator-bound" and bound["qps"].low is None
    assert bound[CPU].verdict == "worse"  # what the server spent still counts
    assert bound[CPU].level == pytest.approx(ALPHA / 2)  # only CPU and memory were tested


def test_the_error_rate_is_for_the_whole_diff() -> None:
    """Two targets × 5 metrics at 5 v 5: 2/252 cannot reach 5% / 10, so nothing is called, and the
    diff says 6 repeats a side would reach it."""
    base = pd.concat([runs("a", BASE_QPS, BASE_CPU), runs("b", BASE_QPS, BASE_CPU)])
    new = pd.concat([runs("a", [8_000] * 5, [19.0, 19.1, 18.8, 19.2, 18.9]), runs("b", BASE_QPS, BASE_CPU)])
    changes = compare(base, new)
    assert len(changes) == 10
    assert {c.verdict for c in changes} == {"cannot tell: 5 v 5 repeats; 6 a side would"}


def test_only_pairs_in_both_batches_without_error_calibration_or_sweep() -> None:
    base = pd.concat([runs("a", [1, 1, 1], [1, 1, 1]), runs("b", [1, 1, 1], [1, 1, 1]),
                      runs("a", [1, 1, 1], [1, 1, 1], load_level=0.5, scenario="io-wait")])
    new = pd.concat([runs("a", [1, 1, 1], [1, 1, 1]), runs("c", [1, 1, 1], [1, 1, 1]),
                     runs("a", [1, 1, 1], [1, 1, 1], load_level=0.5, scenario="io-wait")])
    new.loc[new.index[0], "error"] = "died"
    changes = compare(base, new)
    assert {(c.target, c.scenario) for c in changes} == {("a", "plaintext")}
    assert by_metric(changes)["qps"].verdict == "cannot tell: 3 v 2 repeats; 5 a side would"  # one of three failed
    assert len(changes) == 5


def simulated(rng: np.random.Generator, repeats: int, spread: float, *, cpu_change: float = 0.0,
              machine: float = 1.0, calibrated: bool = False) -> pd.DataFrame:
    """One batch of one server: every metric log-normal with `spread`, CPU per request moved by
    `cpu_change`, the time-bound metrics scaled by `machine` (its speed that hour), with a
    calibration run per repeat that the machine moves alike."""
    def noisy(value: float) -> list[float]:
        return list(value * np.exp(rng.normal(0, spread, repeats)))

    slow = 1 / machine
    frame = runs("stage4", noisy(10_000 * machine), noisy(15 * (1 + cpu_change) * slow))
    frame["latency_p50_us"], frame["latency_p99_us"] = noisy(600 * slow), noisy(2_000 * slow)
    frame["server_rss_peak_bytes"] = noisy(30e6)
    if not calibrated:
        return frame
    reference = runs("calibration", noisy(100_000 * machine), noisy(7 * slow))
    reference["latency_p50_us"], reference["latency_p99_us"] = noisy(200 * slow), noisy(1_500 * slow)
    return pd.concat([frame, reference], ignore_index=True)


def alarm_rate(pairs: int, seed: int, **batch: Any) -> float:
    """The share of simulated diffs of the same server in which any metric is better or worse."""
    rng = np.random.default_rng(seed)
    repeats, spread = batch.pop("repeats"), batch.pop("spread")
    new_machine = batch.pop("new_machine", 1.0)
    alarms = 0
    for _ in range(pairs):
        base = simulated(rng, repeats, spread, **batch)
        new = simulated(rng, repeats, spread, **{**batch, "machine": new_machine})
        alarms += any(c.significant for c in compare(base, new))
    return alarms / pairs


# Seeded simulations: each passes or fails the same way every time, and each assertion allows
# three standard errors of its estimate, so a correct implementation fails it for about one seed
# in 700 (a normal tail of 0.13%). `benchmarks/diff_error_rates.py` runs them 10x larger.
def standard_error(rate: float, draws: int) -> float:
    return math.sqrt(rate * (1 - rate) / draws)


@pytest.mark.simulation
def test_a_diff_of_the_same_server_calls_anything_at_most_5_percent_of_the_time() -> None:
    for repeats in (5, 8):  # 2/252 a test at 5 v 5 (so 4.0% over 5 metrics); nearly continuous at 8 v 8
        rate = alarm_rate(300, seed=repeats, repeats=repeats, spread=0.03)
        assert rate <= ALPHA + 3 * standard_error(ALPHA, 300), (repeats, rate)


def separation_power(shift: float, repeats: int) -> float:
    """The chance that all `repeats` shifted values lie above all unshifted ones (normal, unit
    spread): at 5 v 5 the exact test can reject only such a split (2/252 ≤ 0.01 < 4/252)."""
    def density(x: float) -> float:
        return float(repeats * stats.norm.pdf(x) * stats.norm.cdf(x) ** (repeats - 1)
                     * stats.norm.sf(x - shift) ** repeats)

    return float(integrate.quad(density, -10, 10)[0])


@pytest.mark.simulation
def test_a_10_percent_cpu_change_with_a_3_percent_spread_is_found_80_percent_of_the_time() -> None:
    expected = separation_power(math.log(1.10) / 0.03, 5)
    assert expected == pytest.approx(0.819, abs=0.001)
    rng = np.random.default_rng(11)
    draws = 400
    found = sum(by_metric(compare(simulated(rng, 5, 0.03), simulated(rng, 5, 0.03, cpu_change=0.10)))[CPU]
                .verdict == "worse" for _ in range(draws))
    assert abs(found / draws - expected) <= 3 * standard_error(expected, draws)


@pytest.mark.simulation
def test_drift_of_the_machine_cancels_against_the_calibration_runs() -> None:
    # The second batch on a machine 20% slower: as measured, every time-bound metric moved.
    rng = np.random.default_rng(3)
    base, new = simulated(rng, 5, 0.02, calibrated=True), simulated(rng, 5, 0.02, machine=0.8, calibrated=True)
    normalised = by_metric(compare(base, new))
    assert {c.basis for m, c in normalised.items() if m != "server_rss_peak_bytes"} == {PER_REFERENCE}
    assert normalised["server_rss_peak_bytes"].basis == AS_MEASURED
    assert not any(c.significant for c in normalised.values())
    assert normalised["qps"].base == pytest.approx(float(np.median(base[base["target"] == "stage4"]["qps"])))
    assert normalised["qps"].new / normalised["qps"].base == pytest.approx(0.8, abs=0.05)  # the medians as measured
    raw = by_metric(compare(base[base["target"] != "calibration"], new[new["target"] != "calibration"]))
    assert raw["qps"].verdict == "worse" and raw[CPU].verdict == "worse" and raw["qps"].basis == AS_MEASURED
    assert drift(base, new) == [f"plaintext {float(np.median(new[new['target'] == 'calibration']['qps'])) / float(np.median(base[base['target'] == 'calibration']['qps'])) - 1:+.1%}"]  # noqa: E501
    # And the error rate holds with drift: the same server, a machine 30% slower for the second batch.
    rate = alarm_rate(200, seed=5, repeats=5, spread=0.03, calibrated=True, new_machine=0.7)
    assert rate <= ALPHA + 3 * standard_error(ALPHA, 200)
    # A real change is still found through the reference.
    rng = np.random.default_rng(13)
    found = sum(by_metric(compare(simulated(rng, 5, 0.02, calibrated=True),
                                  simulated(rng, 5, 0.02, cpu_change=0.15, machine=0.8, calibrated=True)))[CPU]
                .verdict == "worse" for _ in range(50))
    assert found >= 40


def test_two_targets_of_one_batch_over_the_repeats_both_finished() -> None:
    batch = pd.concat([runs("before", [*BASE_QPS, 10_000], [*BASE_CPU, 15.0]),
                       runs("after", [8_000, 8_100, 7_900, 8_050, 7_950, 8_000], [19.0, 19.1, 18.8, 19.2, 18.9, 19])])
    batch.loc[(batch["target"] == "after") & (batch["repeat"] == 5), "error"] = "died"
    calibration = runs("calibration", [100_000.0] * 6, [7.0] * 6)
    calibration.loc[calibration["repeat"] == 2, "qps"] = 50_000.0  # a reference would move repeat 2 alone
    batch = pd.concat([batch, calibration], ignore_index=True)
    changes = by_metric(compare_targets(batch, "before", "after"))
    assert {c.basis for c in changes.values()} == {AS_MEASURED}  # side by side: no reference's noise added
    assert notes(list(changes.values()))[0].startswith("both targets as measured")
    assert changes["qps"].target == "before → after" and changes["qps"].verdict == "worse"
    assert changes["qps"].base == pytest.approx(float(np.median(BASE_QPS)))  # repeat 5 left out on both sides
    assert changes[CPU].verdict == "worse"
    same = compare_targets(batch, "before", "before")
    assert {c.verdict for c in same} == {"no significant change"}
    with pytest.raises(KeyError, match=r"no finished runs of target 'nope'.*after, before"):
        compare_targets(batch, "before", "nope")


def test_machines_that_differ_are_named() -> None:
    base = runs("s", [1, 1, 1], [1, 1, 1], cpu_model="AMD EPYC", locust_version="2.40", hostname="a")
    new = runs("s", [1, 1, 1], [1, 1, 1], cpu_model="Intel Xeon", locust_version="2.40", hostname="a")
    assert machine_differences(base, new) == ["cpu_model AMD EPYC → Intel Xeon"]
    assert machine_differences(base, base) == []
    lines = notes(compare(base, new), base, new)
    assert lines[0] == "the batches ran on different machines or measuring stacks: cpu_model AMD EPYC → Intel Xeon"
    assert any("not controlled" in line for line in lines)


def test_the_formats_carry_the_same_changes() -> None:
    changes = compare(runs("stage4", BASE_QPS, BASE_CPU),
                      runs("stage4", [8_000, 8_100, 7_900, 8_050, 7_950], [19.0, 19.1, 18.8, 19.2, 18.9]))
    records = json.loads(json.dumps(as_records(changes)))
    assert records[0]["metric"] == "qps" and records[0]["verdict"] == "worse" and records[0]["significant"]
    assert set(records[0]) >= {"level", "detectable", "basis", "low", "high", "p_value"}
    markdown = diff_markdown(changes, "A", "B", ["a note"]).splitlines()
    assert markdown[:4] == ["`lab diff A B`", "", "- a note", ""] and len(markdown) == 6 + len(changes)
    assert markdown[6].startswith("| stage4 | plaintext | qps | 10,000.0 | 8,000.0 | -20.2% | -22.5% … -18.2% |")
    assert markdown[6].endswith("| 0.008 (≤ 0.010) | worse |")
    assert f"{CPU} at 10,000 → 8,000 req/s" in markdown[7]  # CPU per request with the load it was measured at
    # This batch counted nothing and held no connections to count memory per connection from.
    assert set(METRICS) - {*COUNTED_METRICS, "server_rss_per_connection_bytes"} == {c.metric for c in changes}


SIGNIFICANCE = ("a change is significant at p ≤ {:.4f}: 5% over the diff's tests (exact permutation test); interval: "
                "the changes it does not reject; detectable: the least change these repeats could have found")


def test_notes_name_every_difference_and_every_scenario_s_drift() -> None:
    def side(cpu_model: str, locust: str, calibrated: float) -> pd.DataFrame:
        return pd.concat([runs(target, BASE_QPS, BASE_CPU, scenario=scenario, cpu_model=cpu_model,
                               locust_version=locust)
                          for target, scenario in (("stage4", "plaintext"), ("stage4", "json"))]
                         + [runs("calibration", [calibrated] * 5, [7.0] * 5, scenario=scenario, cpu_model=cpu_model,
                                 locust_version=locust) for scenario in ("plaintext", "json")], ignore_index=True)

    base, new = side("AMD", "2.40", 100_000.0), side("Intel", "2.41", 90_000.0)
    lines = notes(compare(base, new), base, new)
    assert lines[0] == ("the batches ran on different machines or measuring stacks: cpu_model AMD → Intel; "
                        "locust_version 2.40 → 2.41")
    assert lines[1].endswith("; it moved plaintext -10.0%, json -10.0%")


def test_the_notes_on_counts_word_for_word() -> None:
    counts = pd.DataFrame([{"target": "a", "target_label": "a", "scenario": "plaintext", "repeat": r, "run_id": f"a{r}",
                            "error": None, "server_instructions_per_request": 50_000.0,
                            "server_syscalls_per_request": 7.0} for r in range(5)])
    between = compare(pd.DataFrame(), pd.DataFrame(), counts, counts)
    assert notes(between, counts, counts)[0] == (
        "instructions and system calls per request are counted under valgrind (one request in flight): they do not "
        "drift with the machine, so they are compared as counted, between any two batches run on the same software "
        "(a count depends on Python, the libraries and valgrind)")


def test_the_notes_before_a_diff_word_for_word() -> None:
    base = pd.concat([runs("stage4", BASE_QPS, BASE_CPU), runs("calibration", [100_000.0] * 5, [7.0] * 5),
                      runs("stage2", BASE_QPS, BASE_CPU, scenario="json")], ignore_index=True)
    new = pd.concat([runs("stage4", BASE_QPS, BASE_CPU), runs("calibration", [110_000.0] * 5, [7.0] * 5),
                     runs("stage2", BASE_QPS, BASE_CPU, scenario="json")], ignore_index=True)
    changes = compare(base, new)
    level = changes[0].level
    assert level is not None
    assert notes(changes, base, new) == [
        "QPS, latency and CPU per request are compared per calibration run of the same repeat (the minimal server): "
        "the machine's own drift cancels; it moved plaintext +10.0%",
        "compared as measured where a side has no calibration run in every repeat: drift of the machine between "
        "batches is not controlled there",  # json had no calibration run
        SIGNIFICANCE.format(level),
    ]
    within = compare_targets(pd.concat([runs("a", BASE_QPS, BASE_CPU), runs("b", BASE_QPS, BASE_CPU)]), "a", "b")
    assert notes(within) == ["both targets as measured, over the repeats they ran side by side in this batch",
                             SIGNIFICANCE.format(within[0].level)]
