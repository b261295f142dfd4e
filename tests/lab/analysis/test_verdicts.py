"""No verdict from a floor: speedups and the roadmap's criteria judged only from evidence that can
judge them (lab.analysis.verdicts, summary, tables), on synthetic runs, in memory."""

from __future__ import annotations

import math
from dataclasses import replace

import pandas as pd
import pytest

from lab.analysis.batch import Batch
from lab.analysis.present import speedup_text, summary_text
from lab.analysis.roadmap import (
    CONNECTIONS,
    INDUSTRY,
    LATENCY,
    MEMORY_METRIC,
    QPS,
    SPEEDUP,
    IndustryLine,
    Line,
    roadmap_lines,
)
from lab.analysis.summary import summarize
from lab.analysis.tables import criteria_table, industry_table, stage_table
from lab.analysis.verdicts import (
    BASELINE,
    FAIL,
    FLOOR_SHARE,
    NOT_MEASURABLE,
    NOT_MEASURED,
    PASS,
    Verdict,
    judge,
    judge_industry,
    judge_memory,
    speedup,
)
from lab.store.columns import RUN_COLUMNS


def memory(stage: int, share: float, runs: pd.DataFrame) -> Verdict:
    """Memory per held connection judged as the memory lines read it: from their own column."""
    return judge_memory(stage, share, runs, MEMORY_METRIC)


def line(stage: int, kind: str, text: str = "") -> Line:
    return next(entry for entry in roadmap_lines()
                if entry.stage == stage and entry.kind == kind and text in entry.text)


QPS_4, MEAN, P99, HELD_4 = (line(4, QPS), line(4, LATENCY, "mean"), line(4, LATENCY, "p99"), line(4, CONNECTIONS))


def verdict_of(criterion: Line, runs: pd.DataFrame) -> Verdict:
    """A line judged as the criteria table judges it: the stage's own runs, beside the batch's."""
    return judge(criterion, runs[runs["stage"] == criterion.stage], runs)


def _p99(stage: int) -> Line:
    """The p99 line asked of another stage than the roadmap asks it of (the rule is the stage's own)."""
    return replace(P99, stage=stage)


def run(stage: int | None, qps: float, bottleneck: str = "server", scenario: str = "plaintext", **more: object
        ) -> dict[str, object]:
    row: dict[str, object] = dict.fromkeys(RUN_COLUMNS)
    target = "calibration" if stage is None else f"stage{stage}"
    row.update(run_id=f"{target}-{scenario}-{qps}", batch="b", target=target, target_label=target, stage=stage,
               scenario=scenario, qps=qps, bottleneck=bottleneck, users=50, failures=0, verified=True, repeat=0)
    row.update(more)
    return row


def frame(*rows: dict[str, object]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=list(RUN_COLUMNS))


def test_a_speedup_needs_two_server_bound_rates() -> None:
    assert speedup(9_000.0, "server", 450.0, "server").value == pytest.approx(20.0)
    for saturated in ("generator", "both"):
        floor = speedup(9_000.0, saturated, 450.0, "server")
        assert floor.floor and floor.value == pytest.approx(20.0) and speedup_text(floor) == "≥ 20.00x"
    for held in ("users", "schedule", None):  # its users or its schedule set the rate, not the server
        assert speedup(9_000.0, held, 450.0, "server").value is None
    for base in ("generator", "both", "users"):  # a floor (or a bound) in the denominator bounds nothing
        assert speedup(9_000.0, "server", 450.0, base).value is None
    assert speedup_text(speedup(9_000.0, "server", None, "server")) == "–"


def test_summary_gives_no_speedup_from_a_generator_bound_baseline() -> None:
    runs = frame(run(0, 4_000.0, "generator"), run(4, 40_000.0, "generator"),
                 run(0, 450.0, scenario="io-wait"), run(2, 7_000.0, "generator", scenario="io-wait"),
                 run(4, 20_000.0, scenario="io-wait"))
    summary = summarize(runs).set_index(["target", "scenario"])
    assert math.isnan(summary.loc[("stage4", "plaintext"), "speedup"])  # stage 0 was a floor too
    assert summary.loc[("stage4", "io-wait"), "speedup"] == pytest.approx(20_000 / 450)
    assert not summary.loc[("stage4", "io-wait"), "speedup_is_floor"]
    assert summary.loc[("stage2", "io-wait"), "speedup_is_floor"]


