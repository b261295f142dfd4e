"""A soak: a target held at a fraction of its capacity for a long time, beside hostile clients,
judged on what a long run shows and a short one cannot (lab.run.stability)."""

from __future__ import annotations

from pathlib import Path

from lab.drivers.registry import DEFAULT_DRIVER
from lab.model.scenario import Scenario
from lab.model.target import Target
from lab.run.measure import Pinning
from lab.run.scheduler import Batch, PlannedRun, Reporter, run_batch

# Seconds of the closed-loop run that finds the capacity the soak's rate is a fraction of.
CAPACITY_DURATION_S = 5.0
CAPACITY_WARMUP_S = 2.0


def capacity_scenario(scenario: Scenario) -> Scenario:
    """The soak's requests as a short closed loop without the hostile clients: the rate to hold."""
    return scenario.with_load(renamed=f"{scenario.id}-capacity", duration=CAPACITY_DURATION_S,
                              warmup=CAPACITY_WARMUP_S, slow_clients=0)


def soak_runs(target: Target, scenario: Scenario, *, level: float, rate: float | None) -> list[PlannedRun]:
    """The capacity run (unless `rate` is given), then the soak at `level` of it or at `rate`."""
    if rate is not None:  # a rate given is no fraction of anything
        return [PlannedRun(0, scenario.at_rate(rate), target, DEFAULT_DRIVER, settle=True)]
    capacity = capacity_scenario(scenario)
    return [PlannedRun(0, capacity, target, DEFAULT_DRIVER),
            PlannedRun(0, scenario, target, DEFAULT_DRIVER, level, capacity_from=capacity.id, settle=True)]


def soak(target: Target, scenario: Scenario, pinning: Pinning, root: Path, *, level: float, rate: float | None,
         argv: list[str], reporter: Reporter) -> Batch:
    """Find the capacity (unless `rate` is given), then hold `level` of it for the scenario's
    duration; both runs go into one batch, the soak's row with its verdict."""
    info = {"command": argv, "kind": "soak", "target": target.label, "scenario": scenario.id, "level": level,
            "rate": rate}
    return run_batch(soak_runs(target, scenario, level=level, rate=rate), pinning, root, info, reporter)
