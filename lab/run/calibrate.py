"""The load generators' own ceilings on this machine: each client against the minimal server.

The same scenario (plaintext unless told otherwise) run by locust's raw, fast and http clients
and by wrk (when installed), with many users (throughput: who keeps up) and with one (latency:
what each adds to a request), against lab/peers/minimal.py, which costs next to nothing, so
whatever limits a run is its generator; and the most users once more against it with --close,
a new connection per request: the ceiling of closing servers. Interleaved, one batch.
"""

from __future__ import annotations

from lab.drivers import wrk
from lab.files.target_file import calibration_target
from lab.model.scenario import Scenario
from lab.run.scheduler import PlannedRun

# Which generators, as (client, driver); wrk ignores the client.
LOCUST_CLIENTS = ("raw", "fast", "http")
# Many users measure a generator's throughput, one its latency (compare `wrk -t1 -c1`).
USERS = (50, 1)


def generators() -> list[tuple[str, str]]:
    pairs = [(client, "locust") for client in LOCUST_CLIENTS]
    return pairs + ([("raw", wrk.NAME)] if wrk.available() else [])


def variant(scenario: Scenario, client: str, driver: str, users: int, closing: bool = False) -> Scenario:
    name = client if driver == "locust" else driver
    suffix = " · a connection per request" if closing else ""
    return scenario.with_load(renamed=f"{scenario.id} · {name} · {users} user{'s' if users > 1 else ''}{suffix}",
                              users=users, spawn_rate=float(users), client=client)


def calibration_runs(scenario: Scenario, repeats: int, users: tuple[int, ...] = USERS) -> list[PlannedRun]:
    """Repeat by repeat, every user count × every generator against the minimal server, then the
    most users against it with --close (each request on a new connection, as stages 0-3 answer),
    all interleaved against drift."""
    servers = {closing: calibration_target(closing) for closing in (False, True)}
    loads = [(count, False) for count in users] + [(max(users), True)]
    return [PlannedRun(repeat, variant(scenario, client, driver, count, closing), servers[closing], driver)
            for repeat in range(repeats) for count, closing in loads for client, driver in generators()]