def test_open_loop_and_calibration_rows_have_no_speedup() -> None:
    runs = frame(run(0, 1_000.0, scenario="latency", target_rate=1_000.0),
                 run(4, 1_000.0, scenario="latency", target_rate=1_000.0),
                 run(0, 450.0), run(None, 40_000.0, "generator"))
    summary = summarize(runs).set_index(["target", "scenario"])
    assert math.isnan(summary.loc[("stage4", "latency"), "speedup"])
    assert math.isnan(summary.loc[("calibration", "plaintext"), "speedup"])


def test_stage_table_splits_measured_speedups_from_floors() -> None:
    batch = Batch("b", frame(run(0, 450.0), run(1, 4_500.0), run(4, 40_000.0, "generator")), pd.DataFrame(),
                  pd.DataFrame())
    table = stage_table(batch, "plaintext").set_index("stage")
    assert table.loc[1, "speedup"] == pytest.approx(10.0) and math.isnan(table.loc[1, "speedup_at_least"])
    assert math.isnan(table.loc[4, "speedup"]) and table.loc[4, "speedup_at_least"] == pytest.approx(40_000 / 450)


@pytest.mark.parametrize(("runs", "verdict", "value", "bound"), [
    ([run(4, 120_000.0)], PASS, 120_000.0, None),
    ([run(4, 60_000.0, "generator")], NOT_MEASURED, 60_000.0, None),  # a floor below the line proves nothing
    ([run(4, 120_000.0, "generator")], PASS, 120_000.0, None),  # a floor above it does
    ([run(4, 120_000.0, "users", latency_mean_us=400.0)], PASS, 120_000.0, None),  # so does a users-bound rate
    ([run(4, 60_000.0)], FAIL, 60_000.0, None),
    ([run(4, 60_000.0), run(4, 90_000.0, "generator", scenario="json")], FAIL, 60_000.0, None),  # json is not read
    ([run(4, 1_000.0, scenario="latency", target_rate=1_000.0)], NOT_MEASURED, None, None),  # asked, not pushed
    # Both sides saturated: the server could serve at most QPS ÷ its busy share.
    ([run(4, 98_000.0, "both", server_cpu_busy=0.98)], FAIL, 98_000.0, 100_000.0),  # the bound at the line
    ([run(4, 98_000.0, "both", server_cpu_busy=0.97)], NOT_MEASURED, 98_000.0, pytest.approx(101_031, abs=1)),
    ([run(4, 100_001.0, "both", server_cpu_busy=0.5)], PASS, 100_001.0, None),
    ([run(4, 98_000.0, "both")], NOT_MEASURED, 98_000.0, None),  # no busy share: no bound
    # Neither side saturated: users ÷ latency held the rate, whatever the server could do.
    ([run(4, 35_000.0, "users", users=100, latency_mean_us=2_857.0)], NOT_MEASURED, 35_000.0, None),
    # The median over the repeats, read by what held most of them (a tie: the reading that proves least).
    ([run(4, 60_000.0), run(4, 70_000.0), run(4, 200_000.0, "generator")], FAIL, 70_000.0, None),
    ([run(4, 60_000.0), run(4, 70_000.0, "generator")], NOT_MEASURED, 65_000.0, None),
])
def test_qps_line_by_the_bounds_rule(runs: list[dict[str, object]], verdict: str, value: float | None,
                                     bound: float | None) -> None:
    found = verdict_of(QPS_4, frame(*runs))
    assert (found.verdict, found.value, found.bound) == (verdict, value, bound)
    assert bool(found.how) == (verdict == NOT_MEASURED)


def test_qps_line_evidence_names_what_held_the_rate() -> None:
    users = verdict_of(QPS_4, frame(run(4, 35_000.0, "users", users=100, latency_mean_us=2_857.0)))
    assert users.evidence == "plaintext: 35,000 req/s, users-bound: 100 users ÷ 2.86 ms each"
    assert users.how == "lab compare --stages 4 --scenarios plaintext with more users (--users)"
    both = verdict_of(QPS_4, frame(run(4, 98_000.0, "both", server_cpu_busy=0.97)))
    assert both.evidence == "plaintext: 98,000 req/s, both sides saturated: at most 101,030.9 with the server 0.97 busy"
    floor = verdict_of(line(3, QPS), frame(run(3, 6_000.0, "generator")))
    assert floor.evidence == "plaintext: 6,000 req/s (generator: a floor)"
    assert floor.how == "lab compare --stages 3 --scenarios plaintext --driver wrk (a faster generator)"
    server = verdict_of(QPS_4, frame(run(4, 100_000.0)))
    assert (server.verdict, server.evidence) == (FAIL, "plaintext: 100,000 req/s (server-bound)")  # "> 100,000"


