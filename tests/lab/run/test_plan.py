"""A batch's plan and what its calibration runs give the rows, in memory: the minimal server in
every repeat of every scenario, a ceiling for closed loops, a latency floor for open ones; and
the tables that read them (latency beside the floor, CPU per request at equal load)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console
from rich.table import Table

from lab.analysis.batch import Batch
from lab.analysis.console import batch_summary, equal_load_summary
from lab.analysis.summary import equal_load_table
from lab.analysis.tables import latency_floor_table, stage_table
from lab.files.scenario_file import load_scenario
from lab.model.record import Calibration
from lab.model.scenario import Wait
from lab.model.target import CALIBRATION_TARGET, reference_closes, stage_target
from lab.paths import SCENARIO_DIR
from lab.run.measure import Pinning
from lab.run.plan import CALIBRATION_DURATION_S, Plan
from lab.run.scheduler import read_against
from lab.store.columns import RUN_COLUMNS

PLAINTEXT, LATENCY = (load_scenario(SCENARIO_DIR / f"{name}.toml") for name in ("plaintext", "latency"))
THINKING = replace(PLAINTEXT, id="thinking", load=replace(PLAINTEXT.load, wait=Wait("constant", 0.1, 0.1)))


def plan(*scenarios: object, repeats: int = 2, calibrate: bool = True) -> Plan:
    return Plan((stage_target(0), stage_target(4)), tuple(scenarios), repeats,  # type: ignore[arg-type]
                Pinning(frozenset({0}), frozenset({1})), Path("/nonexistent"), calibrate=calibrate)


def test_every_repeat_of_every_scenario_starts_with_the_minimal_server() -> None:
    runs = plan(PLAINTEXT, LATENCY, THINKING).runs()
    order = [(r.repeat, r.scenario.id, r.target.label) for r in runs]
    close = f"{CALIBRATION_TARGET} --close"  # stage 0 closes every connection: its own ceiling in a closed loop
    assert order == [
        (0, "plaintext", CALIBRATION_TARGET), (0, "plaintext", close), (0, "plaintext", "stage0"),
        (0, "plaintext", "stage4"),
        (0, "latency", CALIBRATION_TARGET), (0, "latency", "stage0"), (0, "latency", "stage4"),
        (0, "thinking", "stage0"), (0, "thinking", "stage4"),  # a think time has no ceiling nor floor
        # Each repeat starts one target later: no target always follows the same one.
        (1, "plaintext", CALIBRATION_TARGET), (1, "plaintext", close), (1, "plaintext", "stage4"),
        (1, "plaintext", "stage0"),
        (1, "latency", CALIBRATION_TARGET), (1, "latency", "stage4"), (1, "latency", "stage0"),
        (1, "thinking", "stage4"), (1, "thinking", "stage0"),
    ]
    ceiling, closing, floor = runs[0].scenario, runs[1], runs[4].scenario
    assert ceiling.load.duration == min(PLAINTEXT.load.duration, CALIBRATION_DURATION_S)  # a ceiling is short
    assert closing.target.closes and closing.target.command[-1] == "--close" and not runs[0].target.closes
    assert floor == LATENCY  # a floor keeps the schedule and the length: its p99 needs the requests
    assert [r.target.name for r in plan(PLAINTEXT, LATENCY, calibrate=False).runs()].count(CALIBRATION_TARGET) == 0


def test_targets_that_keep_their_connections_need_no_closing_ceiling() -> None:
    runs = Plan((stage_target(4), stage_target(4, ("--parser", "core"))), (PLAINTEXT,), 1,
                Pinning(frozenset({0}), frozenset({1})), Path("unused"), calibrate=True).runs()
    assert [r.target.label for r in runs] == [CALIBRATION_TARGET, "stage4", "stage4 --parser core"]
    assert not any(r.target.closes for r in runs)
    ablation = stage_target(4, ("--no-keep-alive",))
    assert ablation.closes and reference_closes(ablation, PLAINTEXT)
    assert not reference_closes(ablation, PLAINTEXT.with_load(pipeline=16))  # refused at verification anyway


def row(**values: object) -> dict[str, object]:
    out: dict[str, object] = dict.fromkeys(RUN_COLUMNS)
    out.update(values)
    return out


def test_a_row_is_read_against_its_own_repeat_s_calibration() -> None:
    closed = read_against(row(qps=20_000.0, target_rate=None, error=None),
                          row(qps=40_000.0, latency_corrected_p99_us=None))
    assert closed == Calibration(generator_ceiling_qps=40_000.0, generator_ceiling_share=0.5)
    failed = read_against(row(qps=None, target_rate=None, error="died"), row(qps=40_000.0))
    assert failed == Calibration(generator_ceiling_qps=40_000.0, generator_ceiling_share=None)
    reference = row(qps=1_000.0, latency_corrected_mean_us=120.0, latency_corrected_p50_us=90.0,
                    latency_corrected_p99_us=600.0)
    open_loop = read_against(row(qps=1_000.0, target_rate=1_000.0, error=None), reference)
    # a fixed rate asks; it measures no ceiling
    assert open_loop == Calibration(latency_floor_mean_us=120.0, latency_floor_p50_us=90.0, latency_floor_p99_us=600.0)


def latency_run(target: str, repeat: int, latency: tuple[float, float], floor: tuple[float, float], *, cpu: float,
                qps: float = 1_000.0) -> dict[str, object]:
    """One open-loop run: its (mean, p99) and its repeat's floor's, in µs."""
    (mean, p99), (floor_mean, floor_p99) = latency, floor
    return row(run_id=f"{target}-{repeat}", target=target, target_label=target, stage=None, scenario="latency",
               repeat=repeat, error=None, load_level=None, target_rate=1_000.0, qps=qps,
               latency_corrected_mean_us=mean, latency_corrected_p50_us=mean * 0.8, latency_corrected_p99_us=p99,
               latency_floor_mean_us=floor_mean, latency_floor_p50_us=floor_mean * 0.8, latency_floor_p99_us=floor_p99,
               server_cpu_us_per_request=cpu)


def test_latency_beside_the_floor_and_what_each_target_adds() -> None:
    runs = pd.DataFrame([latency_run("stage4", 0, (210.0, 1_600.0), (110.0, 650.0), cpu=64.0),
                         latency_run("stage4", 1, (195.0, 1_450.0), (150.0, 1_050.0), cpu=66.0),
                         latency_run("stage4", 2, (205.0, 1_700.0), (130.0, 400.0), cpu=60.0)],
                        columns=list(RUN_COLUMNS))
    table = latency_floor_table(Batch("b", runs, pd.DataFrame(), pd.DataFrame())).set_index("target_label")
    stage4 = table.loc["stage4"]
    assert (stage4["runs"], stage4["mean_us"], stage4["floor_mean_us"]) == (3, 205.0, 130.0)
    assert stage4["added_mean_us"] == 75.0  # the median of 100, 45, 75: each run against its own floor
    assert stage4["added_p99_us"] == 950.0 and stage4["p99_us"] == 1_600.0 and stage4["floor_p99_us"] == 650.0


def equal_load_runs() -> pd.DataFrame:
    return pd.DataFrame([
        latency_run("stage4", 0, (200.0, 1_500.0), (120.0, 600.0), cpu=64.0),
        latency_run("stage4", 1, (200.0, 1_500.0), (120.0, 600.0), cpu=66.0, qps=950.0),  # exactly the held share
        latency_run("stage0", 0, (300.0, 2_500.0), (120.0, 600.0), cpu=90.0),
        latency_run("stage2", 0, (250.0, 2_000.0), (120.0, 600.0), cpu=40.0, qps=700.0),  # fell behind: not equal load
        {**latency_run("stage3", 0, (1.0, 1.0), (1.0, 1.0), cpu=1.0), "error": "died"},
        {**latency_run("stage3", 1, (1.0, 1.0), (1.0, 1.0), cpu=1.0), "load_level": 0.5},  # a sweep's own rate
        latency_run(CALIBRATION_TARGET, 0, (120.0, 600.0), (120.0, 600.0), cpu=35.5),
        latency_run("zeta", 0, (200.0, 1_500.0), (120.0, 600.0), cpu=90.0),  # ties keep the batch's order
        latency_run("alpha", 0, (200.0, 1_500.0), (120.0, 600.0), cpu=90.0),
        {**latency_run("stage1", 0, (1.0, 1.0), (1.0, 1.0), cpu=1.0), "scenario": "plaintext", "target_rate": None},
        {**latency_run("stage1", 0, (1.0, 1.0), (1.0, 1.0), cpu=50.0), "scenario": "a-slow-rate",
         "target_rate": 100.0, "qps": 100.0},
    ], columns=list(RUN_COLUMNS))


def test_cpu_per_request_ranked_only_where_the_load_was_equal() -> None:
    table = equal_load_table(equal_load_runs())
    assert list(table.columns) == ["scenario", "target_label", "rate", "qps", "runs", "cpu_us_per_request",
                                   "above_floor_us", "rank"]
    assert list(zip(table["scenario"], table["target_label"], strict=True)) == [
        ("a-slow-rate", "stage1"), ("latency", CALIBRATION_TARGET), ("latency", "stage4"), ("latency", "stage0"),
        ("latency", "zeta"), ("latency", "alpha")]
    assert list(table["rank"].fillna(0)) == [1, 0, 1, 2, 3, 4]
    assert list(table["runs"]) == [1, 1, 2, 1, 1, 1] and list(table["qps"][:4]) == [100.0, 1_000.0, 975.0, 1_000.0]
    assert list(table["above_floor_us"].fillna(-1)) == [-1, 0.0, 29.5, 54.5, 54.5, 54.5]  # no floor at 100 req/s


def test_the_equal_load_table_as_lab_compare_prints_it() -> None:
    rendered = equal_load_summary(equal_load_runs())
    assert rendered is not None
    console = Console(width=140, record=True, color_system=None)
    console.print(rendered)
    assert [line.rstrip() for line in console.export_text().splitlines()] == [
        "CPU per request at equal load (open loop: every target asked the same rate)",
        "┏━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━┓",
        "┃  rank ┃ stage / target               ┃ scenario    ┃ asked req/s ┃ served req/s ┃ CPU µs/req ┃ above the floor ┃",  # noqa: E501
        "┡━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━┩",
        "│     1 │ stage1                       │ a-slow-rate │         100 │          100 │       50.0 │               – │",  # noqa: E501
        "│ floor │ minimal server (calibration) │ latency     │       1,000 │        1,000 │       35.5 │                 │",  # noqa: E501
        "│     1 │ stage4                       │ latency     │       1,000 │          975 │       65.0 │            29.5 │",  # noqa: E501
        "│     2 │ stage0                       │ latency     │       1,000 │        1,000 │       90.0 │            54.5 │",  # noqa: E501
        "│     3 │ zeta                         │ latency     │       1,000 │        1,000 │       90.0 │            54.5 │",  # noqa: E501
        "│     4 │ alpha                        │ latency     │       1,000 │        1,000 │       90.0 │            54.5 │",  # noqa: E501
        "└───────┴──────────────────────────────┴─────────────┴─────────────┴──────────────┴────────────┴─────────────────┘",
    ]
    assert equal_load_summary(equal_load_runs()[lambda runs: runs["scenario"] == "plaintext"]) is None
    assert equal_load_summary(pd.DataFrame()) is None


def test_a_batch_summary_is_the_table_a_note_and_the_equal_load_ranking() -> None:
    runs = equal_load_runs()
    parts = batch_summary(runs, "batch b")
    assert len(parts) == 3 and isinstance(parts[0], Table) and parts[0].title == "batch b"  # no load: no note
    assert parts[1].startswith("[dim]CPU µs/req was measured at each row's QPS") and parts[1].endswith("[/dim]")
    assert isinstance(parts[2], Table) and parts[2].row_count == 6
    closed = batch_summary(runs[runs["scenario"] == "plaintext"], "batch c")
    assert len(closed) == 2 and isinstance(closed[0], Table) and closed[0].title == "batch c"


def test_stage_table_reads_memory_per_connection_against_stage_2() -> None:
    runs = pd.DataFrame([row(run_id=f"s{stage}", target=f"stage{stage}", target_label=f"stage{stage}", stage=stage,
                             scenario="hold-1000", error=None, load_level=None, qps=900.0, bottleneck="server",
                             server_rss_peak_bytes=40e6, server_rss_per_connection_bytes=per)
                         for stage, per in ((0, None), (2, 7_372.8), (3, 3_276.8), (4, 3_891.2))],
                        columns=list(RUN_COLUMNS))
    table = stage_table(Batch("b", runs, pd.DataFrame(), pd.DataFrame()), "hold-1000").set_index("stage")
    assert table.loc[2, "kib_per_connection"] == pytest.approx(7.2)
    assert table.loc[4, "memory_per_connection_change"] == pytest.approx(3.8 / 7.2 - 1)
    assert table.loc[4, "roadmap_memory_change"] == -0.7
    assert "memory_change" not in table  # whole-process RSS against stage 0 is gone
