"""The one locustfile: user classes driven by the scenario the lab hands over.

Runs inside locust's (gevent-patched) processes, never in the lab's own. Three roles:
- standalone (one process): reads the scenario from QPSLAB_SCENARIO, tallies its requests with
  a Recorder and writes the tally to QPSLAB_OUT when it quits;
- master (several processes, local or on other machines): sends no request; it forwards the
  scenario to its workers, asks each for its tally when the run stops and writes them to
  QPSLAB_OUT, with the worker's clock moved onto its own;
- worker: learns the scenario from the master's first spawn message (locust forwards custom
  arguments), tallies, and answers the master's request for its tally.
The tallies travel in locust's own messages, so a worker on another machine is merged exactly
like a local one.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import gevent
from locust import FastHttpUser, HttpUser, between, constant, constant_throughput, events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from lab.drivers.locust.raw import RawScenarioUser, Successes
from lab.drivers.locust.raw_plan import RawPlan
from lab.drivers.locust.recorder import Recorder
from lab.drivers.locust.stats_batch import StatsBatch
from lab.drivers.locust.tally import Tally, worker_tally
from lab.model.scenario import USER_CLASSES, RequestSpec, Scenario, WaitKind
from lab.paths import write_atomically

OUT = Path(os.environ.get("QPSLAB_OUT", "."))
# Seconds the master waits for every worker's tally once the run stops; a tally is a few KB.
TALLY_WAIT_S = 15.0
_TALLY_REQUEST = "qpslab_tally_request"
_TALLY = "qpslab_tally"


class _State:
    recorder: Recorder | None = None
    scenario: Scenario | None = None
    stats: StatsBatch | None = None  # the raw client's successes on their way to locust's statistics
    live_second = -1


class FastScenarioUser(FastHttpUser):
    """The scenario's requests on locust's FastHttpUser (geventhttpclient); `client = "fast"`."""


class HttpScenarioUser(HttpUser):
    """The same on locust's HttpUser (requests); `client = "http"`."""


_BY_CLIENT = {client: globals()[name] for client, name in USER_CLASSES.items()}  # RawScenarioUser: imported


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


def _wait_time(scenario: Scenario) -> Callable[..., float]:
    wait = scenario.load.wait
    if wait.kind == WaitKind.CONSTANT:
        return constant(wait.seconds)
    if wait.kind == WaitKind.BETWEEN:
        return between(wait.seconds, wait.upper)
    if wait.kind == WaitKind.CONSTANT_RATE:
        return constant_throughput(wait.rate)
    return constant(0)


def _random_phase(interval: float) -> Callable[[Any], None]:
    """An open-loop user's first request at a random point of its interval: locust starts the
    users of one second in one batch, and at a fixed rate they would stay in step, so that a
    server at 50% load would see bursts of every user at once and queue them."""

    def on_start(user: Any) -> None:
        gevent.sleep(random.uniform(0.0, interval))

    return on_start


def configure(scenario: Scenario) -> None:
    """Give the scenario's user class its tasks and pacing, and start a fresh tally. The raw
    user paces itself and learns its plan when the run starts (it needs the host)."""
    _State.scenario = scenario
    wait = scenario.load.wait
    if scenario.load.client != "raw":
        user = _BY_CLIENT[scenario.load.client]
        user.tasks = [task for spec in scenario.requests for task in [_task(spec)] * spec.weight]
        user.wait_time = _wait_time(scenario)
        if scenario.load.open_loop:
            user.on_start = _random_phase(1.0 / wait.rate)
    _State.recorder = Recorder(scenario.load.warmup, scenario.load.duration,
                               1e6 / wait.rate if scenario.load.open_loop else None)


if "QPSLAB_SCENARIO" in os.environ:  # standalone and master; a worker waits for its master
    _SCENARIO_TEXT = Path(os.environ["QPSLAB_SCENARIO"]).read_text()
    configure(Scenario.from_dict(json.loads(_SCENARIO_TEXT)))
else:
    _SCENARIO_TEXT = ""


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    parser.add_argument("--qpslab-scenario", default="", help="set by the lab: the scenario, forwarded to workers")


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, MasterRunner):
        assert environment.parsed_options is not None
        environment.parsed_options.qpslab_scenario = _SCENARIO_TEXT
        runner.register_message(_TALLY, _receive_tally)
    elif isinstance(runner, WorkerRunner):
        runner.register_message(_TALLY_REQUEST, _send_tally)