def test_speedup_lines_over_stage_0_on_io_wait() -> None:
    io = "io-wait"
    stage1 = line(1, SPEEDUP)
    assert stage1.text == "speedup over stage 0 > 17.2x (7,877 ÷ 459)" and stage1.scenario == io
    passing = frame(run(0, 450.0, scenario=io), run(1, 7_800.0, scenario=io))
    assert (verdict_of(stage1, passing).verdict, verdict_of(stage1, passing).value) == (
        PASS, pytest.approx(7_800 / 450))
    failing = frame(run(0, 450.0, scenario=io), run(1, 4_500.0, scenario=io))
    assert (verdict_of(stage1, failing).verdict, verdict_of(stage1, failing).value) == (FAIL, 10.0)
    bounded = frame(run(0, 450.0, scenario=io), run(1, 4_500.0, "both", scenario=io, server_cpu_busy=0.5))
    assert (verdict_of(stage1, bounded).verdict, verdict_of(stage1, bounded).bound) == (NOT_MEASURED, 20.0)
    floored = frame(run(0, 450.0, "generator", scenario=io), run(1, 9_000.0, scenario=io))
    assert verdict_of(stage1, floored).verdict == NOT_MEASURED  # stage 0's rate was not its own
    assert "no baseline" in verdict_of(stage1, floored).evidence
    plain = frame(run(0, 450.0), run(1, 9_000.0))  # plaintext: not where the speedups are read
    assert verdict_of(stage1, plain).evidence == "no closed-loop io-wait run"


def test_stage_0_is_the_baseline_it_reproduces() -> None:
    baseline = line(0, QPS)
    assert baseline.reference
    found = verdict_of(baseline, frame(run(0, 444.0, scenario="io-wait")))
    assert (found.verdict, found.value) == (BASELINE, 444.0)
    assert found.evidence == "io-wait: 444 req/s (server): 0.97x the roadmap's 459"
    assert [entry.kind for entry in roadmap_lines() if entry.stage == 0] == [QPS]


def test_each_stage_is_judged_against_its_own_row() -> None:
    texts = {stage: [entry.text for entry in roadmap_lines() if entry.stage == stage] for stage in range(5)}
    assert texts[1][:4] == ["QPS > 5,000 (its target; it reports 7,877)", "speedup over stage 0 > 17.2x (7,877 ÷ 459)",
                            "mean latency < 1 ms", "1,000 concurrent connections"]
    assert texts[2][:4] == ["QPS > 20,000 (its target)", "speedup over stage 0 > 43.6x (20,000 ÷ 459)",
                            "mean latency < 0.5 ms", "500 concurrent connections"]
    assert texts[3][2:] == ["mean latency < 0.3 ms", "1,000 concurrent connections",
                            "memory per held connection ≤ 0.5x stage 2's (-50%)"]
    assert texts[4] == ["QPS > 100,000 (its target)", "speedup over stage 0 > 217.9x (100,000 ÷ 459)",
                        "mean latency < 0.2 ms", "memory per held connection ≤ 0.3x stage 2's (-70%)",
                        "p99 latency < 1 ms", "> 5,000 concurrent connections", "memory leak check passes",
                        "thread safety verified", "stable under stress", "cross-platform compatibility verified"]
    # "QPS > 100,000" is asked of stage 4 alone: stage 2 at 60,000 passes its own line.
    table = criteria_table(Batch("b", frame(run(2, 60_000.0), run(4, 60_000.0)), pd.DataFrame(), pd.DataFrame()))
    qps = table[table["criterion"].str.startswith("QPS")].set_index("stage")["verdict"]
    assert (qps[2], qps[4]) == (PASS, FAIL)


def test_latency_criteria_only_from_open_loop_runs_that_held_their_rate() -> None:
    closed = run(4, 40_000.0, latency_corrected_mean_us=150.0, latency_corrected_p99_us=500.0,
                 latency_floor_mean_us=50.0, latency_floor_p99_us=200.0)
    assert verdict_of(MEAN, frame(closed)).verdict == NOT_MEASURED  # no target_rate: a closed loop
    held = run(4, 998.0, scenario="latency", target_rate=1_000.0, latency_corrected_mean_us=150.0,
               latency_corrected_p99_us=1_500.0, latency_floor_mean_us=50.0, latency_floor_p99_us=200.0)
    assert verdict_of(MEAN, frame(held)).verdict == PASS
    assert verdict_of(P99, frame(held)).verdict == FAIL
    behind = {**held, "qps": 700.0}  # the server fell behind: its latency is a queue's
    assert verdict_of(MEAN, frame(behind)).verdict == NOT_MEASURED
    assert "--scenarios latency" in verdict_of(MEAN, frame(behind)).how


