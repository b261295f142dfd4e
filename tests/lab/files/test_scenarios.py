"""Scenario files: the shipped ones load, and every kind of mistake names its file and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.files.scenario_file import ScenarioError, load_scenario, resolve, scenario_files
from lab.model.scenario import parse_duration

VALID = """
description = "ok"
[load]
users = 2
duration = "1s"
[[request]]
path = "/plaintext"
"""


def write(tmp_path: Path, text: str, name: str = "custom.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_every_shipped_scenario_is_valid() -> None:
    ids = {load_scenario(p).id for p in scenario_files()}
    assert {"plaintext", "json", "echo-post", "payload-64k", "io-wait", "mixed", "many-connections"} <= ids


def test_defaults_and_derived_fields(tmp_path: Path) -> None:
    scenario = load_scenario(write(tmp_path, VALID))
    assert scenario.id == "custom"
    assert (scenario.load.users, scenario.load.spawn_rate, scenario.load.duration, scenario.load.warmup) == (2, 2, 1, 2)
    assert scenario.requests[0].name == "GET /plaintext" and scenario.requests[0].expect_status == 200
    assert len(scenario.content_hash) == 64


def test_a_user_adds_a_scenario_by_dropping_a_file(tmp_path: Path) -> None:
    write(tmp_path, VALID, "mine.toml")
    write(tmp_path, VALID.replace('description = "ok"', 'description = "ok"\ndefault = true'), "other.toml")
    assert [s.id for s in resolve(["mine"], tmp_path)] == ["mine"]
    assert [s.id for s in resolve(None, tmp_path)] == ["other"]
    assert [s.id for s in resolve([str(tmp_path / "mine.toml")])] == ["mine"]


@pytest.mark.parametrize(("text", "message"), [
    ("description = 'x'\n[load]\nusers = 1\n", "custom.toml: request: is required"),
    (VALID.replace("users = 2", "users = 0"), "custom.toml: load.users: must be >= 1"),
    (VALID.replace("users = 2", "users = 'many'"), "custom.toml: load.users: must be an integer, got 'many'"),
    (VALID.replace('duration = "1s"', 'duration = "soon"'), "load.duration: it must look like '10s'"),
    (VALID.replace('duration = "1s"', 'duration = 10'), "load.duration: must be a string"),
    (VALID.replace("users = 2", "users = 2\nusrs = 3"), "load.usrs: unknown field"),
    (VALID.replace('path = "/plaintext"', 'path = "plaintext"'), "request[0].path: must start with /"),
    (VALID.replace('path = "/plaintext"', 'path = "/x"\nmethod = "FETCH"'), "request[0].method: must be one of"),
    (VALID.replace('path = "/plaintext"', 'path = "/x"\nweight = 0'), "request[0].weight: must be >= 1"),
    (VALID.replace('path = "/plaintext"', 'path = "/x"\nbody = "a"\nbody_size = 3'), "give body or body_size"),
    (VALID.replace('path = "/plaintext"', 'path = "/x"\nexpect_status = 42'), "request[0].expect_status"),
    (VALID.replace('duration = "1s"', 'duration = "1s"\nwait = "sometimes"'), "load.wait: must be \"none\""),
    (VALID.replace('duration = "1s"', 'duration = "1s"\nwait = { between = ["2s", "1s"] }'), "lower bound is above"),
    (VALID.replace('duration = "1s"', 'duration = "1s"\nclient = "curl"'), "load.client: must be one of raw, fas"),
    (VALID.replace('duration = "1s"', 'duration = "1s"\ntimeout = "0s"'), "load.timeout: must be > 0"),
    (VALID.replace('duration = "1s"', 'duration = "1s"\narrivals = "bursty"'), "load.arrivals: must be one of"),
    (VALID.replace('duration = "1s"', 'duration = "1s"\narrivals = "poisson"'), "only applies to an open loop"),
    (VALID + "[[request]]\npath = \"/plaintext\"\n", "two requests share a name"),
    ("description = \n", "not valid TOML"),
    (VALID.replace('description = "ok"', ""), "custom.toml: description: is required"),
])
def test_mistakes_name_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        load_scenario(write(tmp_path, text))
    assert message in str(caught.value)
    assert str(tmp_path / "custom.toml") in str(caught.value)


def test_unknown_scenario_lists_the_known_ones(tmp_path: Path) -> None:
    write(tmp_path, VALID, "known.toml")
    with pytest.raises(ScenarioError, match=r"unknown scenario 'nope'.*known: known"):
        resolve(["nope"], tmp_path)


@pytest.mark.parametrize(("text", "seconds"), [("10s", 10.0), ("500ms", 0.5), ("2m", 120.0), ("1.5s", 1.5)])
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["10", "s", "-1s", "1d", ""])
def test_parse_duration_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="must look like"):
        parse_duration(text)
