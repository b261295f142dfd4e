"""The one locustfile: builds a user class from the scenario named in QPSLAB_SCENARIO.

Runs inside locust's (gevent-patched) processes, never in the lab's own. Each process tallies
its requests with a Recorder and writes it to QPSLAB_OUT when it quits; the lab merges them.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from locust import FastHttpUser, HttpUser, between, constant, constant_throughput, events

from lab.recorder import Recorder
from lab.scenario import RequestSpec, Scenario

SCENARIO = Scenario.from_dict(json.loads(Path(os.environ["QPSLAB_SCENARIO"]).read_text()))
OUT = Path(os.environ["QPSLAB_OUT"])
_WAIT = SCENARIO.load.wait
RECORDER = Recorder(SCENARIO.load.warmup, SCENARIO.load.duration,
                    1e6 / _WAIT.rate if _WAIT.kind == "constant_rate" else None)


class _Live:
    """Once a second, the requests of the second before, for the lab's progress bar."""

    path = OUT / f"{os.getpid()}.live"
    second = -1

    @classmethod
    def update(cls, second: int) -> None:
        if second != cls.second:
            cls.second = second
            cls.path.write_text(json.dumps({"second": second, "requests": RECORDER.seconds.get(second - 1, [0])[0]}))


@events.test_start.add_listener
def _on_start(**_: Any) -> None:
    RECORDER.start(time.time())


@events.request.add_listener
def _on_request(response_time: float, response_length: int, exception: BaseException | None, **_: Any) -> None:
    error = None if exception is None else f"{type(exception).__name__}: {exception}"[:200]
    _Live.update(RECORDER.record(time.time(), response_time, response_length or 0, error))


@events.quitting.add_listener
def _on_quit(**_: Any) -> None:
    RECORDER.write(OUT)


def _task(spec: RequestSpec) -> Callable[[Any], None]:
    """One scenario request as a locust task; a status other than expect_status is a failure."""
    headers = dict(spec.headers)
    body = spec.body or None

    def send(user: Any) -> None:
        with user.client.request(spec.method, spec.path, name=spec.name, headers=headers, data=body,
                                 catch_response=True) as response:
            if response.status_code != spec.expect_status:
                response.failure(f"status {response.status_code}, expected {spec.expect_status}")

    send.__name__ = spec.name
    return send


def _wait_time() -> Callable[..., float]:
    wait = SCENARIO.load.wait
    if wait.kind == "constant":
        return constant(wait.seconds)
    if wait.kind == "between":
        return between(wait.seconds, wait.upper)
    if wait.kind == "constant_rate":
        return constant_throughput(wait.rate)
    return constant(0)


_BASE = FastHttpUser if SCENARIO.load.client == "fast" else HttpUser
ScenarioUser = type(
    "ScenarioUser",
    (_BASE,),
    {
        "wait_time": _wait_time(),
        "tasks": {_task(spec): spec.weight for spec in SCENARIO.requests},
    },
)