def open_loop(qps: float, mean: float, bottleneck: str = "server", floor: float | None = 50.0,
              scenario: str = "latency") -> dict[str, object]:
    return run(4, qps, bottleneck, scenario=scenario, target_rate=1_000.0, latency_corrected_mean_us=mean,
               latency_floor_mean_us=floor)


def test_latency_at_its_line_fails_and_a_run_at_exactly_the_held_share_counts() -> None:
    at_line = verdict_of(MEAN, frame(open_loop(950.0, MEAN.threshold)))  # 95% of its rate: held
    assert (at_line.verdict, at_line.value, at_line.evidence, at_line.how, at_line.floor) == (
        FAIL, 200.0, "latency at 1,000 req/s", "", 50.0)
    # Medians over the repeats that held their rate; a generator-bound one and a lagging one are out.
    repeats = verdict_of(MEAN, frame(open_loop(1_000.0, 300.0), open_loop(1_000.0, 150.0), open_loop(1_000.0, 160.0),
                                   open_loop(949.0, 10.0), open_loop(1_000.0, 5.0, "generator")))
    assert (repeats.verdict, repeats.value) == (PASS, 160.0)
    # Of two scenarios that can judge, the better one's median.
    two = verdict_of(MEAN, frame(open_loop(1_000.0, 250.0), open_loop(1_000.0, 120.0, scenario="latency-2")))
    assert (two.verdict, two.value, two.evidence) == (PASS, 120.0, "latency-2 at 1,000 req/s")
    none = verdict_of(_p99(3), frame(open_loop(1_000.0, 100.0)))  # it has no p99
    assert (none.verdict, none.evidence, none.how) == (
        NOT_MEASURED, "no open-loop run below capacity", "lab compare --stages 3 --scenarios latency")


@pytest.mark.parametrize(("floor", "value", "verdict"), [
    (99.0, 150.0, PASS),
    (100.0, 150.0, PASS),  # the floor at exactly FLOOR_SHARE of the line: judged
    (100.0, 250.0, FAIL),
    (100.1, 150.0, NOT_MEASURABLE),  # just over: the machine's, whatever the stage measured
    (100.1, 250.0, NOT_MEASURABLE),
    (180.0, 90.0, NOT_MEASURABLE),  # a stage below a high floor is the floor's luck, not a pass
])
def test_latency_is_judged_only_where_the_floor_leaves_room(floor: float, value: float, verdict: str) -> None:
    assert FLOOR_SHARE * MEAN.threshold == 100.0
    judged = verdict_of(MEAN, frame(open_loop(1_000.0, value, floor=floor)))
    assert (judged.verdict, judged.value, judged.floor) == (verdict, value, floor)
    if verdict == NOT_MEASURABLE:
        assert f"the floor alone is {floor:,.0f} µs" in judged.evidence
        assert "at most 100 µs" in judged.how and "isolcpus" in judged.how
    else:
        assert judged.how == ""


def test_latency_floor_medians_and_a_batch_without_one() -> None:
    # The floor is the median of the repeats' floors: one quiet repeat does not make the line judgeable.
    noisy = verdict_of(MEAN, frame(open_loop(1_000.0, 150.0, floor=80.0), open_loop(1_000.0, 150.0, floor=130.0),
                                 open_loop(1_000.0, 150.0, floor=140.0)))
    assert (noisy.verdict, noisy.floor) == (NOT_MEASURABLE, 130.0)
    # Of two scenarios, a measurable one judges even when the other's floor is too high.
    mixed = verdict_of(MEAN, frame(open_loop(1_000.0, 90.0, floor=150.0),
                                 open_loop(1_000.0, 180.0, floor=60.0, scenario="latency-quiet")))
    assert (mixed.verdict, mixed.value, mixed.evidence) == (PASS, 180.0, "latency-quiet at 1,000 req/s")
    unfloored = verdict_of(MEAN, frame(open_loop(1_000.0, 150.0, floor=None)))
    assert (unfloored.verdict, unfloored.value, unfloored.evidence, unfloored.how) == (
        NOT_MEASURED, 150.0, "no latency floor in this batch (it ran with --no-calibrate)",
        "lab compare --stages 4 --scenarios latency")
    # A batch from before the floor columns existed, read without them.
    old = frame(open_loop(1_000.0, 150.0)).drop(columns=[c for c in RUN_COLUMNS if c.startswith("latency_floor")])
    assert (judge(MEAN, old, old).verdict, judge(MEAN, old, old).value) == (NOT_MEASURED, 150.0)


