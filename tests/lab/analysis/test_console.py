"""The console's tables and the moved functions' markdown, in memory: what `lab results`, `lab
compare` and `lab diff` print, cell by cell, and what they colour."""

from __future__ import annotations

import pandas as pd
from rich.console import Console
from rich.table import Table

from lab.analysis.console import (
    COUNTED_NOTE,
    FUNCTION_WIDTH,
    batch_summary,
    counted_table,
    diff_table,
    equal_load_summary,
    functions_table,
    profiled_table,
    summary_table,
)
from lab.analysis.diff import PER_REFERENCE, Change
from lab.analysis.moved import COUNTED_COST, PROFILED_COST, FunctionChange
from lab.analysis.present import functions_markdown
from lab.analysis.summary import summarize
from lab.model.target import CALIBRATION_TARGET
from lab.store.columns import RUN_COLUMNS
from tests.lab.analysis.test_diff_counted import counted
from tests.lab.analysis.test_profiles import _rows
from tests.lab.analysis.test_summary import RUNS as SUMMARY_RUNS
from tests.lab.run.test_plan import latency_run


def _cells(table: Table) -> list[list[str]]:
    """The table's rows as the markup each cell holds."""
    columns = [list(column.cells) for column in table.columns]
    return [[str(column[row]) for column in columns] for row in range(table.row_count)]


def _justified(table: Table) -> dict[str, str]:
    return {str(column.header): str(column.justify) for column in table.columns}


LONG = "servers/core/parser.py:_read_head" + "x" * 60


def test_the_profiled_table_gives_the_profiler_s_cost_and_the_top_functions() -> None:
    timed = _rows("stage4", [20_000.0, 24_000.0, 22_000.0])
    profiled = pd.concat([_rows("stage4", [16_500.0, 16_500.0], profiler="py-spy", profile_samples=300),
                          _rows("gone[x]", [1.0], profiler=None, profile_samples=None).assign(error="died [x]")])
    functions = pd.DataFrame([{"run_id": run, "function": name, "self_us_per_request": cost,
                               "inclusive_us_per_request": cost}
                              for run in ("stage4-0", "stage4-1")
                              for name, cost in (("a", 12.0), (LONG, 3.0), *((f"f{n}", 1.0) for n in range(5)))])
    table = profiled_table(profiled, timed, functions)
    assert table.title == "where the CPU time goes (profiled)"
    assert _justified(table) == {"stage / target": "left", "scenario": "left", "runs": "right", "QPS profiled": "right",
                                 "vs timed": "right", "CPU µs/req": "right", "top 5 functions by own µs/req": "left"}
    (stage4, gone) = _cells(table)
    short = LONG[:FUNCTION_WIDTH - 1] + "…"
    assert stage4 == ["stage4", "plaintext", "2", "16,500", "-25%", "40.0",
                      f"12.00  a\n3.00  {short}\n1.00  f0\n1.00  f1\n1.00  f2"]
    assert gone == ["gone\\[x]", "plaintext", "1", "[red]failed: died \\[x][/red]", "", "", ""]


def test_a_function_name_of_the_width_is_kept_whole() -> None:
    timed = _rows("stage4", [1.0])
    profiled = _rows("stage4", [1.0], profiler="perf", profile_samples=3)
    exact = "f" * FUNCTION_WIDTH
    functions = pd.DataFrame([{"run_id": "stage4-0", "function": exact, "self_us_per_request": 1.0,
                               "inclusive_us_per_request": 1.0}])
    assert _cells(profiled_table(profiled, timed, functions))[0][-1] == f"1.00  {exact}"


CHANGES = [
    FunctionChange("stage4", "plaintext", ("libpython3.11.so", "f|x"), 300.0, 2_300.0, 10.0),
    FunctionChange("stage2 → stage4", "json", ("qpslab", "g"), 1_200.0, 900.0, 0.0),
]


