"""The scheduler in memory, with each run's measurement stood in for: what a run takes from an
earlier one of its batch (capacity, calibration), what a soak's row gets, what the reporter is
told, and what is on disk after each run."""

from __future__ import annotations

import json
import platform
import signal
from pathlib import Path
from typing import Any

import pytest

from lab.model.scenario import Scenario
from lab.model.target import CALIBRATION_TARGET, Target, stage_target
from lab.run import scheduler
from lab.run.counted import CountedLoad
from lab.run.measure import Pinning
from lab.run.plan import Plan
from lab.run.scheduler import Batch, PlannedRun, run_batch
from lab.run.soak import soak_runs
from lab.store import results
from lab.store.columns import RUN_COLUMNS
from lab.store.results import CountedResult, ProfiledResult, RunResult
from tests.lab.run.test_plan import LATENCY, PLAINTEXT

PINNING = Pinning(frozenset({0}), frozenset({1}))


class Recorder:
    """A Reporter that keeps what it was told."""

    def __init__(self) -> None:
        self.told: list[tuple[Any, ...]] = []

    def started(self, total: int) -> None:
        self.told.append(("started", total))

    def running(self, index: int, what: str) -> None:
        self.told.append(("running", index, what))

    def live(self, text: str) -> None:
        self.told.append(("live", text))

    def skipped(self, what: str, why: str) -> None:
        self.told.append(("skipped", what, why))

    def finished(self, what: str, result: RunResult) -> None:
        self.told.append(("finished", what, result.row["run_id"]))

    def counted(self, what: str, result: CountedResult) -> None:
        self.told.append(("counted", what, result.row["run_id"]))

    def profiled(self, what: str, result: ProfiledResult) -> None:
        self.told.append(("profiled", what, result.row["run_id"]))

    def interrupted(self, batch: Batch) -> None:
        self.told.append(("interrupted", len(batch.results)))


def fake_measure(qps: dict[str, float | None], measured: list[Scenario]) -> Any:
    """A measure() whose runs make `qps[target name]` (None: the run failed)."""

    def measure(target: Target, scenario: Scenario, pinning: Pinning, *, batch: str, repeat: int, driver: str,
                load_level: float | None, on_live: Any, settle: bool) -> RunResult:
        measured.append(scenario)
        on_live("measuring")
        rate = qps[target.name]
        row: dict[str, Any] = dict.fromkeys(RUN_COLUMNS)
        row.update(batch=batch, run_id=f"{target.label}-{scenario.id}-{len(measured)}", target=target.name,
                   target_label=target.label, scenario=scenario.id, repeat=repeat, driver=driver,
                   load_level=load_level, qps=rate, error=None if rate is not None else "died", failures=0,
                   latency_corrected_mean_us=100.0, latency_corrected_p50_us=80.0, latency_corrected_p99_us=400.0,
                   server_rss_growth=0.0, server_rss_growth_bytes=0, server_fds_idle=9, server_fds_after=9,
                   target_rate=scenario.load.wait.rate * scenario.load.users
                   if scenario.load.wait.kind == "constant_rate" else None)
        return RunResult(row, [], None)

    return measure


def test_a_sweep_runs_at_levels_of_the_capacity_it_measured_and_skips_a_failed_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    measured: list[Scenario] = []
    monkeypatch.setattr(scheduler, "measure", fake_measure({"stage0": 1_000.0, "stage4": None}, measured))
    plan = Plan((stage_target(0), stage_target(4)), (PLAINTEXT,), 1, PINNING, tmp_path, sweep=(0.5,))
    reporter = Recorder()
    batch = run_batch(plan.runs(), PINNING, tmp_path, {"command": ["lab"]}, reporter)
    assert [r.row["target_label"] for r in batch.results] == ["stage0", "stage0", "stage4"]
    at_half = measured[1]
    assert at_half.load.wait.kind == "constant_rate"
    assert at_half.load.wait.rate * at_half.load.users == pytest.approx(500.0)
    assert batch.results[1].row["load_level"] == 0.5
    assert ("skipped", "stage4 × plaintext at 50% of capacity", "its capacity run failed") in reporter.told
    assert reporter.told[0] == ("started", 4) and reporter.told[1] == ("running", 1, "stage0 × plaintext")
    assert ("live", "measuring") in reporter.told
    assert list(results.load(tmp_path, batch.directory.name)["run_id"]) == [r.row["run_id"] for r in batch.results]


