"""Scenario files: one TOML file per workload in scenarios/, validated before anything runs."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from lab.files.toml_file import Fields, FileError, locate, read_toml
from lab.model.scenario import (
    ARRIVALS,
    CLIENTS,
    DEFAULT_CLIENT,
    DEFAULT_TIMEOUT_S,
    MAX_BODY_SIZE,
    MAX_PIPELINE,
    MAX_SLOW_CLIENTS,
    METHODS,
    SLOW_KINDS,
    Load,
    RequestSpec,
    Scenario,
    Wait,
    WaitKind,
    parse_duration,
)
from lab.paths import SCENARIO_DIR


class ScenarioError(FileError):
    """A scenario file that cannot run; the message names the file and the field."""


class _Fields(Fields):
    error = ScenarioError


def _wait(fields: _Fields) -> Wait:
    raw = fields.table.get("wait", "none")
    if raw == "none":
        return Wait()
    if not isinstance(raw, dict) or len(raw) != 1:
        raise fields.fail("wait", "must be \"none\" or one of { constant = \"100ms\" }, "
                                  "{ between = [\"50ms\", \"150ms\"] }, { constant_rate = 20 }")
    ((kind, _),) = raw.items()
    sub = _Fields(fields.path, raw, "load.wait.")
    if kind == "constant":
        return Wait(WaitKind.CONSTANT, seconds=sub.duration("constant"))
    if kind == "between":
        bounds = sub.take("between", list)
        if len(bounds) != 2 or not all(isinstance(b, str) for b in bounds):
            raise sub.fail("between", "must be two durations, like [\"50ms\", \"150ms\"]")
        try:
            low, high = (parse_duration(b, "a bound") for b in bounds)
        except ValueError as error:
            raise sub.fail("between", str(error)) from None
        if low > high:
            raise sub.fail("between", "the lower bound is above the upper")
        return Wait(WaitKind.BETWEEN, seconds=low, upper=high)
    if kind == "constant_rate":
        rate = float(sub.take("constant_rate", (int, float)))
        if rate <= 0:
            raise sub.fail("constant_rate", "must be > 0 requests per second per user")
        return Wait(WaitKind.CONSTANT_RATE, rate=rate)
    raise sub.fail(kind, "unknown wait kind (known: constant, between, constant_rate)")


def _load(path: Path, table: Any) -> Load:
    if not isinstance(table, dict):
        raise ScenarioError(f"{path}: load: must be a table ([load])")
    fields = _Fields(path, table, "load.")
    fields.check_unknown({"users", "spawn_rate", "duration", "warmup", "wait", "client", "processes", "pipeline",
                          "timeout", "arrivals", "slow_clients", "slow_kind", "slow_persist"})
    users = fields.take("users", int)
    if users < 1:
        raise fields.fail("users", "must be >= 1")
    spawn_rate = float(fields.take("spawn_rate", (int, float), users))
    if spawn_rate <= 0:
        raise fields.fail("spawn_rate", "must be > 0")
    duration = fields.duration("duration", "10s")
    if duration <= 0:
        raise fields.fail("duration", "must be > 0")
    warmup = fields.duration("warmup", "2s")
    client = fields.take("client", str, DEFAULT_CLIENT)
    if client not in CLIENTS:
        raise fields.fail("client", f"must be one of {', '.join(CLIENTS)}")
    timeout = fields.duration("timeout", DEFAULT_TIMEOUT_S)
    if timeout <= 0:
        raise fields.fail("timeout", "must be > 0")
    arrivals = fields.take("arrivals", str, "uniform")
    if arrivals not in ARRIVALS:
        raise fields.fail("arrivals", f"must be one of {', '.join(ARRIVALS)}")
    processes = fields.take("processes", int, None)
    if processes is not None and processes < 1:
        raise fields.fail("processes", "must be >= 1 (leave it out for one per client CPU)")
    pipeline = fields.take("pipeline", int, 1)
    if not 1 <= pipeline <= MAX_PIPELINE:
        raise fields.fail("pipeline", f"must be 1..{MAX_PIPELINE}")
    wait = _wait(fields)
    if arrivals != "uniform" and wait.kind != WaitKind.CONSTANT_RATE:
        raise fields.fail("arrivals", "only applies to an open loop: wait = { constant_rate = N }")
    slow_clients = fields.take("slow_clients", int, 0)
    if not 0 <= slow_clients <= MAX_SLOW_CLIENTS:
        raise fields.fail("slow_clients", f"must be 0..{MAX_SLOW_CLIENTS}")
    slow_kind = fields.take("slow_kind", str, "header")
    if slow_kind not in SLOW_KINDS:
        raise fields.fail("slow_kind", f"must be one of {', '.join(SLOW_KINDS)}")
    slow_persist = fields.take("slow_persist", bool, False)
    return Load(users, spawn_rate, duration, warmup, wait, client, processes, pipeline, timeout=timeout,
                arrivals=arrivals, slow_clients=slow_clients, slow_kind=slow_kind, slow_persist=slow_persist)


def _request(path: Path, index: int, table: Any) -> RequestSpec:
    if not isinstance(table, dict):
        raise ScenarioError(f"{path}: request[{index}]: must be a table ([[request]])")
    fields = _Fields(path, table, f"request[{index}].")
    fields.check_unknown({"name", "method", "path", "weight", "headers", "body", "body_size", "expect_status"})
    method = fields.take("method", str, "GET").upper()
    if method not in METHODS:
        raise fields.fail("method", f"must be one of {', '.join(METHODS)}")
    target = fields.take("path", str)
    if not target.startswith("/") or any(c.isspace() for c in target):
        raise fields.fail("path", "must start with / and contain no whitespace")
    weight = fields.take("weight", int, 1)
    if weight < 1:
        raise fields.fail("weight", "must be >= 1")
    headers = fields.take("headers", dict, {})
    for name, value in headers.items():
        if not isinstance(value, str):
            raise fields.fail(f"headers.{name}", "must be a string")
    if "body" in table and "body_size" in table:
        raise fields.fail("body", "give body or body_size, not both")
    body = fields.take("body", str, "").encode()
    size = fields.take("body_size", int, None)
    if size is not None:
        if not 0 <= size <= MAX_BODY_SIZE:
            raise fields.fail("body_size", f"must be 0..{MAX_BODY_SIZE}")
        body = b"x" * size
    status = fields.take("expect_status", int, 200)
    if not 100 <= status <= 599:
        raise fields.fail("expect_status", "must be an HTTP status (100..599)")
    name = fields.take("name", str, f"{method} {target}")
    return RequestSpec(name, method, target, weight, tuple(headers.items()), body, status)


def load_scenario(path: Path) -> Scenario:
    """Parse and validate one file; raise ScenarioError naming the file and the field."""
    raw, data = read_toml(path, ScenarioError)
    top = _Fields(path, data, "")
    top.check_unknown({"description", "default", "keep_alive", "load", "request"})
    description = top.take("description", str)
    default = top.take("default", bool, False)
    keep_alive = top.take("keep_alive", bool, False)
    load = _load(path, top.take("load", dict))
    requests = top.take("request", list)
    if not requests:
        raise top.fail("request", "needs at least one [[request]]")
    specs = tuple(_request(path, i, r) for i, r in enumerate(requests))
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise top.fail("request", "two requests share a name; give them distinct `name`s")
    return Scenario(path.stem, description, load, specs, default, str(path), hashlib.sha256(raw).hexdigest(),
                    keep_alive)


def scenario_files(directory: Path = SCENARIO_DIR) -> list[Path]:
    return sorted(directory.glob("*.toml"))


def resolve(names: list[str] | None, directory: Path = SCENARIO_DIR) -> list[Scenario]:
    """Ids (file names in `directory`) or paths → scenarios; None → the files marked default."""
    if names is None:
        scenarios = [load_scenario(p) for p in scenario_files(directory)]
        chosen = [s for s in scenarios if s.default]
        if not chosen:
            raise ScenarioError(f"{directory}: no scenario has `default = true`; name some with --scenarios")
        return chosen
    return [load_scenario(locate(name, directory, "scenario", ScenarioError)) for name in names]
