"""lab diff's verdicts recomputed here independently, split by split: which runs are paired with
which calibration run, what is tested (each run over its repeat's calibration run between
batches), the exact two-sided p, the interval's ends and the detectable change, and each reason a
change cannot be told. Deterministic and in memory: the simulations of its error rate and power
(test_diff.py, marked simulation) say how often; these say exactly what."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from lab.analysis.diff import (
    AS_MEASURED,
    PER_REFERENCE,
    Change,
    Step,
    compare,
    compare_steps,
    compare_targets,
    counted_repeats_needed,
    drift,
    machine_differences,
    regressions,
)
from lab.analysis.permutation import RANDOM_SPLITS, family_level, repeats_needed, smallest_p
from lab.analysis.present import notes

CPU = "server_cpu_us_per_request"


def batch(target: str, qps: list[float], *, scenario: str = "plaintext", closing: bool | None = None,
          bottleneck: str = "server", **columns: list[float]) -> pd.DataFrame:
    """One target's runs, a repeat each, with CPU per request and latencies from QPS unless given."""
    rows: list[dict[str, Any]] = [
        {"target": target, "target_label": target, "scenario": scenario, "repeat": repeat, "driver": "wrk",
         "run_id": f"{target}-{scenario}-{repeat}-{closing}", "error": None, "load_level": None, "qps": q,
         CPU: 1e6 / q if q else math.nan, "latency_p50_us": 1e6 / q if q else math.nan,
         "latency_p99_us": 4e6 / q if q else math.nan, "bottleneck": bottleneck,
         "closing_ceiling": closing,
         **{name: values[repeat] for name, values in columns.items()}}
        for repeat, q in enumerate(qps)]
    return pd.DataFrame(rows)


def brute_p(base: np.ndarray, new: np.ndarray, shift: float = 0.0) -> float:
    """The two-sided p of new = base + shift (logs), every split of the pooled values counted."""
    moved = new - shift
    pooled = np.concatenate([base, moved])
    n, m = base.size, moved.size
    observed = abs(moved.mean() - base.mean())
    extreme = total = 0
    for members in itertools.combinations(range(n + m), m):
        chosen = np.zeros(n + m, dtype=bool)
        chosen[list(members)] = True
        total += 1
        extreme += abs(pooled[chosen].mean() - pooled[~chosen].mean()) >= observed - 1e-12
    return extreme / total


BASE_QPS = [10_000.0, 10_200.0, 9_900.0, 10_100.0, 9_950.0]
NEW_QPS = [8_100.0, 8_300.0, 7_900.0, 8_200.0, 8_000.0]
BASE_CAL = [100_000.0, 104_000.0, 98_000.0, 101_000.0, 99_000.0]
NEW_CAL = [90_000.0, 93_000.0, 88_500.0, 91_000.0, 89_500.0]  # the machine ran slower in the new batch


def test_a_change_between_batches_is_the_exact_test_of_each_run_over_its_calibration_run() -> None:
    base = pd.concat([batch("stage4", BASE_QPS), batch("calibration", BASE_CAL)], ignore_index=True)
    new = pd.concat([batch("stage4", NEW_QPS), batch("calibration", NEW_CAL)], ignore_index=True)
    changes = {c.metric: c for c in compare(base, new)}
    qps = changes["qps"]
    before = np.log(np.array(BASE_QPS) / np.array(BASE_CAL))
    after = np.log(np.array(NEW_QPS) / np.array(NEW_CAL))
    observed = after.mean() - before.mean()
    assert (qps.basis, qps.base, qps.new) == (PER_REFERENCE, 10_000.0, 8_100.0)  # medians as measured
    assert qps.change == pytest.approx(math.expm1(observed), abs=1e-12)
    assert qps.p_value == pytest.approx(brute_p(before, after), abs=1e-12) == 2 / 252
    level = 0.05 / len(changes)  # every test here can reach its share of the 5%
    assert qps.level == pytest.approx(level) and qps.verdict == "worse"
    assert qps.low is not None and qps.high is not None and qps.detectable is not None
    low, high = math.log1p(qps.low), math.log1p(qps.high)
    assert brute_p(before, after, low) <= level < brute_p(before, after, low + 1e-6)  # the interval's ends
    assert brute_p(before, after, high) <= level < brute_p(before, after, high - 1e-6)
    assert qps.detectable == pytest.approx(math.expm1(max(observed - low, high - observed)))
    cpu = changes[CPU]  # less CPU per request is better; it drifted with the machine too
    assert (cpu.basis, cpu.verdict) == (PER_REFERENCE, "worse") and cpu.change > 0
    assert cpu.low is not None and cpu.high is not None and cpu.low > 0  # an interval above no change
    grew, low, high = math.log1p(cpu.change), math.log1p(cpu.low), math.log1p(cpu.high)
    assert cpu.detectable == pytest.approx(math.expm1(max(grew - low, high - grew)))
    assert (cpu.base_rate, cpu.new_rate) == (10_000.0, 8_100.0)