def test_rows_are_read_against_their_own_repeat_s_calibration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    measured: list[Scenario] = []
    monkeypatch.setattr(scheduler, "measure", fake_measure({CALIBRATION_TARGET: 4_000.0, "stage4": 1_000.0}, measured))
    minimal = Target(CALIBRATION_TARGET, None, None, command=("true",))
    runs = [PlannedRun(0, PLAINTEXT, minimal, "locust"), PlannedRun(0, PLAINTEXT, stage_target(4), "locust"),
            PlannedRun(0, LATENCY, minimal, "locust"), PlannedRun(0, LATENCY, stage_target(4), "locust"),
            PlannedRun(1, PLAINTEXT, stage_target(4), "locust")]  # repeat 1 has no calibration run
    rows = [r.row for r in run_batch(runs, PINNING, tmp_path, {}, Recorder()).results]
    assert (rows[1]["generator_ceiling_qps"], rows[1]["generator_ceiling_share"]) == (4_000.0, 0.25)
    assert (rows[3]["latency_floor_mean_us"], rows[3]["latency_floor_p99_us"]) == (100.0, 400.0)
    assert rows[3]["generator_ceiling_qps"] is None
    assert rows[4]["generator_ceiling_qps"] is None and rows[0]["generator_ceiling_qps"] is None
    assert rows[1]["soak_verdict"] is None  # only a run that settles is judged


