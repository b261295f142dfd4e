"""The default comparison (`make compare`: stages 0-4, the default scenarios) plans every run the
roadmap's lines need, in memory: a test that fails when a default scenario no longer feeds a line."""

from __future__ import annotations

from pathlib import Path

from lab.analysis.roadmap import CONNECTIONS, QPS_SCENARIO, SPEEDUP_SCENARIO, roadmap_lines
from lab.files.scenario_file import resolve
from lab.model.bottleneck import SATURATED_BUSY
from lab.model.target import stage_target
from lab.run.measure import Pinning
from lab.run.plan import Plan


def default_plan() -> Plan:
    targets = tuple(stage_target(n) for n in range(5))
    return Plan(targets, tuple(resolve(None)), 1, Pinning(frozenset({0}), frozenset({1})), Path("unused"),
                calibrate=True)


def test_the_default_plan_holds_what_every_stage_s_lines_read() -> None:
    plan = default_plan()
    runs = [(run.target.stage, run.scenario) for run in plan.runs() if run.target.stage is not None]
    for stage in range(5):
        closed = {scenario.id for s, scenario in runs if s == stage and not scenario.load.open_loop}
        assert {QPS_SCENARIO, SPEEDUP_SCENARIO} <= closed, stage  # the QPS and speedup lines' scenarios
        assert any(s == stage and scenario.load.open_loop for s, scenario in runs), stage  # the latency lines
    for line in (entry for entry in roadmap_lines() if entry.kind == CONNECTIONS):
        offered = max(scenario.load.users for s, scenario in runs if s == line.stage)
        assert (offered > line.threshold) if line.strict else (offered >= line.threshold), line.text
    # Memory per held connection: stages 3 and 4 in a scenario stage 2 holds connections in too.
    for stage in (3, 4):
        assert {scenario.id for s, scenario in runs if s == 2} & {
            scenario.id for s, scenario in runs if s == stage and scenario.id.startswith("hold")}, stage


def test_io_wait_offers_more_than_any_stage_can_serve() -> None:
    """Users ÷ the 2 ms wait must pass the fastest stage's capacity on a core, or stage 4 there is
    held by its users (100 users held it at 35,000 req/s with its CPU 0.60 busy: capacity ≈ 58,000)."""
    io_wait = next(s for s in resolve(None) if s.id == SPEEDUP_SCENARIO)
    assert io_wait.requests[0].path == "/delay/2"
    assert io_wait.load.users / 0.002 > 35_000 / 0.60 / SATURATED_BUSY * 2  # twice over, for a faster hour


def test_keep_alive_scenarios_are_left_out_for_closing_stages_and_said_so() -> None:
    plan = default_plan()
    hold = {run.target.label for run in plan.runs() if run.scenario.id == "hold-5000"}
    assert hold == {"stage4"}  # no calibration: a think time is neither a ceiling nor a floor
    assert plan.left_out() == {"hold-5000": ["stage0", "stage1", "stage2", "stage3"]}