def test_each_run_is_read_against_the_calibration_run_of_its_own_ceiling() -> None:
    """Stage 0 closes every connection, so it is read against the minimal server's --close run of
    its repeat; stage 4 against the keep-alive one. Between these batches only the closing
    ceiling halved."""
    def side(closing_ceiling: float) -> pd.DataFrame:
        return pd.concat([batch("stage0", [400.0, 410.0, 405.0, 395.0, 402.0], closing=True),
                          batch("calibration", [100_000.0] * 5, closing=False),
                          batch("calibration", [closing_ceiling] * 5, closing=True)], ignore_index=True)

    (qps,) = [c for c in compare(side(20_000.0), side(10_000.0)) if c.metric == "qps"]
    assert (qps.basis, qps.change) == (PER_REFERENCE, pytest.approx(1.0))  # twice the share of its ceiling
    # A batch from before ceilings were recorded: each run against its repeat's first calibration run.
    old = [frame.assign(closing_ceiling=None) for frame in (side(20_000.0), side(10_000.0))]
    (qps,) = [c for c in compare(*old) if c.metric == "qps"]
    assert qps.change == pytest.approx(0.0, abs=1e-12)


def test_a_side_without_a_calibration_run_in_every_repeat_is_compared_as_measured() -> None:
    base = batch("stage4", BASE_QPS)  # no calibration at all
    new = pd.concat([batch("stage4", NEW_QPS), batch("calibration", NEW_CAL)], ignore_index=True)
    assert {c.basis for c in compare(base, new)} == {AS_MEASURED}
    zero = pd.concat([batch("stage4", BASE_QPS), batch("calibration", [0.0, *BASE_CAL[1:]])], ignore_index=True)
    by = {c.metric: c for c in compare(zero, new)}
    assert by["qps"].basis == AS_MEASURED  # a zero reference divides nothing
    small = [0.5] * 5  # a calibration run's CPU per request under a microsecond is still a reference
    low = pd.concat([batch("stage4", BASE_QPS), batch("calibration", BASE_CAL, **{CPU: small})], ignore_index=True)
    high = pd.concat([batch("stage4", NEW_QPS), batch("calibration", NEW_CAL, **{CPU: small})], ignore_index=True)
    assert {c.metric: c.basis for c in compare(low, high)}[CPU] == PER_REFERENCE


def test_what_cannot_be_told_says_why_and_still_shows_the_medians() -> None:
    saturated = compare(batch("stage4", BASE_QPS, bottleneck="generator"), batch("stage4", NEW_QPS))
    qps = next(c for c in saturated if c.metric == "qps")
    assert qps.verdict == "cannot tell: generator-bound" and qps.change == pytest.approx(8_100 / 10_000 - 1)
    assert (qps.low, qps.p_value, qps.level, qps.detectable) == (None, None, None, None)
    assert next(c for c in saturated if c.metric == CPU).verdict in ("worse", "better", "no significant change")
    zeros = compare(batch("stage4", BASE_QPS, latency_p50_us=[0.0] * 5),
                    batch("stage4", NEW_QPS, latency_p50_us=[5.0] * 5))
    p50 = next(c for c in zeros if c.metric == "latency_p50_us")
    assert p50.verdict == "cannot tell: values that are not positive and finite" and math.isnan(p50.change)
    zeros = compare(batch("stage4", BASE_QPS, latency_p50_us=[5.0] * 5),
                    batch("stage4", NEW_QPS, latency_p50_us=[0.0] * 5))  # on the new side
    assert next(c for c in zeros if c.metric == "latency_p50_us").verdict.endswith("not positive and finite")
    one_side = compare(batch("stage4", BASE_QPS), batch("stage4", NEW_QPS, server_rss_per_connection_bytes=[9.0] * 5))
    assert "server_rss_per_connection_bytes" not in {c.metric for c in one_side}  # one side only: no change
    few = compare_targets(pd.concat([batch("a", BASE_QPS[:3]), batch("b", NEW_QPS[:3])])
                          .drop(columns=[CPU, "latency_p50_us", "latency_p99_us"]), "a", "b")
    assert [c.verdict for c in few] == ["cannot tell: 3 v 3 repeats; 4 a side would"]  # one test: 5% to itself
    assert notes(few)[-1].startswith("a change is significant at p ≤ 0.0500: 5% over the diff's tests")


def test_many_repeats_are_tested_on_a_seeded_sample_of_splits() -> None:
    rng = np.random.default_rng(3)
    base = batch("stage4", list(10_000 * np.exp(rng.normal(0, 0.02, 10))))
    new = batch("stage4", list(9_900 * np.exp(rng.normal(0, 0.02, 10))))
    first, again = compare(base, new), compare(base, new)
    assert [c.p_value for c in first] == [c.p_value for c in again]  # the same batches, the same verdicts
    p = first[0].p_value
    assert p is not None and p * (RANDOM_SPLITS + 1) == pytest.approx(round(p * (RANDOM_SPLITS + 1)), abs=1e-6)


