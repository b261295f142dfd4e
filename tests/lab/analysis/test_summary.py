"""lab.analysis.summary.summarize on runs built by hand: every column of a summary row."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest
from rich.console import Console

from lab.analysis.console import summary_table
from lab.analysis.summary import generator_note, median_interval, saturation_hint, summarize


def missing(value: object) -> bool:
    """None, or the NaN pandas puts in its place."""
    return value is None or (isinstance(value, float) and math.isnan(value))


def run(target: str, stage: int | None, scenario: str, qps: float, *, bottleneck: str = "server",
        error: str | None = None, failures: int = 0, verified: bool = True, target_rate: float | None = None,
        load_level: float | None = None) -> dict[str, Any]:
    return {"target": target, "target_label": target, "stage": stage, "scenario": scenario,
            "qps": None if error else qps, "latency_p50_us": None if error else qps / 10,
            "latency_p99_us": None if error else qps / 5, "server_cpu_us_per_request": None if error else 1e6 / qps,
            "bottleneck": None if error else bottleneck, "error": error, "failures": failures,
            "verified": None if error else verified, "target_rate": target_rate, "load_level": load_level}


RUNS = pd.DataFrame([
    run("stage0", 0, "plaintext", 1000, failures=1), run("stage0", 0, "plaintext", 1100, failures=2),
    run("stage0", 0, "plaintext", 900), run("stage0", 0, "plaintext", 0, error="first"),
    run("stage0", 0, "plaintext", 0, error="boom"),
    run("stage4", 4, "plaintext", 9000, bottleneck="generator"), run("stage4", 4, "plaintext", 10000),
    run("stage4", 4, "plaintext", 11000, bottleneck="generator", verified=False),
    run("stage3", 3, "plaintext", 3000), run("stage3", 3, "plaintext", 5000, bottleneck="generator"),
    run("stage1", 1, "io-wait", 400, target_rate=500.0, load_level=0.5),
    run("stage2", 2, "plaintext", 0, error="died"), run("stage2", 2, "plaintext", 0, error="died"),
    run("stage2", 2, "plaintext", 0, error="died again"),
    run("peer", None, "json", 0, error="x" * 59 + "yz"),
    run("calibration", None, "plaintext", 40000),
    run("uvicorn", None, "plaintext", 7000), run("uvicorn", None, "plaintext", 0, error="once"),
    {**run("granian", None, "plaintext", 8000), "latency_p50_us": None, "latency_p99_us": None},
])


@pytest.fixture  # per test, so that a mutation tool sees each test call summarize
def summary() -> dict[tuple[str, str], dict[str, Any]]:
    frame = summarize(RUNS)
    return {(row["target"], row["scenario"]): row for row in frame.to_dict("records")}


def test_a_stage_with_failed_runs(summary: dict[tuple[str, str], dict[str, Any]]) -> None:
    row = summary[("stage0", "plaintext")]
    assert (row["stage"], row["runs"], row["failed_runs"]) == (0, 5, 2) and missing(row["error"])
    assert (row["qps"], row["qps_low"], row["qps_high"]) == (1000, 900, 1100)
    assert (row["latency_p50_us"], row["latency_p99_us"]) == (100, 200)
    assert row["server_cpu_us_per_request"] == pytest.approx(1000)
    assert (row["generator_bound_runs"], row["bottleneck"], row["failures"], row["verified"]) == (0, "server", 3, True)
    assert (row["roadmap_qps"], row["roadmap_speedup"]) == (459.0, 1.0)
    assert (row["speedup"], row["speedup_is_floor"]) == (1.0, False)


def test_a_mostly_generator_bound_stage_has_a_floor_for_its_speedup(
        summary: dict[tuple[str, str], dict[str, Any]]) -> None:
    row = summary[("stage4", "plaintext")]
    assert (row["generator_bound_runs"], row["bottleneck"], row["verified"]) == (2, "generator", False)
    assert (row["speedup"], row["speedup_is_floor"]) == (10.0, True)
    assert (row["roadmap_qps"], row["roadmap_speedup"]) == (100_000.0, pytest.approx(100_000 / 459))


def test_half_generator_bound_reads_as_the_floor(summary: dict[tuple[str, str], dict[str, Any]]) -> None:
    """A tie between what held the runs is read as the reading that proves least."""
    row = summary[("stage3", "plaintext")]
    assert (row["generator_bound_runs"], row["bottleneck"], row["speedup_is_floor"]) == (1, "generator", True)
    assert row["speedup"] == 4.0
    assert summary[("stage1", "io-wait @50%")]["roadmap_speedup"] == pytest.approx(7877 / 459)  # achieved, not target


def test_open_loop_and_calibration_rows_have_no_speedup(summary: dict[tuple[str, str], dict[str, Any]]) -> None:
    for key in (("stage1", "io-wait @50%"), ("calibration", "plaintext")):
        row = summary[key]
        assert not row["comparable"] and math.isnan(row["speedup"]) and not row["speedup_is_floor"], key
    assert summary[("stage0", "plaintext")]["comparable"]
    assert missing(summary[("calibration", "plaintext")]["roadmap_qps"])


def test_a_stage_whose_every_run_failed_shows_the_last_error(summary: dict[tuple[str, str], dict[str, Any]]) -> None:
    row = summary[("stage2", "plaintext")]
    assert (row["runs"], row["failed_runs"], row["error"]) == (3, 3, "died again")
    assert math.isnan(row["qps"]) and missing(row["bottleneck"]) and missing(row["verified"])
    assert (row["generator_bound_runs"], row["failures"]) == (0, 0)


def test_rows_keep_the_order_runs_came_in() -> None:
    assert [(r["target"], r["scenario"]) for r in summarize(RUNS).to_dict("records")] == [
        ("stage0", "plaintext"), ("stage4", "plaintext"), ("stage3", "plaintext"), ("stage1", "io-wait @50%"),
        ("stage2", "plaintext"), ("peer", "json"), ("calibration", "plaintext"), ("uvicorn", "plaintext"),
        ("granian", "plaintext")]
    assert summarize(pd.DataFrame()).empty


def test_the_printed_table_shows_floors_intervals_failures_and_saturation() -> None:
    console = Console(width=400, record=True, color_system=None)
    console.print(summary_table(summarize(RUNS), "the batch"))
    text = console.export_text()
    cells = [[c.strip() for c in line.split("│")[1:-1]] for line in text.splitlines() if line.startswith("│")]
    lines = {f"{row[0]} {row[1]}": row[2:] for row in cells if row[0]}
    assert text.startswith("the batch")
    assert lines["stage0 plaintext"] == ["1,000 [900–1,100]", "100.0 [90.0–110.0]", "200.0 [180.0–220.0]",
                                         "1,000.0 [909.1–1,111.1]", "1.00x", "459 (1x)", "server"]
    assert lines["stage4 (unverified) plaintext"] == [
        "≥ 10,000 [9,000–11,000]", "1,000.0 [900.0–1,100.0]", "2,000.0 [1,800.0–2,200.0]", "100.0 [90.9–111.1]",
        "≥ 10.00x", "100,000 (218x)", "generator (saturated)"]
    assert lines["stage1 io-wait @50%"] == ["400", "40.0", "80.0", "2,500.0", "–", "5,000 (17x)", "server"]
    assert lines["stage2 plaintext"] == ["failed: died again", "", "", "", "", "", ""]
    assert lines["peer json"][0] == "failed: " + "x" * 59 + "y"  # an error is cut at 60 characters
    assert lines["calibration plaintext"][-2:] == ["–", "server"]
    assert lines["stage3 plaintext"][:2] == ["≥ 4,000 [3,000–5,000]", "400.0 [300.0–500.0]"]  # two runs: a range
    assert lines["uvicorn plaintext"][:2] == ["7,000", "700.0"]  # one good run of two: no range
    assert lines["granian plaintext"][:3] == ["8,000", "–", "–"]
    header_line = next(line for line in text.splitlines() if "stage / target" in line)
    header = [cell.strip() for cell in header_line.split("┃")[1:-1]]
    assert header == ["stage / target", "scenario", "QPS", "p50 µs", "p99 µs", "CPU µs/req", "speedup", "roadmap",
                      "bottleneck"]
    raw = next(line for line in text.splitlines() if "io-wait @50%" in line).split("│")
    assert raw[1].startswith(" stage1 ") and raw[2].startswith(" io-wait")  # text to the left
    assert all(cell.endswith(" ") and cell.startswith("  ") for cell in raw[3:9]), raw  # numbers to the right


def test_median_interval() -> None:
    assert median_interval([5.0]) == (5.0, 5.0, 5.0)
    assert median_interval([3.0, 1.0, 2.0]) == (2.0, 1.0, 3.0)
    values = [float(v) for v in range(1, 21)]  # n = 20: the order statistics 6 and 15
    assert median_interval(values) == (10.5, 6.0, 15.0)


@pytest.mark.parametrize(("n", "low", "high"), [(6, 1, 6), (8, 1, 8), (9, 2, 8), (10, 2, 9), (12, 3, 10),
                                                (100, 40, 61)])
def test_median_interval_uses_the_binomial_order_statistics(n: int, low: float, high: float) -> None:
    values = [float(v) for v in range(n, 0, -1)]  # given in any order
    assert median_interval(values)[1:] == (low, high)
    assert all(math.isnan(v) for v in median_interval([]))


def test_saturation_hint_when_most_locust_runs_were_generator_bound() -> None:
    def runs(*bottlenecks: str, target: str = "stage4") -> pd.DataFrame:
        return pd.DataFrame({"driver": ["locust"] * len(bottlenecks), "bottleneck": list(bottlenecks),
                             "target": [target] * len(bottlenecks)})

    assert saturation_hint(runs("server", "server", "generator"), True) is None
    hint = saturation_hint(runs("generator", "generator", "server"), True)
    assert hint is not None and hint.startswith("2 of 3 locust runs were generator-bound")
    wrk_runs = pd.DataFrame({"driver": ["wrk"], "bottleneck": ["generator"], "target": ["x"]})
    assert saturation_hint(wrk_runs, True) is None
    # the generator's calibration is generator-bound by design: it is not a server's number
    both = pd.concat([runs("server"), runs("generator", "generator", target="calibration")])
    assert saturation_hint(both, True) is None


@pytest.mark.parametrize(("wrk_here", "remedy"), [
    (True, "rank them by CPU µs/request, or measure ceilings with --driver wrk (closed-loop scenarios), or add "
           "load machines (lab worker)."),
    (False, "rank them by CPU µs/request, or install wrk (apt-get install wrk) and use --driver wrk, or add "
            "load machines (lab worker)."),
])
def test_the_saturation_hint_says_what_to_do_here(wrk_here: bool, remedy: str) -> None:
    runs = pd.DataFrame({"driver": ["locust"] * 2, "bottleneck": ["generator", "server"], "target": ["stage4"] * 2})
    assert saturation_hint(runs, wrk_here) == (
        "1 of 2 locust runs were generator-bound: their QPS is what locust could send, not what the server can "
        "serve; " + remedy)  # half is enough


def test_the_summary_says_how_many_generator_processes_ran_and_where() -> None:
    runs = pd.DataFrame([
        {"driver": "locust", "load_processes_reporting": 7, "client_cpus": "1-7", "error": None},
        {"driver": "locust", "load_processes_reporting": 7, "client_cpus": "1-7", "error": None},
        {"driver": "wrk", "load_processes_reporting": 1, "client_cpus": "1", "error": None},
        {"driver": "locust", "load_processes_reporting": None, "client_cpus": "1-7", "error": "died"},
    ])
    assert generator_note(runs) == ("load: locust with 7 processes per run, on client CPUs 1-7; "
                                    "wrk with 1 thread per run, on client CPUs 1")
    assert generator_note(runs[runs["error"].notna()]) is None


def test_the_load_note_names_threads_processes_and_unpinned_runs_in_order() -> None:
    runs = pd.DataFrame([
        {"driver": "wrk", "load_processes_reporting": 2, "client_cpus": "1-2", "error": None},
        {"driver": "locust", "load_processes_reporting": 1, "client_cpus": None, "error": None},
    ])
    assert generator_note(runs) == ("load: locust with 1 process per run, unpinned; "
                                    "wrk with 2 threads per run, on client CPUs 1-2")
