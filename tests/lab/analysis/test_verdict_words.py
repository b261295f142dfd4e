"""Every verdict of the roadmap's table whole: besides pass or fail, the value it rests on, the
evidence a reader checks it against and the command that would measure what was not measured,
word for word (the criteria table and the report print them as they are)."""

from __future__ import annotations

import pandas as pd
import pytest

from lab.analysis.roadmap import CONNECTIONS, QPS, QUALITY, SPEEDUP, Line
from lab.analysis.verdicts import BASELINE, FAIL, NOT_MEASURABLE, NOT_MEASURED, PASS, Verdict, users_cycle
from tests.lab.analysis.test_verdicts import HELD_4, MEAN, QPS_4, frame, line, run, verdict_of

IO = "io-wait"
LEAKS, THREADS, STABLE, PLATFORMS = (line(4, QUALITY, text) for text in ("leak", "thread", "stable", "platform"))
OTHER_OS = "the same command on another operating system (macOS, FreeBSD), its batch read beside this one"
SOAK = "lab soak --stage 4 --duration 10m"


@pytest.mark.parametrize(("criterion", "runs", "expected"), [
    (QPS_4, frame(run(4, 1_000.0, scenario="latency", target_rate=1_000.0)),
     Verdict(NOT_MEASURED, None, "no closed-loop plaintext run", "lab compare --stages 4 --scenarios plaintext")),
    (line(1, SPEEDUP), frame(run(1, 4_500.0, scenario=IO)),
     Verdict(NOT_MEASURED, None, "io-wait: no stage 0 run, no baseline to divide by",
             "lab compare --stages 0,1 --scenarios io-wait")),
    (line(1, SPEEDUP), frame(run(0, 450.0, "generator", scenario=IO), run(1, 4_500.0, scenario=IO)),
     Verdict(NOT_MEASURED, None, "io-wait: stage 0's 450 req/s held by generator, no baseline to divide by",
             "lab compare --stages 0,1 --scenarios io-wait")),
    (line(0, QPS), frame(run(0, 444.0, scenario=IO)),
     Verdict(BASELINE, 444.0, "io-wait: 444 req/s (server): 0.97x the roadmap's 459", "")),
    (QPS_4, frame(run(4, 120_000.0)), Verdict(PASS, 120_000.0, "plaintext: 120,000 req/s", "")),
    (QPS_4, frame(run(4, 60_000.0)), Verdict(FAIL, 60_000.0, "plaintext: 60,000 req/s (server-bound)", "")),
    (QPS_4, frame(run(4, 98_000.0, "both", server_cpu_busy=0.98)),
     Verdict(FAIL, 98_000.0, "plaintext: 98,000 req/s, both sides saturated: at most 100,000.0 with the server "
             "0.98 busy", "", bound=100_000.0)),
    (MEAN, frame(run(4, 1_000.0, scenario="latency", target_rate=1_000.0, latency_corrected_mean_us=None,
                     latency_floor_mean_us=100.0)),  # an open-loop run without the metric: nothing to read
     Verdict(NOT_MEASURED, None, "no open-loop run below capacity", "lab compare --stages 4 --scenarios latency")),
])
def test_rate_and_latency_verdicts_word_for_word(criterion: Line, runs: pd.DataFrame, expected: Verdict) -> None:
    assert verdict_of(criterion, runs) == expected


def _held(stage: int, users: int, bottleneck: str = "server", **counts: float) -> pd.DataFrame:
    return frame(run(stage, 900.0, bottleneck, scenario=f"hold-{1_000 if users <= 1_000 else 5_000}", users=users,
                     **counts))