def test_the_moved_functions_as_markdown_and_on_the_console() -> None:
    assert functions_markdown(CHANGES, COUNTED_COST) == (
        "\nWhere the instructions moved (self instructions per request, medians of the counted runs; a function not "
        "among a run's kept functions counts 0 there; spread: the larger side's range over its runs):\n\n"
        "| target | scenario | object | function | base instr/req | new instr/req | change | spread |\n"
        "|---|---|---|---|---|---|---|---|\n"
        "| stage4 | plaintext | libpython3.11.so | f\\|x | 300 | 2,300 | +2,000 | 10 |\n"
        "| stage2 → stage4 | json | qpslab | g | 1,200 | 900 | -300 | 0 |\n")
    table = functions_table([FunctionChange("stage4", "plaintext", ("[b]",), 1.5, 1.25, 0.125)], PROFILED_COST)
    assert (table.title, table.caption) == (PROFILED_COST.title, PROFILED_COST.note)
    assert _justified(table) == {"target": "left", "scenario": "left", "function": "left", "base µs/req": "right",
                                 "new µs/req": "right", "change": "right", "spread": "right"}
    assert _cells(table) == [["stage4", "plaintext", "\\[b]", "1.50", "1.25", "-0.25", "0.12"]]


def test_the_diff_table_colours_the_verdicts_it_can_tell() -> None:
    def change(verdict: str, basis: str = "as measured") -> Change:
        return Change("stage4", "plaintext", "qps", 1_000.0, 1_100.0, 0.1, 0.05, 0.15, 0.001, verdict, 0.01, 0.04,
                      basis)

    table = diff_table([change("better", PER_REFERENCE), change("worse"), change("no significant change"),
                        change("cannot tell: [why]")], "a → b")
    assert table.title == "a → b"
    assert _justified(table) == {"target": "left", "scenario": "left", "metric": "left", "base": "right",
                                 "new": "right", "change": "right", "interval": "left", "detectable": "right",
                                 "p (needed)": "right", "verdict": "left"}
    rows = _cells(table)
    assert rows[0] == ["stage4", "plaintext", "qps", "1,000.0", "1,100.0", "+10.0% per cal.", "+5.0% … +15.0%",
                       "±4.0%", "0.001 (≤ 0.010)", "[green]better[/green]"]
    assert [row[-1] for row in rows[1:]] == ["[red]worse[/red]", "no significant change", "cannot tell: \\[why]"]


def test_the_tables_print() -> None:
    console = Console(width=200, record=True, color_system=None)
    console.print(functions_table(CHANGES, COUNTED_COST))
    assert "f|x" in console.export_text()


def test_the_summary_table_marks_failures_unverified_rows_and_saturation() -> None:
    table = summary_table(summarize(SUMMARY_RUNS), "the batch")
    assert (table.title, table.title_justify) == ("the batch", "left")
    assert _justified(table) == {"stage / target": "left", "scenario": "left", "QPS": "right", "p50 µs": "right",
                                 "p99 µs": "right", "CPU µs/req": "right", "speedup": "right", "roadmap": "right",
                                 "bottleneck": "left"}
    rows = {row[0]: row for row in _cells(table)}
    assert rows["stage4 [red](unverified)[/red]"] == [
        "stage4 [red](unverified)[/red]", "plaintext", "≥ 10,000 [9,000–11,000]", "1,000.0 [900.0–1,100.0]",
        "2,000.0 [1,800.0–2,200.0]", "100.0 [90.9–111.1]", "≥ 10.00x", "100,000 (218x)",
        "[yellow]generator (saturated)[/yellow]"]
    assert rows["stage2"][2:4] == ["[red]failed: died again[/red]", ""]
    assert rows["stage0"][8] == rows["stage1"][8] == "server"  # not saturated: not marked
    assert rows["peer"][1] == "json"