def held_connections(stage: int, per_connection: float, connections: float = 1_000.0,
                     scenario: str = "hold-1000") -> dict[str, object]:
    return run(stage, 900.0, scenario=scenario, users=1_000, server_fds_held_peak=connections,
               server_rss_per_connection_bytes=per_connection)


@pytest.mark.parametrize(("stage", "share", "bytes_", "verdict"), [
    (3, 0.5, 3_600.0, PASS),  # exactly half of stage 2's 7,200
    (3, 0.5, 3_601.0, FAIL),
    (4, 0.3, 2_100.0, PASS),
    (4, 0.3, 3_800.0, FAIL),  # −47%: short of −70%
])
def test_memory_per_connection_against_stage_2(stage: int, share: float, bytes_: float, verdict: str) -> None:
    runs = frame(held_connections(2, 7_200.0), held_connections(stage, bytes_))
    judged = memory(stage, share, runs)
    assert (judged.verdict, judged.value, judged.how) == (verdict, pytest.approx(bytes_ / 7_200.0), "")
    assert judged.evidence == (f"hold-1000: {bytes_ / 1024:,.1f} KiB per connection against stage 2's 7.0 KiB, at "
                               "1,000 connections")


HOW = "lab compare --stages 2,4 --scenarios hold-1000"


def test_memory_needs_stage_2_at_the_same_connection_count() -> None:
    alone = memory(4, 0.3, frame(held_connections(4, 2_000.0)))
    assert (alone.verdict, alone.value, alone.evidence, alone.how) == (
        NOT_MEASURED, None, "no scenario held connections on both stage 4 and stage 2 in this batch", HOW)
    apart = memory(4, 0.3, frame(held_connections(2, 7_200.0, 1_000.0), held_connections(4, 2_000.0, 1_150.0)))
    assert (apart.verdict, apart.evidence, apart.how) == (
        NOT_MEASURED, "hold-1000: 1,150 connections held against stage 2's 1,000", HOW)
    near = memory(4, 0.3, frame(held_connections(2, 7_200.0, 1_000.0), held_connections(4, 2_000.0, 1_099.0)))
    assert near.verdict == PASS  # under 10% apart: near enough
    nothing = memory(4, 0.3, frame(held_connections(2, 0.0), held_connections(4, 2_000.0)))
    assert (nothing.verdict, nothing.value, nothing.evidence, nothing.how) == (
        NOT_MEASURED, None, "hold-1000: stage 2 grew no memory per connection to compare with", HOW)
    one_byte = memory(4, 0.3, frame(held_connections(2, 1.0), held_connections(4, 2_000.0)))
    assert (one_byte.verdict, one_byte.value) == (FAIL, 2_000.0)
    # Runs without the figure, or of other stages, are not evidence, however many connections they had.
    noise = memory(4, 0.3, frame(held_connections(2, 7_200.0), held_connections(4, 2_000.0),
                                       held_connections(2, None, 9_000.0, "many"),  # type: ignore[arg-type]
                                       held_connections(4, None, 9_000.0, "many"),  # type: ignore[arg-type]
                                       held_connections(3, 100.0, 9_000.0, "many")))
    assert (noise.verdict, noise.value) == (PASS, pytest.approx(2_000 / 7_200))
    # The most connections by the stage's own count, whatever the scenarios are called.
    ranked = memory(4, 0.3, frame(held_connections(2, 7_200.0, 1_000.0, "a-scenario"),
                                        held_connections(4, 1_800.0, 1_050.0, "a-scenario"),
                                        held_connections(2, 7_200.0, 1_090.0, "b-scenario"),
                                        held_connections(4, 3_000.0, 1_000.0, "b-scenario")))
    assert (ranked.verdict, ranked.value) == (PASS, 0.25)
    # Where stage 4 held the most, stage 2 held few (it closes after each answer): not that one.
    keep_alive = memory(4, 0.3, frame(held_connections(2, 7_300.0, 1_000.0),
                                            held_connections(4, 2_000.0, 1_000.0),
                                            held_connections(2, 11_700.0, 170.0, "hold-5000"),
                                            held_connections(4, 1_700.0, 5_000.0, "hold-5000")))
    assert (keep_alive.verdict, keep_alive.value) == (PASS, pytest.approx(2_000 / 7_300))
    assert keep_alive.evidence.startswith("hold-1000: ")
    # KiB to one decimal, each side its own: 7,222 bytes are 7.05 KiB.
    kib = memory(4, 0.3, frame(held_connections(2, 7_222.0), held_connections(4, 2_000.0)))
    assert kib.evidence == "hold-1000: 2.0 KiB per connection against stage 2's 7.1 KiB, at 1,000 connections"
    # The scenario with the most connections judges: there fixed costs weigh least.
    both = memory(4, 0.3, frame(held_connections(2, 7_200.0), held_connections(4, 3_000.0),
                                      held_connections(2, 6_000.0, 5_000.0, "hold-5000"),
                                      held_connections(4, 1_500.0, 5_000.0, "hold-5000")))
    assert (both.verdict, both.value) == (PASS, 0.25) and "hold-5000" in both.evidence


