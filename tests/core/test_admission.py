"""Who is displaced at the connection limit (servers/core/admission.py), in memory."""

from __future__ import annotations

from servers.core.admission import Admission, allowed_time
from servers.core.limits import CROWDED_REQUEST_TIMEOUT_S


def test_the_connection_that_began_longest_ago_goes_first() -> None:
    admission: Admission[str] = Admission()
    for name in ("slow-1", "slow-2", "real"):
        admission.began(name, 0.0)
    assert admission.victim() == "slow-1"
    assert admission.victim() == "slow-2"
    assert len(admission) == 1


def test_starting_a_request_makes_a_connection_the_newest() -> None:
    admission: Admission[str] = Admission()
    for name in ("keep-alive", "slow"):
        admission.began(name, 0.0)
    admission.began("keep-alive", 0.0)  # its next request: progress
    assert admission.victim() == "slow"


def test_held_answers_are_not_displaced() -> None:
    admission: Admission[str] = Admission()
    admission.began("delayed", 0.0)
    admission.began("slow", 0.0)
    admission.held("delayed")
    assert admission.victim() == "slow"
    assert admission.victim() is None  # only a held one is left: the newcomer is refused
    assert len(admission) == 1
    admission.began("delayed", 0.0)  # its answer went out; it is waiting on its client again
    assert len(admission) == 1  # counted once: no longer held
    assert admission.victim() == "delayed"


def test_closed_connections_are_forgotten() -> None:
    admission: Admission[str] = Admission()
    admission.began("a", 0.0)
    admission.began("b", 0.0)
    admission.held("b")
    admission.closed("a")
    admission.closed("b")
    assert len(admission) == 0 and admission.victim() is None


def test_holding_an_unknown_or_displaced_connection_does_not_resurrect_it() -> None:
    admission: Admission[str] = Admission()
    admission.began("a", 0.0)
    assert admission.victim() == "a"
    admission.held("a")  # its task had not heard yet that it was displaced
    assert len(admission) == 0


def test_overdue_are_those_that_began_too_long_ago_oldest_first() -> None:
    admission: Admission[str] = Admission()
    admission.began("slow-1", 0.0)
    admission.began("slow-2", 1.0)
    admission.began("real", 9.5)
    admission.began("delayed", 0.0)
    admission.held("delayed")
    assert admission.overdue(10.0, 2.0) == ["slow-1", "slow-2"]
    assert admission.overdue(10.0, 2.0) == []  # removed: the sweep closes them once
    assert admission.victim() == "real"


def test_allowed_time_shrinks_only_once_crowded() -> None:
    assert allowed_time(10.0, 0, 100) == 10.0
    assert allowed_time(10.0, 50, 100) == 10.0
    assert allowed_time(10.0, 75, 100) == CROWDED_REQUEST_TIMEOUT_S + 0.5 * (10.0 - CROWDED_REQUEST_TIMEOUT_S)
    assert allowed_time(10.0, 100, 100) == CROWDED_REQUEST_TIMEOUT_S
    assert allowed_time(10.0, 150, 100) == CROWDED_REQUEST_TIMEOUT_S  # over the limit for a moment
    assert allowed_time(0.5, 100, 100) == CROWDED_REQUEST_TIMEOUT_S  # never below the floor...
    assert allowed_time(0.5, 10, 100) == 0.5  # ...and never above a shorter configured timeout when calm


def test_crowded_out_only_once_more_than_half_full() -> None:
    admission: Admission[str] = Admission()
    admission.began("slow", 0.0)
    admission.began("real", 9.5)
    assert admission.crowded_out(10.0, 30.0, 50, 100) == []  # half full: the normal timeout rules
    assert admission.crowded_out(40.0, 30.0, 50, 100) == []  # ... and is the stage's own to enforce
    assert admission.crowded_out(10.5, 30.0, 100, 100) == ["slow"]  # full: 1 s is all a request gets
    assert admission.victim() == "real"
