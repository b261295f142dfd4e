"""lab diff on counted runs (instructions and system calls per request under valgrind): a 1%
change called worse at the default counted repeats with the diff's family-wise 5%, the same
server counted twice not, compared as counted between batches, and the functions that moved."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from rich.console import Console
from rich.table import Table

from lab.analysis.batch import Batch
from lab.analysis.console import COUNTED_NOTE, batch_summary, counted_table
from lab.analysis.diff import (
    ALPHA,
    COUNTED,
    compare,
    compare_targets,
    counted_repeats_needed,
    smallest_p,
)
from lab.analysis.moved import COUNTED_COST, FUNCTIONS_SHOWN, function_changes, function_medians
from lab.analysis.present import COUNTED_COLUMN, notes, summary_text
from lab.analysis.report import _counted_section
from lab.analysis.summary import counted_summary, summarize
from lab.analysis.tables import instructions_table, top_functions_table
from tests.lab.analysis.test_diff import BASE_CPU, BASE_QPS, runs

INSTRUCTIONS = "server_instructions_per_request"
# The spread of counted runs here: stage 4's five counts of one batch lay within 0.12%.
SPREAD = 0.0006


def counted(target: str, instructions: list[float], scenario: str = "plaintext", **more: Any) -> pd.DataFrame:
    return pd.DataFrame([
        {"target": target, "target_label": target, "scenario": scenario, "repeat": repeat,
         "run_id": f"{target}-{scenario}-c{repeat}", "error": None, INSTRUCTIONS: value,
         "server_syscalls_per_request": 7.0, "valgrind_version": "valgrind-3.19.0", **more}
        for repeat, value in enumerate(instructions)])


def noisy(mean: float, n: int, rng: np.random.Generator) -> list[float]:
    return list(mean * np.exp(rng.normal(0, SPREAD, n)))


@pytest.mark.parametrize(("pairs", "timed", "repeats"), [(1, 1, 5), (20, 1, 7), (4, 5, 7), (100, 1, 8)])
def test_the_counted_repeats_bring_the_floor_under_the_family_s_level(pairs: int, timed: int, repeats: int) -> None:
    assert counted_repeats_needed(pairs, timed) == repeats
    tests = pairs * 2 + (pairs * 5 if timed >= 4 else 0)
    assert smallest_p(repeats, repeats) <= ALPHA / tests < smallest_p(repeats - 1, repeats - 1)


@pytest.mark.simulation
def test_a_1_percent_change_is_worse_and_the_same_server_counted_twice_is_not() -> None:
    """The default `lab compare --instructions` of stages 0-4 × 4 scenarios, between batches: 20
    pairs, 7 counted repeats; one pair 1% costlier. 50 such diffs call it worse every time, and
    the other 19 pairs (and the syscalls, unchanged) together at most 5% of the time."""
    rng = np.random.default_rng(35)
    repeats = counted_repeats_needed(20, 1)
    names = [(f"stage{k % 5}", f"scenario{k // 5}") for k in range(20)]
    false_alarms = 0
    for _ in range(50):
        base = pd.concat([counted(t, noisy(50_000, repeats, rng), s) for t, s in names])
        new = pd.concat([counted(t, noisy(50_500 if (t, s) == names[0] else 50_000, repeats, rng), s)
                         for t, s in names])
        changes = compare(pd.DataFrame(), pd.DataFrame(), base, new)
        assert len(changes) == 40 and {c.basis for c in changes} == {COUNTED}
        first = next(c for c in changes if c.metric == INSTRUCTIONS and (c.target, c.scenario) == names[0])
        assert first.verdict == "worse" and first.change == pytest.approx(0.01, abs=0.002)
        false_alarms += any(c.significant for c in changes if c is not first)
    assert false_alarms <= 2.5 + 3 * math.sqrt(50 * 0.05 * 0.95)  # 5%, with 3 standard deviations of room


def test_counts_are_judged_within_a_batch_over_the_counted_repeats_both_finished() -> None:
    same, costlier = counted("a", [50_000, 50_010, 49_990, 50_020, 50_005]), counted("c", [50_600] * 5)
    aa = counted("b", [50_012, 49_995, 50_003, 50_008, 49_998])
    timed = runs("a", BASE_QPS, BASE_CPU)  # a timed run of one of them: judged apart, with its own repeats
    batch = pd.concat([same, aa, costlier])
    changes = compare_targets(timed, "a", "c", batch)
    (instructions,) = [c for c in changes if c.metric == INSTRUCTIONS]
    assert instructions.verdict == "worse" and instructions.level == pytest.approx(ALPHA / 2)
    assert {c.verdict for c in compare_targets(timed, "a", "b", batch)} == {"no significant change"}
    failed = batch.assign(error=[None] * 4 + ["valgrind died"] + [None] * 10)  # a's fifth count failed
    (short,) = [c for c in compare_targets(pd.DataFrame(), "a", "c", failed) if c.metric == INSTRUCTIONS]
    assert short.verdict.startswith("cannot tell: 4 v 4 repeats")
    with pytest.raises(KeyError, match="no finished runs of target 'z'"):
        compare_targets(pd.DataFrame(), "a", "z", batch)


def test_a_count_is_compared_as_counted_between_batches_and_its_notes_say_so() -> None:
    base = pd.concat([runs("stage4", BASE_QPS, BASE_CPU)])
    changes = compare(base, base, counted("stage4", [50_000] * 5), counted("stage4", [50_000] * 5))
    by = {c.metric: c.basis for c in changes}
    assert by[INSTRUCTIONS] == COUNTED and by["server_syscalls_per_request"] == COUNTED and by["qps"] != COUNTED
    said = notes(changes, pd.concat([base, counted("stage4", [1.0])]),
                 pd.concat([base, counted("stage4", [1.0], valgrind_version="valgrind-3.22.0")]))
    assert any("compared as counted, between any two batches run on the same software" in line for line in said)
    assert any("valgrind_version valgrind-3.19.0 → valgrind-3.22.0" in line for line in said)
    assert any(line.endswith("compared as counted") for line in notes(changes))  # one batch


def _functions(run_ids: list[str], costs: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame([{"run_id": run, "rank": rank, "object": "libpython3.11.so", "function": name,
                          "self_instructions_per_request": cost, "inclusive_instructions_per_request": cost}
                         for run in run_ids for rank, (name, cost) in enumerate(costs.items(), 1)])


def test_the_functions_that_moved_most_come_first_and_a_missing_one_counts_zero() -> None:
    base_runs, new_runs = counted("s4", [50_000] * 3), counted("s4", [52_000] * 3)
    costs = {f"f{k}": 100.0 * k for k in range(15)}
    base = _functions(list(base_runs["run_id"]), {**costs, "gone": 300.0})
    new = _functions(list(new_runs["run_id"]), {**costs, "f3": 2_300.0, "f7": 500.0, "came": 50.0})
    moved = function_changes(function_medians(base_runs, base, COUNTED_COST),
                             function_medians(new_runs, new, COUNTED_COST))
    assert len(moved) == FUNCTIONS_SHOWN
    assert [(c.function[1], c.change) for c in moved[:4]] == [("f3", 2_000.0), ("gone", -300.0), ("f7", -200.0),
                                                              ("came", 50.0)]
    assert moved[0].target == "s4" and moved[0].base == 300.0 and moved[0].new == 2_300.0
    assert moved[0].function == ("libpython3.11.so", "f3") and moved[0].spread == 0.0
    a, b = counted("a", [50_000] * 3), counted("b", [52_000] * 3)
    one_batch = function_medians(pd.concat([a, b]), pd.concat([_functions(list(a["run_id"]), costs),
                                                               _functions(list(b["run_id"]), {**costs, "f3": 900.0})]),
                                 COUNTED_COST)
    within = function_changes(one_batch, one_batch, [("a", "b", "plaintext")])
    assert (within[0].target, within[0].function[1], within[0].change) == ("a → b", "f3", 600.0)
    assert function_changes({}, {}) == []


def test_the_summary_gains_an_instructions_column_only_when_counted() -> None:
    timed = runs("stage4", BASE_QPS, BASE_CPU, target_rate=None, stage=4, failures=0, verified=True)
    assert COUNTED_COLUMN not in summary_text(summarize(timed)).columns
    counts = counted("stage4", [50_000, 50_100, 49_900])
    text = summary_text(summarize(timed, counts))
    assert list(text[COUNTED_COLUMN]) == ["50,000 [49,900–50,100]"]
    table = counted_summary(pd.concat([counts, counted("stage0", [1.0]).assign(error="valgrind missing")]))
    stage4, stage0 = table.iloc[0], table.iloc[1]
    assert stage4["spread"] == pytest.approx(50_100 / 49_900 - 1) and stage4["syscalls"] == 7.0
    assert stage0["error"] == "valgrind missing" and stage0["counted_runs"] == 1


def test_each_summary_row_gets_its_own_target_and_scenario_s_counts() -> None:
    timed = pd.concat([runs(target, BASE_QPS, BASE_CPU, target_rate=None, stage=stage, failures=0, verified=True,
                            scenario=scenario)
                       for target, stage in (("stage2", 2), ("stage4", 4)) for scenario in ("plaintext", "json")])
    counts = pd.concat([counted("stage2", [90_000, 91_000], "plaintext"), counted("stage4", [50_000], "plaintext"),
                        counted("stage4", [60_000, 61_000, 62_000], "json")])
    summary = summarize(timed, counts).set_index(["target", "scenario"])
    assert list(summary["counted_runs"]) == [2, 0, 1, 3]  # stage 2 counted nothing on json
    assert summary.loc[("stage2", "plaintext"), INSTRUCTIONS] == 90_500
    assert summary.loc[("stage4", "plaintext"), INSTRUCTIONS] == 50_000
    assert summary.loc[("stage4", "json"), INSTRUCTIONS] == 61_000
    assert math.isnan(summary.loc[("stage2", "json"), INSTRUCTIONS])


def test_the_counted_table_shows_each_target_s_counts_and_what_failed() -> None:
    counts = pd.concat([counted("stage4", [50_000, 50_100, 49_900]),
                        counted("stage0", [1.0]).assign(error="valgrind is not installed: install it")])
    console = Console(width=200, record=True)
    console.print(counted_table(counts))
    lines = console.export_text().splitlines()
    assert lines[0].strip() == "instructions per request (counted under valgrind)"
    assert [cell.strip() for cell in lines[2].strip("┃").split("┃")] == [
        "stage / target", "scenario", "runs", "instructions/req", "range", "spread", "syscalls/req"]
    (stage4,) = [line for line in lines if "stage4" in line]
    assert [cell.strip() for cell in stage4.strip("│").split("│")] == [
        "stage4", "plaintext", "3", "50,000", "49,900–50,100", "0.40%", "7.00"]
    (stage0,) = [line for line in lines if "stage0" in line]
    assert [cell.strip() for cell in stage0.strip("│").split("│")][:4] == [
        "stage0", "plaintext", "1", "failed: valgrind is not installed: install it"]
    timed = runs("stage4", BASE_QPS, BASE_CPU, target_rate=None, stage=4, failures=0, verified=True,
                 load_processes_reporting=None, client_cpus=None)
    parts = batch_summary(timed, "b", counts)
    assert parts[-1] == f"[dim]{COUNTED_NOTE}[/dim]" and isinstance(parts[-2], Table)
    assert all(not isinstance(part, str) or COUNTED_NOTE not in part for part in batch_summary(timed, "b"))


def test_the_report_s_counted_section_shows_the_counts_and_where_they_go() -> None:
    counts = counted("stage4", [50_000, 50_100, 49_900])
    functions = _functions(list(counts["run_id"]), {f"f{k}": 100.0 * k for k in range(12)})
    batch = Batch("b", pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), counts, functions)
    table = instructions_table(batch)
    assert table.iloc[0].to_dict() == {"target_label": "stage4", "scenario": "plaintext", "counted_runs": 3,
                                       "instructions_per_request": 50_000.0, "lowest": 49_900.0, "highest": 50_100.0,
                                       "spread_percent": pytest.approx(0.4008, abs=1e-4),
                                       "syscalls_per_request": 7.0}
    top = top_functions_table(batch)
    assert list(top["function"]) == [f"f{k}" for k in range(11, 3, -1)]  # the 8 costliest, costliest first
    html = "".join(_counted_section(batch))
    assert "<h2>Instructions per request (counted)</h2>" in html and "50,000" in html and "f11" in html
    assert _counted_section(Batch("b", pd.DataFrame(), pd.DataFrame(), pd.DataFrame())) == []