def test_criteria_table_judges_memory_for_stages_3_and_4_only() -> None:
    batch = Batch("b", frame(held_connections(2, 7_200.0), held_connections(3, 3_200.0), held_connections(4, 3_800.0)),
                  pd.DataFrame(), pd.DataFrame())
    table = criteria_table(batch)
    memory = table[table["criterion"].str.startswith("memory per")].set_index("stage")
    assert list(memory.index) == [3, 4]
    assert memory.loc[3, "criterion"] == "memory per held connection ≤ 0.5x stage 2's (-50%)"
    assert (memory.loc[3, "verdict"], memory.loc[4, "verdict"]) == (PASS, FAIL)
    assert memory.loc[4, "value"] == pytest.approx(3_800 / 7_200)


def test_connections_need_a_run_that_offered_enough() -> None:
    few = run(4, 900.0, scenario="hold-1000", users=1_000, server_connections_peak=1_000.0)
    assert verdict_of(HELD_4, frame(few)).verdict == NOT_MEASURED
    many = run(4, 900.0, scenario="hold-5000", users=5_000, server_connections_peak=4_000.0)
    assert verdict_of(HELD_4, frame(many)).verdict == NOT_MEASURED  # users <= the line: cannot cross "> 5,000"
    enough = run(4, 900.0, scenario="hold-5000", users=5_200, server_connections_peak=4_000.0)
    assert verdict_of(HELD_4, frame(enough)).verdict == FAIL
    assert verdict_of(HELD_4, frame(enough)).evidence == "hold-5000: 4,000 held of 5,200 offered (its own count)"
    saturated = {**enough, "bottleneck": "generator"}
    assert verdict_of(HELD_4, frame(saturated)).verdict == NOT_MEASURED  # the generator may have dropped them
    at_line = run(4, 900.0, scenario="hold-5000", users=5_200, server_connections_peak=5_000.0)
    assert verdict_of(HELD_4, frame(at_line)).verdict == FAIL  # "> 5,000"
    held = run(4, 900.0, scenario="hold-5000", users=5_200, server_connections_peak=5_001.0)
    assert verdict_of(HELD_4, frame(held)).verdict == PASS
    # Stage 3's "1000+" is reached by 1,000 of 1,000 offered.
    reached = run(3, 900.0, scenario="hold-1000", users=1_000, server_connections_peak=1_000.0)
    assert verdict_of(line(3, CONNECTIONS), frame(reached)).verdict == PASS
    short = run(3, 900.0, scenario="hold-1000", users=1_000, server_connections_peak=999.0)
    assert verdict_of(line(3, CONNECTIONS), frame(short)).verdict == FAIL
    # The kernel's count of its descriptors sees the instant the once-a-second gauge missed ...
    seen = {**short, "server_fds_held_peak": 1_000}
    assert (verdict_of(line(3, CONNECTIONS), frame(seen)).verdict,
            verdict_of(line(3, CONNECTIONS), frame(seen)).evidence) == (
        PASS, "hold-1000: 1,000 held of 1,000 offered (the kernel's count of its descriptors; its own, once a second, "
              "saw 999)")
    # ... but not where it counts more than the users offered: those are sockets it was refusing.
    refusing = run(1, 10.0, scenario="hold-1000", users=1_000, server_fds_held_peak=5_827)
    assert verdict_of(line(1, CONNECTIONS), frame(refusing)).evidence == "no run measured it"
    assert verdict_of(line(1, CONNECTIONS), frame(refusing, {**refusing, "server_fds_held_peak": 990,
                                                              "scenario": "io-wait"})).value == 990.0