def test_the_repeats_a_count_needs_for_its_family() -> None:
    assert counted_repeats_needed(0, 1) == 4  # nothing else in the family: the 5% alone
    assert counted_repeats_needed(2, 5) == 6  # 16 tests: 0.05 / 16 ≥ 2 / C(12, 6)
    assert counted_repeats_needed(3, 5) == 7  # 24 tests: below it
    assert repeats_needed(0.1) == 3 and repeats_needed(1.0) == 2  # 3 v 3 reach 2 / 20 exactly


@pytest.mark.parametrize(("smallest", "level"), [
    ([0.01], 0.05),
    ([0.025, 0.025, 0.025], 0.05 / 3),  # at 0.05 / 2 all three can reach it: too many
    ([0.02, 0.02, 0.08], 0.025),  # the third cannot reach 0.05 / 2, so it does not count
    ([0.5, 0.5], 0.05),  # no test can reach 5%: it is still the level
])
def test_tarone_s_level_counts_only_the_tests_that_could_reach_it(smallest: list[float], level: float) -> None:
    assert family_level(smallest, 0.05) == pytest.approx(level)


def test_the_machines_and_the_drift_of_two_batches() -> None:
    base = batch("s", [1.0, 1.0], cpu_model=["a", "a"], locust_version=["2.40", "2.41"])
    new = batch("s", [1.0, 1.0], locust_version=["2.42", "2.42"])  # no CPU model recorded
    assert machine_differences(base, new) == ["locust_version 2.40, 2.41 → 2.42"]
    assert machine_differences(new, base) == ["locust_version 2.42 → 2.40, 2.41"]
    calibrated = pd.concat([batch("calibration", [100.0, 100.0]), batch("calibration", [50.0], scenario="json")])
    assert drift(calibrated, batch("calibration", [110.0, 110.0])) == ["plaintext +10.0%"]  # json: not in both


def test_a_regression_is_worse_by_more_than_the_threshold() -> None:
    def worse(change: float) -> Change:
        return Change("s", "plaintext", "qps", 100.0, 95.0, change, -0.1, -0.01, 0.001, "worse")

    assert regressions([worse(-0.05)], 0.05) == [] and regressions([worse(-0.0501)], 0.05) == [worse(-0.0501)]


def test_two_targets_are_compared_on_every_scenario_both_ran() -> None:
    runs = pd.concat([batch("a", BASE_QPS, scenario="json"), batch("a", BASE_QPS), batch("b", NEW_QPS)])
    assert {c.scenario for c in compare_targets(runs, "a", "b")} == {"plaintext"}  # json: a alone


def test_a_history_step_missing_the_metric_on_either_side_is_left_out() -> None:
    with_p50 = Step("one", batch("s", BASE_QPS, latency_p50_us=[100.0] * 5), pd.DataFrame())
    without = Step("two", batch("s", NEW_QPS).drop(columns="latency_p50_us"), pd.DataFrame())
    also = Step("three", batch("s", NEW_QPS, latency_p50_us=[110.0] * 5), pd.DataFrame())
    four = Step("four", also.runs, pd.DataFrame())
    judged = compare_steps([(with_p50, without), (without, also), (with_p50, four)], "s", "plaintext",
                           "latency_p50_us")
    assert list(judged) == ["four"] and judged["four"].scenario == "plaintext"
    assert smallest_p(5, 5) == 2 / 252


def test_the_interval_of_widely_spread_values_is_found_wherever_it_lies() -> None:
    before = np.log([1.0, 30.0, 2.0, 60.0, 5.0])  # values a hundred times apart: a spread of logs above 4
    after = np.log([3.0, 90.0, 8.0, 200.0, 20.0])
    (qps,) = [c for c in compare_targets(pd.concat([batch("a", list(np.exp(before))), batch("b", list(np.exp(after)))])
                                         .drop(columns=[CPU, "latency_p50_us", "latency_p99_us"]), "a", "b")]
    assert qps.low is not None and qps.high is not None and qps.level is not None
    low, high = math.log1p(qps.low), math.log1p(qps.high)
    assert brute_p(before, after, low) <= qps.level < brute_p(before, after, low + 1e-6)
    assert brute_p(before, after, high) <= qps.level < brute_p(before, after, high - 1e-6)


def test_a_counted_only_comparison_has_no_rate() -> None:
    counts = pd.DataFrame([{"target": t, "target_label": t, "scenario": "plaintext", "repeat": r, "run_id": f"{t}{r}",
                            "error": None, "server_instructions_per_request": v, "server_syscalls_per_request": 7.0}
                           for t, v in (("a", 50_000.0), ("b", 51_000.0)) for r in range(5)])
    timed = pd.concat([batch("a", BASE_QPS, scenario="json"), batch("b", NEW_QPS, scenario="json")])  # not plaintext
    changes = [c for c in compare_targets(timed, "a", "b", counts) if c.scenario == "plaintext"]
    assert changes and all(c.base_rate is None and c.new_rate is None for c in changes)
