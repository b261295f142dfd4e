"""What each driver refuses to run, and why, as callers ask it (lab.drivers.base.Driver)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from lab.cli.options import UsageError, check_driver
from lab.drivers.registry import DRIVERS, driver_named
from lab.files.scenario_file import resolve
from lab.model.scenario import Scenario

(PLAINTEXT,) = resolve(["plaintext"])


def loaded(scenario: Scenario, **load: object) -> Scenario:
    return replace(scenario, load=replace(scenario.load, **load))


def test_locust_refuses_what_only_the_raw_client_can_do() -> None:
    locust = driver_named("locust")
    assert locust.refusal(loaded(PLAINTEXT, client="raw", pipeline=4)) is None
    assert 'pipeline > 1 needs client = "raw"' in (locust.refusal(loaded(PLAINTEXT, client="fast", pipeline=4)) or "")
    poisson = loaded(PLAINTEXT.at_rate(100.0), client="http", arrivals="poisson")
    assert 'arrivals = "poisson" needs client = "raw"' in (locust.refusal(poisson) or "")
    assert locust.refusal(loaded(PLAINTEXT, client="fast")) is None
    assert locust.missing() is None


def test_wrk_refuses_a_schedule_mixed_statuses_and_other_machines() -> None:
    wrk = driver_named("wrk")
    assert wrk.refusal(loaded(PLAINTEXT, client="fast", pipeline=4)) is None  # wrk pipelines for any client
    assert "no think time" in (wrk.refusal(PLAINTEXT.at_rate(100.0)) or "")
    assert "wrk runs on this machine only" in (wrk.refusal(loaded(PLAINTEXT, expect_workers=2)) or "")


def test_the_command_line_asks_the_driver_and_names_the_scenario() -> None:
    with pytest.raises(UsageError, match='scenario plaintext cannot run on locust: pipeline > 1 needs client = "raw"'):
        check_driver("locust", [loaded(PLAINTEXT, client="fast", pipeline=4)])
    check_driver("locust", [PLAINTEXT])
    assert sorted(DRIVERS) == ["locust", "wrk"]