def test_criteria_table_leaves_out_calibration_and_names_how_to_measure() -> None:
    batch = Batch("b", frame(run(None, 200_000.0, "generator"), run(4, 45_000.0, "generator")), pd.DataFrame(),
                  pd.DataFrame())
    table = criteria_table(batch)
    assert set(table["stage"]) == {4}
    qps = table[table["criterion"] == QPS_4.text].iloc[0]
    assert qps["verdict"] == NOT_MEASURED and qps["value"] == 45_000.0 and "a floor" in qps["evidence"]
    assert qps["read on"] == "plaintext"
    assert (table["verdict"] != FAIL).all()  # nothing here was server-bound evidence of failure
    nothing = verdict_of(line(2, CONNECTIONS), frame(run(2, 900.0)))
    assert (nothing.verdict, nothing.value, nothing.evidence) == (NOT_MEASURED, None, "no run measured it")
    assert nothing.how == "lab run --stage 2 --scenario hold-1000"


def test_quality_lines_from_the_batch_s_soaks_and_platforms() -> None:
    leaks, threads, stable, platforms = (line(4, "quality", text) for text in ("leak", "thread", "stable", "platform"))
    plain = frame(run(4, 60_000.0, platform="Linux-6.1-x86_64"))
    assert verdict_of(leaks, plain).verdict == NOT_MEASURED and "lab soak --stage 4" in verdict_of(leaks, plain).how
    assert verdict_of(threads, plain).verdict == NOT_MEASURED and "test_thread_safety" in verdict_of(threads, plain).how
    assert verdict_of(platforms, plain).verdict == NOT_MEASURABLE
    two = frame(run(4, 60_000.0, platform="Linux-6.1-x86_64"), run(4, 60_000.0, platform="macOS-14-arm64"))
    assert verdict_of(platforms, two).verdict == PASS
    soaked = frame(run(4, 5_000.0, soak_verdict="pass"), run(4, 5_000.0, soak_verdict="pass"))
    assert (verdict_of(leaks, soaked).verdict, verdict_of(stable, soaked).verdict) == (PASS, PASS)
    errors = frame(run(4, 5_000.0, soak_verdict="fail: 3 failed requests of the real load"))
    assert (verdict_of(leaks, errors).verdict, verdict_of(stable, errors).verdict) == (PASS, FAIL)
    grew = frame(run(4, 5_000.0, soak_verdict="fail: RSS grew 4.0% (3.0 MiB) after the warm-up"))
    assert (verdict_of(leaks, grew).verdict, verdict_of(stable, grew).verdict) == (FAIL, FAIL)
    other = frame(run(2, 5_000.0, soak_verdict="pass"), run(4, 60_000.0))
    assert verdict_of(stable, other).verdict == NOT_MEASURED  # stage 2's soak says nothing of stage 4


def test_speedup_text_and_undefined_ratios() -> None:
    assert speedup_text(speedup(2_000.0, "server", 1_000.0, "server")) == "2.00x"
    assert speedup_text(speedup(2_000.0, "generator", 1_000.0, "server")) == "≥ 2.00x"
    for qps, base in ((math.nan, 1_000.0), (2_000.0, math.nan), (2_000.0, 0.0), (2_000.0, None)):
        ratio = speedup(qps, "generator", base, "server")
        assert (ratio.value, ratio.floor) == (None, False), (qps, base)


def peer(name: str, qps: float, bottleneck: str = "server", scenario: str = "plaintext") -> dict[str, object]:
    return run(None, qps, bottleneck, scenario, target=name, target_label=name,
               run_id=f"{name}-{scenario}-{qps}")


NODE, GO, RUST = INDUSTRY


@pytest.mark.parametrize(("line", "peer_qps", "verdict"), [
    (NODE, 59_999.0, PASS),  # stage 4's 60,000: more than Node's
    (NODE, 60_000.0, FAIL),  # level with it: does not beat it
    (GO, 74_999.0, PASS),  # 0.80001x: near
    (GO, 75_000.0, FAIL),  # 0.8x exactly: not more
    (RUST, 66_666.0, PASS),
    (RUST, 70_000.0, FAIL),  # 0.86x: near, not at its level
])
def test_industry_lines_are_ratios_to_peers_measured_in_the_batch(line: IndustryLine, peer_qps: float,
                                                                   verdict: str) -> None:
    runs = frame(run(4, 60_000.0), run(4, 50_000.0, scenario="json"), peer(line.peer, peer_qps),
                 peer(line.peer, 1.0, scenario="json"))  # another scenario's figures are not read
    judged = judge_industry(line, runs)
    assert (judged.verdict, judged.value) == (verdict, pytest.approx(60_000.0 / peer_qps))
    assert judged.evidence == f"plaintext: 60,000 req/s against {line.peer}'s {peer_qps:,.0f}"
    assert judged.how == ""  # a verdict needs no command to measure it