@events.test_start.add_listener
def _on_start(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, MasterRunner):
        return
    if isinstance(environment.runner, WorkerRunner):
        options = environment.parsed_options
        text = getattr(options, "qpslab_scenario", "") if options is not None else ""
        if not text:
            sys.exit("qpslab worker: the master sent no scenario (is it a qpslab master?)")
        configure(Scenario.from_dict(json.loads(text)))
    assert _State.recorder is not None and _State.scenario is not None
    if _State.scenario.load.client == "raw":
        assert environment.host is not None
        _State.stats = StatsBatch(environment.stats)
        RawScenarioUser.start_engine(RawPlan.of(_State.scenario, environment.host), _on_completed,
                                     environment.events.request.fire)
    _State.recorder.start(time.time())


@events.test_stop.add_listener
def _on_stop(environment: Environment, **_: Any) -> None:
    if _State.stats is not None:  # before locust prints its summary, or a worker its last report
        _State.stats.flush()


@events.request.add_listener
def _on_request(response_time: float, response_length: int, exception: BaseException | None,
                context: dict[str, Any] | None = None, **_: Any) -> None:
    recorder = _State.recorder
    if recorder is None:
        return
    error = None if exception is None else f"{type(exception).__name__}: {exception}"[:200]
    scheduled = context.get("scheduled_ms") if context else None
    _tick(recorder.record(time.time(), response_time, response_length or 0, error, scheduled))


def _on_completed(now: float, successes: list[Successes], scheduled_us: list[int], retried: int) -> None:
    """The raw client's successes of one poll: into the tally, and on their way to locust's statistics."""
    recorder, stats = _State.recorder, _State.stats
    assert recorder is not None and stats is not None
    micros = successes[0].micros if len(successes) == 1 else [us for s in successes for us in s.micros]
    _tick(recorder.record_successes(now, micros, sum(s.body_bytes for s in successes), scheduled_us, retried))
    for done in successes:
        stats.add(done.request.method, done.request.name, done.micros, done.body_bytes, now)


def _tick(second: int) -> None:
    recorder = _State.recorder
    assert recorder is not None
    if second != _State.live_second:  # once a second, the second before: the lab's progress line
        _State.live_second = second
        times = os.times()
        recorder.mark_cpu(time.time(), times.user + times.system)
        live = {"second": second, "requests": recorder.seconds.get(second - 1, [0])[0]}
        (OUT / f"{os.getpid()}.live").write_text(json.dumps(live))


@events.quitting.add_listener
def _on_quit(environment: Environment, **_: Any) -> None:
    if not isinstance(environment.runner, MasterRunner | WorkerRunner):
        assert _State.recorder is not None
        _note_user_classes(environment)
        _State.recorder.write(OUT)


def _note_user_classes(environment: Environment) -> None:
    """Which user classes locust really ran (while running, or as it stopped): the lab refuses a
    run whose client is not the one its scenario asked for, rather than report another client's
    numbers under its name."""
    runner = environment.runner
    assert runner is not None and _State.recorder is not None
    counts = runner.final_user_classes_count or runner.user_classes_count
    _State.recorder.user_classes = sorted(name for name, count in counts.items() if count)


# -- tallies across processes and machines ------------------------------------------------------

_received: dict[str, Tally | None] = {}  # worker id → its tally (None: it recorded nothing)


def _send_tally(environment: Environment, msg: Any, **_: Any) -> None:
    recorder = _State.recorder
    if recorder is not None:
        _note_user_classes(environment)
    result = recorder.result().as_dict() if recorder is not None and recorder.started is not None else None
    assert environment.runner is not None
    environment.runner.send_message(_TALLY, {"tally": result, "sent_at": time.time()})


def _receive_tally(environment: Environment, msg: Any, **_: Any) -> None:
    sent = msg.data["tally"]
    # The worker's clock may be another machine's: move its times onto the master's (the error
    # is the message's one-way delay, milliseconds against a window of seconds).
    offset = time.time() - msg.data["sent_at"]
    _received[msg.node_id] = None if sent is None else Tally.from_dict(sent).moved(offset)


@events.test_stopping.add_listener
def _collect_tallies(environment: Environment, **_: Any) -> None:
    """On the master, before the workers are told to quit: ask each for its tally and wait."""
    runner = environment.runner
    if not isinstance(runner, MasterRunner):
        return
    workers = [client.id for client in runner.clients.all]
    runner.send_message(_TALLY_REQUEST)
    deadline = time.monotonic() + TALLY_WAIT_S
    while any(w not in _received for w in workers) and time.monotonic() < deadline:
        gevent.sleep(0.05)
    for index, worker in enumerate(workers):
        tally = _received.get(worker)
        if tally is None:
            why = "recorded no request" if worker in _received else f"sent no tally within {TALLY_WAIT_S:.0f} s"
            print(f"qpslab: worker {worker} {why}", file=sys.stderr)
            continue
        write_atomically(OUT / worker_tally(index), replace(tally, worker=worker).to_json())
