"""How many locust processes load, and where each runs: by default one per client CPU, each
pinned to its own, on a machine with more CPUs than this one (simulated behind oscalls)."""

from __future__ import annotations

import argparse
import io

import pytest
from rich.console import Console

import oscalls
from lab.cli import options
from lab.drivers.locust.driver import commands
from lab.files.scenario_file import resolve
from lab.model.scenario import Scenario
from lab.model.target import stage_target
from lab.run.measure import planned

EIGHT = frozenset(range(8))
URL = "http://127.0.0.1:8080"


def _plaintext(**load: object) -> Scenario:
    (plaintext,) = resolve(["plaintext"])
    return plaintext.with_load(**load)


def _pinning_on_eight_cpus(monkeypatch: pytest.MonkeyPatch) -> options.Pinning:
    monkeypatch.setattr(oscalls, "allowed_cpus", lambda: EIGHT)
    parser = argparse.ArgumentParser()
    parser.add_argument("--server-cpus")
    parser.add_argument("--client-cpus")
    return options.pinning(parser.parse_args([]), Console(file=io.StringIO()))


def test_by_default_each_client_cpu_gets_a_locust_process_of_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    pinning = _pinning_on_eight_cpus(monkeypatch)
    assert pinning.server_cpus == {0} and pinning.client_cpus == EIGHT - {0}
    scenario = _plaintext()
    assert scenario.load.processes is None  # no scenario file and no flag chose a count
    run = commands(scenario, URL, 5557, pinning.client_cpus)
    (master, master_cpus), *workers = run
    assert "--master" in master and master[master.index("--expect-workers") + 1] == "7"
    assert master_cpus == pinning.client_cpus  # it sends no request
    assert [cpus for _, cpus in workers] == [frozenset({cpu}) for cpu in range(1, 8)]
    assert all("--worker" in argv and "--processes" not in argv for argv, _ in workers)
    row = planned(stage_target(4), scenario, pinning, batch="b", repeat=0, driver="locust", load_level=None)
    assert row.processes == 7


def test_one_client_cpu_runs_one_standalone_locust() -> None:
    ((argv, cpus),) = commands(_plaintext(), URL, 5557, frozenset({1}))
    assert "--master" not in argv and "--worker" not in argv and cpus == {1}


@pytest.mark.parametrize(("processes", "expected"), [
    (1, []), (2, [{1}, {2}]), (9, [{cpu} for cpu in range(1, 8)] + [{1}, {2}])])
def test_a_count_given_overrides_the_default_and_workers_take_the_cpus_in_turn(processes: int,
                                                                               expected: list[set[int]]) -> None:
    run = commands(_plaintext(processes=processes), URL, 5557, EIGHT - {0})
    assert [cpus for argv, cpus in run if "--worker" in argv] == expected
    assert len(run) == (1 if processes == 1 else processes + 1)