def test_no_industry_verdict_from_a_floor() -> None:
    how = "lab compare --preset industry (stage 4 and {}, wrk)"
    missing = judge_industry(NODE, frame(run(4, 60_000.0)))
    assert (missing.verdict, missing.value, missing.evidence, missing.how) == (
        NOT_MEASURED, None, "no plaintext run of both stage 4 and node in this batch", how.format("node"))
    # A generator-bound peer did at least its QPS: no ratio to it proves anything.
    floor = judge_industry(NODE, frame(run(4, 60_000.0), peer("node", 30_000.0, "generator")))
    assert (floor.verdict, floor.value, floor.evidence, floor.how) == (
        NOT_MEASURED, 2.0, "plaintext: 60,000 req/s against node's 30,000 (a floor: the load generator was the limit)",
        how.format("node") + ", with a generator faster than node")
    # A generator-bound stage 4 is a floor: above the line it is proof, below it says nothing.
    above = judge_industry(NODE, frame(run(4, 60_000.0, "generator"), peer("node", 30_000.0)))
    below = judge_industry(RUST, frame(run(4, 60_000.0, "generator"), peer("rust-hyper", 120_000.0)))
    assert (above.verdict, above.how) == (PASS, "")
    assert above.evidence == "plaintext: 60,000 req/s (a floor) against node's 30,000"
    assert (below.verdict, below.value, below.evidence, below.how) == (
        NOT_MEASURED, 0.5, "plaintext: 60,000 req/s (a floor) against rust-hyper's 120,000",
        how.format("rust-hyper") + ", with a generator faster than stage 4")


def test_criteria_table_judges_stage_4_against_the_industry_peers() -> None:
    runs = frame(run(0, 500.0), run(4, 60_000.0), peer("node", 30_000.0), peer("go", 40_000.0),
                 peer("rust-hyper", 120_000.0))
    table = criteria_table(Batch("b", runs, pd.DataFrame(), pd.DataFrame()))
    rows = table[table["criterion"].isin([line.text for line in INDUSTRY])]
    assert list(rows["stage"]) == [4, 4, 4]
    assert list(rows["verdict"]) == [PASS, PASS, FAIL]
    assert list(rows["value"]) == pytest.approx([2.0, 1.5, 0.5])


def test_industry_table_sets_the_peers_measured_beside_the_roadmap_s_figures() -> None:
    runs = frame(run(4, 60_000.0), run(4, 62_000.0), run(None, 200_000.0, "generator"),  # calibration: not a peer
                 peer("node", 30_000.0), peer("node", 32_000.0), peer("uvicorn", 20_000.0),
                 run(4, 1_000.0, scenario="latency", target_rate=1_000.0))  # open loop: not a ceiling
    table = industry_table(Batch("b", runs, pd.DataFrame(), pd.DataFrame()))
    assert list(table["target"]) == ["stage4", "node", "uvicorn"]
    assert list(table["qps"]) == [61_000.0, 31_000.0, 20_000.0]
    assert list(table["roadmap_qps"].fillna(0)) == [100_000.0, 10_000.0, 0]
    assert list(table["stage4_over_it"]) == pytest.approx([1.0, 61 / 31, 3.05])
    assert industry_table(Batch("b", frame(run(4, 60_000.0), peer("uvicorn", 20_000.0)), pd.DataFrame(),
                                pd.DataFrame())).empty  # no industry peer ran


def test_a_users_bound_row_says_so_with_its_figure_and_has_no_speedup() -> None:
    runs = frame(run(0, 400.0, scenario="io-wait", users=100), run(4, 35_000.0, "users", scenario="io-wait", users=100),
                 run(3, 6_000.0, "both", scenario="io-wait", users=100))
    summary = summarize(runs).set_index("target")
    assert math.isnan(summary.loc["stage4", "speedup"])  # its users set the rate: no speedup from it
    assert summary.loc["stage3", "speedup"] == 15.0 and summary.loc["stage3", "speedup_is_floor"]
    text = summary_text(summarize(runs)).set_index("stage / target")
    assert text.loc["stage4", "bottleneck"] == "users: 100 users ÷ 2.86 ms each"
    assert (text.loc["stage3", "bottleneck"], text.loc["stage3", "QPS"]) == ("both (saturated)", "≥ 6,000")