@pytest.mark.parametrize(("criterion", "runs", "expected"), [
    (HELD_4, _held(4, 5_200, server_connections_peak=5_001.0),
     Verdict(PASS, 5_001.0, "hold-5000: 5,001 held of 5,200 offered (its own count)", "")),
    (line(3, CONNECTIONS), _held(3, 1_000, server_fds_held_peak=1_000),  # no gauge reading at all
     Verdict(PASS, 1_000.0, "hold-1000: 1,000 held of 1,000 offered (the kernel's count of its descriptors)", "")),
    (HELD_4, _held(4, 1_000, server_connections_peak=1_000.0),
     Verdict(NOT_MEASURED, 1_000.0, "hold-1000: 1,000 held of 1,000 offered (its own count): too few to cross it",
             "lab run --stage 4 --scenario hold-5000")),  # a line of exactly 5,000 is measured on hold-5000
    (HELD_4, _held(4, 5_200, "generator", server_connections_peak=4_000.0),
     Verdict(NOT_MEASURED, 4_000.0, "hold-5000: 4,000 held of 5,200 offered (its own count) (a floor)",
             "lab run --stage 4 --scenario hold-5000")),
    (HELD_4, _held(4, 5_200, server_connections_peak=4_000.0),
     Verdict(FAIL, 4_000.0, "hold-5000: 4,000 held of 5,200 offered (its own count)", "")),
])
def test_connection_verdicts_word_for_word(criterion: Line, runs: pd.DataFrame, expected: Verdict) -> None:
    assert verdict_of(criterion, runs) == expected


@pytest.mark.parametrize(("criterion", "runs", "expected"), [
    (PLATFORMS, frame(run(4, 6e4, platform="Linux-6.1-x86_64"), run(4, 6e4, platform="macOS-14-arm64")),
     Verdict(PASS, 2.0, "runs on Linux-6.1-x86_64, macOS-14-arm64", "")),
    (PLATFORMS, frame(run(4, 6e4, platform="Linux-6.1-x86_64")),
     Verdict(NOT_MEASURABLE, None, "this batch ran on Linux-6.1-x86_64 only", OTHER_OS)),
    (PLATFORMS, frame(run(4, 6e4)), Verdict(NOT_MEASURABLE, None, "this batch recorded no platform", OTHER_OS)),
    (THREADS, frame(run(4, 6e4)),
     Verdict(NOT_MEASURED, None, "a batch holds no thread-safety evidence",
             "make test (tests/core/test_thread_safety.py, tests/servers/test_stage1.py: stage 1's shared state "
             "under its threads; stage 4 runs one thread)")),
    (THREADS, frame(run(4, 5e3, soak_verdict="pass")),  # a soak says nothing of threads
     Verdict(NOT_MEASURED, None, "a batch holds no thread-safety evidence",
             "make test (tests/core/test_thread_safety.py, tests/servers/test_stage1.py: stage 1's shared state "
             "under its threads; stage 4 runs one thread)")),
    (LEAKS, frame(run(4, 6e4)),
     Verdict(NOT_MEASURED, None, "no soak in this batch",
             f"{SOAK} (RSS and descriptors after the warm-up), and make test (tests/servers/test_leaks.py)")),
    (STABLE, frame(run(4, 5e3, soak_verdict="pass"), run(4, 5e3, soak_verdict="pass")),
     Verdict(PASS, None, "2 soak run(s) of stage4", "")),
    (STABLE, frame(run(4, 5e3, soak_verdict="fail: 3 failed requests of the real load")),
     Verdict(FAIL, None, "1 soak run(s) of stage4: fail: 3 failed requests of the real load", "")),
    (LEAKS, frame(run(4, 5e3, soak_verdict="pass", target_label="stage4 --parser core"),
                  run(4, 5e3, soak_verdict="fail: 2 descriptors still open after the run (9 vs 7 idle)")),
     Verdict(FAIL, None, "2 soak run(s) of stage4, stage4 --parser core: fail: 2 descriptors still open after the "
             "run (9 vs 7 idle)", "")),  # a descriptor left open is a leak too
])
def test_quality_verdicts_word_for_word(criterion: Line, runs: pd.DataFrame, expected: Verdict) -> None:
    assert verdict_of(criterion, runs) == expected


def test_a_users_bound_rate_in_words() -> None:
    assert users_cycle(1, 10.0) == "1 user ÷ 100.00 ms each"
    assert users_cycle(2_000, 40_000.0) == "2,000 users ÷ 50.00 ms each"