def test_a_soak_holds_a_level_of_its_capacity_run_and_is_judged(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    measured: list[Scenario] = []
    monkeypatch.setattr(scheduler, "measure", fake_measure({"stage4": 2_000.0}, measured))
    batch = run_batch(soak_runs(stage_target(4), PLAINTEXT, level=0.5, rate=None), PINNING, tmp_path, {}, Recorder())
    capacity, soaked = (r.row for r in batch.results)
    assert capacity["scenario"] == "plaintext-capacity" and measured[0].load.slow_clients == 0
    assert soaked["scenario"] == "plaintext" and soaked["load_level"] == 0.5
    assert measured[1].load.wait.rate * measured[1].load.users == pytest.approx(1_000.0)
    assert soaked["soak_verdict"] == "pass" and capacity["soak_verdict"] is None
    (given,) = soak_runs(stage_target(4), PLAINTEXT, level=0.5, rate=300.0)
    assert given.settle and given.level is None and given.scenario.load.wait.rate * PLAINTEXT.load.users == 300.0


def test_an_interrupted_batch_keeps_what_finished(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    measured: list[Scenario] = []
    real = fake_measure({"stage0": 1_000.0}, measured)

    def interrupted_second(*args: Any, **kwargs: Any) -> RunResult:
        if measured:
            raise KeyboardInterrupt
        return real(*args, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(scheduler, "measure", interrupted_second)
    reporter = Recorder()
    runs = [PlannedRun(0, PLAINTEXT, stage_target(0), "locust"), PlannedRun(1, PLAINTEXT, stage_target(0), "locust")]
    with pytest.raises(KeyboardInterrupt):
        run_batch(runs, PINNING, tmp_path, {}, reporter)
    assert reporter.told[-1] == ("interrupted", 1)
    assert len(results.load(tmp_path)) == 1


def test_counted_and_profiled_runs_are_kept_apart_and_described(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A counted and a profiled run go to their own files and reporters, each with the repeat it
    belongs to; batch.json holds the info, the pinning, the machine and each target file's version."""
    asked: list[tuple[str, str, int, object]] = []

    def count(target: Target, scenario: Scenario, pinning: Pinning, *, batch: str, repeat: int,
              load: CountedLoad) -> CountedResult:
        asked.append(("count", target.label, repeat, load, pinning, batch))
        return CountedResult({"batch": batch, "run_id": f"c{repeat}", "target_label": target.label,
                              "scenario": scenario.id, "repeat": repeat}, [])

    def profile(target: Target, scenario: Scenario, pinning: Pinning, *, batch: str, repeat: int, driver: str,
                on_live: Any) -> ProfiledResult:
        asked.append(("profile", target.label, repeat, driver, pinning, batch))
        on_live("profiling")
        return ProfiledResult({"batch": batch, "run_id": f"p{repeat}", "target_label": target.label,
                               "scenario": scenario.id, "repeat": repeat}, [], [])

    monkeypatch.setattr(scheduler, "count", count)
    monkeypatch.setattr(scheduler, "profile", profile)
    monkeypatch.setattr(scheduler, "measure", fake_measure({"stage4": 1_000.0}, []))
    versioned = Target("peer", None, None, command=("true",), version=("echo", "peer 1.2"))
    load = CountedLoad(requests=10, warmup=2)
    runs = [PlannedRun(0, PLAINTEXT, stage_target(4), "locust"),
            PlannedRun(1, PLAINTEXT, versioned, "wrk", counted=load),
            PlannedRun(1, PLAINTEXT, stage_target(4), "wrk", profiled=True)]
    reporter = Recorder()
    before = signal.getsignal(signal.SIGTERM)
    batch = run_batch(runs, PINNING, tmp_path, {"command": ["lab", "compare"]}, reporter)
    assert signal.getsignal(signal.SIGTERM) == before  # the batch's handler is gone with it
    name = batch.directory.name
    assert asked == [("count", "peer", 1, load, PINNING, name), ("profile", "stage4", 1, "wrk", PINNING, name)]
    assert [r.row["run_id"] for r in batch.counted] == ["c1"] and [r.row["run_id"] for r in batch.profiled] == ["p1"]
    assert reporter.told == [
        ("started", 3),
        ("running", 1, "stage4 × plaintext (repeat 1)"), ("live", "measuring"),
        ("finished", "stage4 × plaintext (repeat 1)", "stage4-plaintext-1"),
        ("running", 2, "peer × plaintext counted (repeat 2)"), ("counted", "peer × plaintext counted (repeat 2)", "c1"),
        ("running", 3, "stage4 × plaintext profiled (repeat 2)"), ("live", "profiling"),
        ("profiled", "stage4 × plaintext profiled (repeat 2)", "p1"),
    ]
    assert list(results.load_counted(tmp_path, batch.directory.name)["run_id"]) == ["c1"]
    assert list(results.load_profiled(tmp_path, batch.directory.name)["run_id"]) == ["p1"]
    info = json.loads((batch.directory / results.BATCH_INFO).read_text())
    assert info["batch"] == batch.directory.name and info["command"] == ["lab", "compare"]
    assert (info["server_cpus"], info["client_cpus"]) == ([0], [1])
    assert info["target_versions"] == {"peer": "peer 1.2"} and info["python_version"] == platform.python_version()


def test_a_batch_describes_each_run_by_what_it_is() -> None:
    four = stage_target(4)
    assert scheduler.describe(PlannedRun(0, PLAINTEXT, four, "wrk"), repeated=False) == "stage4 × plaintext"
    assert scheduler.describe(PlannedRun(2, PLAINTEXT, four, "wrk"), repeated=True) == "stage4 × plaintext (repeat 3)"
    assert scheduler.describe(PlannedRun(0, PLAINTEXT, four, "wrk", level=0.25), repeated=False) == (
        "stage4 × plaintext at 25% of capacity")
    assert scheduler.describe(PlannedRun(0, PLAINTEXT, four, "wrk", counted=CountedLoad()), repeated=False) == (
        "stage4 × plaintext counted (repeat 1)")
    assert scheduler.describe(PlannedRun(0, PLAINTEXT, four, "wrk", profiled=True), repeated=False) == (
        "stage4 × plaintext profiled (repeat 1)")


def test_a_timed_run_is_measured_as_planned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[object, ...]] = []

    def measure(target: Target, scenario: Scenario, pinning: Pinning, *, batch: str, repeat: int, driver: str,
                load_level: float | None, on_live: Any, settle: bool) -> RunResult:
        asked.append((pinning, batch, repeat, driver, settle))
        return fake_measure({"stage4": 1_000.0}, [])(target, scenario, pinning, batch=batch, repeat=repeat,
                                                      driver=driver, load_level=load_level, on_live=on_live,
                                                      settle=settle)

    monkeypatch.setattr(scheduler, "measure", measure)
    done = run_batch([PlannedRun(3, PLAINTEXT, stage_target(4), "wrk", settle=True)], PINNING, tmp_path, {},
                     Recorder())
    assert asked == [(PINNING, done.directory.name, 3, "wrk", True)]


def test_a_sweep_reads_the_capacity_of_its_closed_loop_run_not_of_another_level(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each level's rate is a share of the closed-loop run's QPS: a level run's own QPS (what it was
    asked) is not a capacity."""
    asked: list[float] = []

    def measure(target: Target, scenario: Scenario, pinning: Pinning, **kwargs: Any) -> RunResult:
        rate = scenario.load.asked_rate
        asked.append(rate or 0.0)
        return fake_measure({"stage4": rate or 1_000.0}, [])(target, scenario, pinning, **kwargs)

    monkeypatch.setattr(scheduler, "measure", measure)
    plan = Plan((stage_target(4),), (PLAINTEXT,), 1, PINNING, tmp_path, sweep=(0.5, 0.8))
    run_batch(plan.runs(), PINNING, tmp_path, {}, Recorder())
    assert asked == [0.0, pytest.approx(500.0), pytest.approx(800.0)]


def test_a_run_is_read_against_the_calibration_run_of_its_own_ceiling(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    def measure(target: Target, scenario: Scenario, pinning: Pinning, **kwargs: Any) -> RunResult:
        qps = {(CALIBRATION_TARGET, False): 40_000.0, (CALIBRATION_TARGET, True): 8_000.0}.get(
            (target.name, target.closes), 2_000.0)
        result = fake_measure({target.name: qps}, [])(target, scenario, pinning, **kwargs)
        result.row["closing_ceiling"] = target.closes
        return result

    monkeypatch.setattr(scheduler, "measure", measure)
    keeping = Target(CALIBRATION_TARGET, None, None, command=("true",))
    closing = Target(CALIBRATION_TARGET, None, None, command=("true",), closes=True)
    runs = [PlannedRun(0, PLAINTEXT, keeping, "wrk"), PlannedRun(0, PLAINTEXT, closing, "wrk"),
            PlannedRun(0, PLAINTEXT, stage_target(0), "wrk"), PlannedRun(0, PLAINTEXT, stage_target(4), "wrk")]
    rows = {r.row["target_label"]: r.row for r in run_batch(runs, PINNING, tmp_path, {}, Recorder()).results}
    assert rows["stage0"]["generator_ceiling_qps"] == 8_000.0 and rows["stage4"]["generator_ceiling_qps"] == 40_000.0
