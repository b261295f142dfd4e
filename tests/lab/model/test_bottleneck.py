"""What held a run's rate, at each boundary of lab.model.bottleneck, in memory."""

from __future__ import annotations

import pytest

from lab.model.bottleneck import (
    HELD_RATE_SHARE,
    SATURATED_BUSY,
    SATURATED_IDLE,
    Bottleneck,
    Side,
    bottleneck,
    prevailing,
)

IDLE = Side(0.3, 0.6)  # a side with room left
FULL = Side(SATURATED_BUSY, 0.5)  # its processes at the line


def closed(server: Side, generator: Side, users: int = 100, concurrency: int | None = None) -> Bottleneck:
    return bottleneck(server, generator, users=users, concurrency=concurrency, asked_rate=None, qps=30_000.0)


@pytest.mark.parametrize(("side", "saturated"), [
    (Side(SATURATED_BUSY), True),  # at the line
    (Side(SATURATED_BUSY - 0.001), False),
    (Side(0.6, SATURATED_IDLE - 0.001), True),  # its CPU full though its process was not (the kernel's work)
    (Side(0.6, SATURATED_IDLE), False),
    (Side(0.4, 0.5, SATURATED_BUSY), True),  # one single-threaded locust process at the line
    (Side(None, None, None), False),  # nothing measured is no evidence of saturation
])
def test_a_side_is_full_by_its_busy_share_its_cpus_idle_or_its_busiest_process(side: Side, saturated: bool) -> None:
    assert side.saturated is saturated


def test_closed_loop_readings() -> None:
    assert closed(FULL, IDLE) == Bottleneck.SERVER
    assert closed(IDLE, FULL) == Bottleneck.GENERATOR
    assert closed(FULL, FULL) == Bottleneck.BOTH
    # Neither full: the users held it (the stage 4 on io-wait, 0.60 and 0.32 busy) ...
    assert closed(Side(0.60, 0.4), Side(0.32, 0.6)) == Bottleneck.USERS
    # ... unless the server serves fewer at once by design than there are users (stage 0, stage 1).
    assert closed(Side(0.13, 0.85), Side(0.16, 0.8), users=100, concurrency=1) == Bottleneck.SERVER
    assert closed(IDLE, IDLE, users=100, concurrency=10) == Bottleneck.SERVER
    assert closed(IDLE, IDLE, users=10, concurrency=10) == Bottleneck.USERS  # as many users as it serves
    assert closed(FULL, IDLE, concurrency=1) == Bottleneck.SERVER


def test_open_loop_readings() -> None:
    def open_loop(qps: float, server: Side = IDLE, generator: Side = IDLE, concurrency: int | None = None) -> str:
        return bottleneck(server, generator, users=10, concurrency=concurrency, asked_rate=1_000.0, qps=qps)

    assert open_loop(1_000.0 * HELD_RATE_SHARE) == Bottleneck.SCHEDULE  # held, at exactly the share
    assert open_loop(1_000.0 * HELD_RATE_SHARE - 1) == Bottleneck.USERS  # behind, with nothing full
    assert open_loop(500.0, concurrency=1) == Bottleneck.SERVER
    assert open_loop(1_000.0, server=FULL) == Bottleneck.SERVER  # a full server is full whatever it was asked
    assert open_loop(1_000.0, generator=FULL) == Bottleneck.GENERATOR


def test_the_prevailing_reading_of_several_runs() -> None:
    assert prevailing(["server", "server", "generator"]) == "server"
    assert prevailing(["server", "generator"]) == "generator"  # a tie: the reading that proves least
    assert prevailing(["both", "server"]) == "both"
    assert prevailing(["users", "both"]) == "users"
    assert prevailing([None, float("nan")]) is None
    assert prevailing(["server", None]) == "server"