def test_the_counted_table_gives_each_target_s_counts_and_what_failed() -> None:
    table = counted_table(pd.concat([counted("stage4", [50_000, 50_100, 49_900]),
                                     counted("stage0", [1.0]).assign(error="valgrind is not installed: [x]")]))
    assert (table.title, table.title_justify) == ("instructions per request (counted under valgrind)", "left")
    assert _justified(table) == {"stage / target": "left", "scenario": "left", "runs": "right",
                                 "instructions/req": "right", "range": "right", "spread": "right",
                                 "syscalls/req": "right"}
    assert _cells(table) == [["stage4", "plaintext", "3", "50,000", "49,900–50,100", "0.40%", "7.00"],
                             ["stage0", "plaintext", "1", "[red]failed: valgrind is not installed: \\[x][/red]",
                              "", "", ""]]


def test_the_equal_load_table_writes_each_figure_to_its_own_precision() -> None:
    slow = [{**latency_run(target, 0, (200.0, 900.0), (100.0, 500.0), cpu=cpu, qps=50.0), "target_rate": 50.0}
            for target, cpu in ((CALIBRATION_TARGET, 5.25), ("stage2", 150.25))]
    table = equal_load_summary(pd.DataFrame(slow, columns=list(RUN_COLUMNS)))
    assert table is not None and (table.title_justify, _justified(table)) == ("left", {
        "rank": "right", "stage / target": "left", "scenario": "left", "asked req/s": "right",
        "served req/s": "right", "CPU µs/req": "right", "above the floor": "right"})
    assert _cells(table) == [["floor", "minimal server (calibration)", "latency", "50", "50", "5.2", ""],
                             ["1", "stage2", "latency", "50", "50", "150.2", "145.0"]]


def test_a_batch_summary_leaves_out_what_the_batch_lacks() -> None:
    parts = batch_summary(pd.DataFrame(), "b")
    assert parts == []
    counts = counted("stage4", [50_000])
    only_counted = batch_summary(pd.DataFrame(), "b", counts)
    assert isinstance(only_counted[0], Table) and only_counted[1] == f"[dim]{COUNTED_NOTE}[/dim]"
    assert len(only_counted) == 2


def test_a_table_s_caption_is_its_cost_s_note() -> None:
    table = functions_table(CHANGES, COUNTED_COST)
    assert (table.title_justify, table.caption_justify) == ("left", "left")


def test_failed_rows_first_long_errors_and_failed_repeats_among_good_ones() -> None:
    long_error = "valgrind: " + "x" * 100
    counts = pd.concat([counted("stage0", [1.0]).assign(error=long_error),
                        counted("stage4", [12.25, 12.25, 12.25], server_syscalls_per_request=12.5),
                        counted("stage4", [1.0]).assign(error="one count died")])
    rows = _cells(counted_table(counts))
    assert rows[0][3] == f"[red]failed: {long_error[:60]}[/red]"
    assert rows[1] == ["stage4", "plaintext", "3", "12", "12–12", "0.00%", "12.50"]  # 4 counted, 1 failed
    timed = _rows("stage4", [20_000.0])
    profiled = pd.concat([_rows("gone", [1.0], profiler=None, profile_samples=None).assign(error=long_error),
                          _rows("stage4", [16_000.0, 16_000.0], profiler="py-spy", profile_samples=300),
                          _rows("stage4", [1.0], profiler="py-spy", profile_samples=None).assign(error="died")])
    rows = _cells(profiled_table(profiled, timed, pd.DataFrame()))
    assert rows[0][3] == f"[red]failed: {long_error[:80]}[/red]"
    assert rows[1][:5] == ["stage4", "plaintext", "2", "16,000", "-20%"]


def test_a_batch_summary_counts_and_says_how_the_load_was_made() -> None:
    runs = SUMMARY_RUNS.assign(driver="wrk", load_processes_reporting=2, client_cpus="1")
    parts = batch_summary(runs, "b", counted("stage4", [50_000]))
    summary = parts[0]
    assert isinstance(summary, Table) and "instructions/req" in [str(c.header) for c in summary.columns]
    assert parts[1] == "[dim]load: wrk with 2 threads per run, on client CPUs 1[/dim]"
