"""Which numbers may be judged, by what held each run's rate (lab.model.bottleneck). A run whose
load generator alone was saturated measured the generator: its QPS is a floor for the server. A
run that saturated neither side measured its users (users ÷ latency): no verdict, no speedup.

- A speedup is a ratio of two server-bound QPS; with a numerator whose generator was saturated it
  is a floor ("at least"), with any other baseline it is unknown.
- A rate line passes on any evidence that clears it (a floor above a QPS target does), fails on a
  saturated server's evidence, and, where both sides were saturated, also when even QPS ÷ the
  server's busy share (the most a full CPU could serve at the same cost per request) is below
  it; otherwise it is "not measured here", with what was seen and the command that would measure it.
- A latency criterion is judged only where the machine itself clears its line with room: the
  minimal server at the same schedule in the same batch (the latency floor) must stay within
  FLOOR_SHARE of the line. Otherwise the line is "not measurable on this machine": whatever the
  stage measures, most of it is the loopback's, the generator's and the scheduler's.
- Memory per held connection is judged against stage 2's in the same batch and scenario, at
  nearly the same number of connections.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from lab.analysis.roadmap import (
    CONNECTIONS,
    INDUSTRY_SCENARIO,
    INDUSTRY_STAGE,
    LATENCY,
    MEMORY,
    MEMORY_BASELINE_STAGE,
    QUALITY,
    SPEEDUP,
    IndustryLine,
    Line,
)
from lab.model.bottleneck import FLOORS, HELD_RATE_SHARE, Bottleneck, measures_server, prevailing

PASS, FAIL, NOT_MEASURED = "pass", "fail", "not measured here"
NOT_MEASURABLE = "not measurable on this machine"
BASELINE = "baseline"  # stage 0's row: the roadmap's measurement, reproduced and compared
# The share of a latency line the floor may take for the line to judge a server: at most half,
# so that a fail means the server itself added at least the other half above the machine's
# cost in the same batch, more than the floor's own run-to-run spread here (mean 109-150 µs,
# p99 414-1,044 µs over three repeats of one batch), and a pass is not the floor's luck.
FLOOR_SHARE = 0.5
# Memory per connection is compared only between runs that held nearly as many connections:
# the per-connection figure includes a share of fixed costs that shrinks as connections grow.
CONNECTIONS_MATCH = 0.10
# What would make a latency line measurable where the floor is too high.
QUIETER_MACHINE = ("a machine whose floor (the minimal server at the same schedule) is at most {limit:,.0f} µs: "
                   "more cores than the server and the load generator need, CPUs isolated for them (isolcpus), "
                   "a fixed CPU frequency, nothing else running")


@dataclass(frozen=True)
class Speedup:
    value: float | None  # measured ratio, or the floor when `floor`; None: cannot be told
    floor: bool  # the stage's QPS was generator-bound: the server does at least this much


def speedup(qps: float, limit: str | None, base_qps: float | None, base_limit: str | None) -> Speedup:
    """QPS over a baseline's, by what held each: a baseline not held by its server bounds nothing,
    and neither does a numerator held by its users or its schedule."""
    if (base_qps is None or not base_qps or math.isnan(base_qps) or math.isnan(qps)
            or base_limit != Bottleneck.SERVER or not (measures_server(limit) or limit == Bottleneck.GENERATOR)):
        return Speedup(None, False)
    return Speedup(qps / base_qps, limit != Bottleneck.SERVER)


@dataclass(frozen=True)
class Verdict:
    verdict: str  # PASS, FAIL, NOT_MEASURED, NOT_MEASURABLE or BASELINE
    value: float | None  # the best evidence (a floor when not measured)
    evidence: str  # which run: scenario, and whether its number is a floor
    how: str  # for NOT_MEASURED: the command that would measure it; NOT_MEASURABLE: what would
    floor: float | None = None  # latency: the machine's own figure the value is read against
    bound: float | None = None  # a rate read from a run that saturated both sides: at most this


def judge(line: Line, runs: pd.DataFrame, batch_runs: pd.DataFrame) -> Verdict:
    """One stage's runs (finished, not calibration) against one of its lines; `batch_runs`: every
    finished run of the batch, for the lines read against other targets (stage 0, stage 2, peers)."""
    if line.kind == LATENCY:
        return _latency(line, runs)
    if line.kind == MEMORY:
        return judge_memory(line.stage, line.threshold, batch_runs, line.metric)
    if line.kind == CONNECTIONS:
        return _connections(line, runs)
    if line.kind == QUALITY:
        return judge_quality(line, batch_runs)
    return _rate(line, runs, batch_runs)


def users_cycle(users: float, qps: float) -> str:
    """A users-bound rate as Little's law has it: the users over each one's cycle (its latency and
    any think time), which is the rate."""
    return f"{users:,.0f} {'user' if users == 1 else 'users'} ÷ {users / qps * 1000:,.2f} ms each"


@dataclass(frozen=True)
class _Reading:
    """A stage's rate on one scenario: the median over its runs, what held most of them."""

    value: float
    limit: str
    server_busy: float | None
    users: int


def _reading(runs: pd.DataFrame, line: Line) -> _Reading | None:
    closed = runs[(runs["scenario"] == line.scenario) & runs["target_rate"].isna() & runs[line.metric].notna()]
    if closed.empty:
        return None
    busy = closed["server_cpu_busy"].median()
    return _Reading(float(closed[line.metric].median()), prevailing(closed["bottleneck"]) or "",
                    None if pd.isna(busy) else float(busy), int(closed["users"].max()))


def _rate(line: Line, runs: pd.DataFrame, batch_runs: pd.DataFrame) -> Verdict:
    """QPS, or its speedup over stage 0 on the same scenario, by the bounds rule: above the line
    passes whatever held the rate; a saturated server below it fails; a run that saturated both
    sides fails only when even QPS ÷ the server's busy share is below it (docs/measuring.md)."""
    stage = line.stage
    how = f"lab compare --stages {'0,' if line.kind == SPEEDUP else ''}{stage} --scenarios {line.scenario}"
    own = _reading(runs, line)
    if own is None:
        return Verdict(NOT_MEASURED, None, f"no closed-loop {line.scenario} run", how)
    scale, evidence = 1.0, f"{line.scenario}: {own.value:,.0f} req/s"
    if line.kind == SPEEDUP:
        base = _reading(batch_runs[batch_runs["stage"] == 0], line)
        if base is None or base.limit != Bottleneck.SERVER or not base.value:
            held = "no stage 0 run" if base is None else f"stage 0's {base.value:,.0f} req/s held by {base.limit}"
            return Verdict(NOT_MEASURED, None, f"{line.scenario}: {held}, no baseline to divide by", how)
        scale, evidence = 1 / base.value, f"{evidence} over stage 0's {base.value:,.0f}"
    if line.reference:
        roadmap = line.threshold
        return Verdict(BASELINE, own.value, f"{evidence} ({own.limit}): {own.value / roadmap:.2f}x the roadmap's "
                                            f"{roadmap:,.0f}", "")
    value = own.value * scale
    if value > line.threshold:
        return Verdict(PASS, value, evidence, "")
    if own.limit == Bottleneck.SERVER:
        return Verdict(FAIL, value, f"{evidence} (server-bound)", "")
    if own.limit == Bottleneck.BOTH and own.server_busy:
        bound = value / own.server_busy
        within = f"{evidence}, both sides saturated: at most {bound:,.1f} with the server {own.server_busy:.2f} busy"
        return (Verdict(FAIL, value, within, "", bound=bound) if bound <= line.threshold
                else Verdict(NOT_MEASURED, value, within, f"{how} --driver wrk (a faster generator)", bound=bound))
    if own.limit == Bottleneck.USERS and own.value:
        return Verdict(NOT_MEASURED, value, f"{evidence}, users-bound: {users_cycle(own.users, own.value)}",
                       f"{how} with more users (--users)")
    return Verdict(NOT_MEASURED, value, f"{evidence} ({own.limit}: a floor)",
                   f"{how} --driver wrk (a faster generator)")


def _connections(line: Line, runs: pd.DataFrame) -> Verdict:
    """The most connections any run held at once: the server's own count (its /stats, read once a
    second) or the kernel's count of its descriptors (sampled ten times a second, so it sees the
    instants the gauge misses while closing clients reconnect), that one only where it is no more
    than the users offered (beyond, it counts sockets the server was refusing: stage 1 lingers on
    each refused one). A run that offered too few, or whose generator was saturated, cannot fail
    the line."""
    how = f"lab run --stage {line.stage} --scenario {'hold-5000' if line.threshold >= 5_000 else 'hold-1000'}"
    kernel = pd.to_numeric(runs["server_fds_held_peak"])
    kernel = kernel.where(kernel <= pd.to_numeric(runs["users"]))
    held = pd.concat([pd.to_numeric(runs[line.metric]), kernel], axis=1).max(axis=1).dropna()
    if held.empty:
        return Verdict(NOT_MEASURED, None, "no run measured it", how)
    counted = runs.loc[held.index]
    best = counted.loc[held.idxmax()]
    value = float(held.max())
    users = int(best["users"])
    could = line.reached(users)
    own = best[line.metric]
    seen = "" if pd.isna(own) else f"; its own, once a second, saw {own:,.0f}"
    source = "its own count" if not pd.isna(own) and own >= value else f"the kernel's count of its descriptors{seen}"
    evidence = f"{best['scenario']}: {value:,.0f} held of {users:,} offered ({source})"
    if line.reached(value):
        return Verdict(PASS, value, evidence, "")
    if not could or best["bottleneck"] in FLOORS:
        return Verdict(NOT_MEASURED, value, evidence + (" (a floor)" if could else ": too few to cross it"), how)
    return Verdict(FAIL, value, evidence, "")


def _latency(criterion: Line, runs: pd.DataFrame) -> Verdict:
    """Latency from open-loop runs that held their rate (a closed loop's latency is the queue its
    own users build, and a saturated generator's adds its own delay), read against the floor of
    the same repeats: medians over the repeats of each scenario, the best scenario judged."""
    how = f"lab compare --stages {criterion.stage} --scenarios latency"
    open_loop = runs[runs["target_rate"].notna() & runs[criterion.metric].notna()]
    held = open_loop[(open_loop["qps"] >= HELD_RATE_SHARE * open_loop["target_rate"])
                     & ~open_loop["bottleneck"].isin([Bottleneck.GENERATOR, Bottleneck.BOTH])]
    if held.empty:
        return Verdict(NOT_MEASURED, None, "no open-loop run below capacity", how)
    assert criterion.floor is not None
    floored = held[held[criterion.floor].notna()] if criterion.floor in held else held.iloc[:0]
    if floored.empty:
        return Verdict(NOT_MEASURED, float(held[criterion.metric].median()),
                       "no latency floor in this batch (it ran with --no-calibrate)", how)
    by_scenario = floored.groupby("scenario").agg(value=(criterion.metric, "median"),
                                                  floor=(criterion.floor, "median"), rate=("target_rate", "first"))
    limit = FLOOR_SHARE * criterion.threshold
    measurable = by_scenario[by_scenario["floor"] <= limit]
    if measurable.empty:
        lowest = by_scenario["floor"].idxmin()
        row = by_scenario.loc[lowest]
        return Verdict(NOT_MEASURABLE, float(row["value"]),
                       f"{lowest} at {row['rate']:,.0f} req/s: the floor alone is {row['floor']:,.0f} µs, more than "
                       f"{FLOOR_SHARE:.0%} of the line", QUIETER_MACHINE.format(limit=limit), float(row["floor"]))
    scenario = measurable["value"].idxmin()
    row = measurable.loc[scenario]
    value = float(row["value"])
    return Verdict(PASS if value < criterion.threshold else FAIL, value, f"{scenario} at {row['rate']:,.0f} req/s",
                   "", float(row["floor"]))


def judge_industry(line: IndustryLine, runs: pd.DataFrame) -> Verdict:
    """Stage 4 against the line's peer, both measured in this batch on INDUSTRY_SCENARIO: a ratio
    of median QPS. A generator-bound peer's QPS is a floor, so no ratio to it proves anything; a
    generator-bound stage 4 above the line is proof, below it says nothing."""
    how = f"lab compare --preset industry (stage {INDUSTRY_STAGE} and {line.peer}, wrk)"
    closed = runs[(runs["scenario"] == INDUSTRY_SCENARIO) & runs["target_rate"].isna() & runs["qps"].notna()]
    own = closed[closed["stage"] == INDUSTRY_STAGE]
    peer = closed[(closed["target"] == line.peer) & closed["stage"].isna()]
    if own.empty or peer.empty:
        return Verdict(NOT_MEASURED, None, f"no {INDUSTRY_SCENARIO} run of both stage {INDUSTRY_STAGE} and "
                                           f"{line.peer} in this batch", how)
    own_qps, peer_qps = float(own["qps"].median()), float(peer["qps"].median())
    ratio = own_qps / peer_qps
    own_floor = bool(own["bottleneck"].isin(FLOORS).any())
    evidence = (f"{INDUSTRY_SCENARIO}: {own_qps:,.0f} req/s{' (a floor)' if own_floor else ''} against {line.peer}'s "
                f"{peer_qps:,.0f}")
    if peer["bottleneck"].isin(FLOORS).any():
        return Verdict(NOT_MEASURED, ratio, f"{evidence} (a floor: the load generator was the limit)",
                       f"{how}, with a generator faster than {line.peer}")
    if ratio > line.share:
        return Verdict(PASS, ratio, evidence, "")
    if own_floor:
        return Verdict(NOT_MEASURED, ratio, evidence, f"{how}, with a generator faster than stage {INDUSTRY_STAGE}")
    return Verdict(FAIL, ratio, evidence, "")


def judge_memory(stage: int, share: float, runs: pd.DataFrame, metric: str) -> Verdict:
    """Memory per held connection of `stage` against MEMORY_BASELINE_STAGE's in the same batch:
    a ratio of medians, in the scenario where the stage held the most connections of those where
    both held nearly as many (stage 2 closes every connection after its answer, so a keep-alive
    scenario holds thousands on stage 4 and a few hundred on stage 2). `share` is the
    roadmap's target ratio (0.5 for −50%); the verdict's value is the measured ratio."""
    how = f"lab compare --stages {MEMORY_BASELINE_STAGE},{stage} --scenarios hold-1000"
    measured = runs[runs[metric].notna() & runs["stage"].isin([stage, MEMORY_BASELINE_STAGE])]
    per = measured.groupby(["scenario", "stage"]).agg(bytes=(metric, "median"),
                                                      connections=("server_fds_held_peak", "median"))
    both = [(scenario, per.loc[(scenario, stage)], per.loc[(scenario, MEMORY_BASELINE_STAGE)])
            for scenario in per.index.get_level_values("scenario").unique()
            if (scenario, stage) in per.index and (scenario, MEMORY_BASELINE_STAGE) in per.index]
    if not both:
        return Verdict(NOT_MEASURED, None, f"no scenario held connections on both stage {stage} and stage "
                                           f"{MEMORY_BASELINE_STAGE} in this batch", how)
    # Where both held nearly as many, the scenario where the stage held most; else say why not.
    alike = [item for item in both if abs(item[1]["connections"] / item[2]["connections"] - 1) <= CONNECTIONS_MATCH]
    scenario, own, base = max(alike or both, key=lambda item: float(item[1]["connections"]))
    if not alike:
        return Verdict(NOT_MEASURED, None, f"{scenario}: {own['connections']:,.0f} connections held against stage "
                                           f"{MEMORY_BASELINE_STAGE}'s {base['connections']:,.0f}", how)
    if base["bytes"] <= 0:
        return Verdict(NOT_MEASURED, None, f"{scenario}: stage {MEMORY_BASELINE_STAGE} grew no memory per "
                                           "connection to compare with", how)
    ratio = float(own["bytes"] / base["bytes"])
    evidence = (f"{scenario}: {own['bytes'] / 1024:,.1f} KiB per connection against stage {MEMORY_BASELINE_STAGE}'s "
                f"{base['bytes'] / 1024:,.1f} KiB, at {own['connections']:,.0f} connections")
    return Verdict(PASS if ratio <= share else FAIL, ratio, evidence, "")


# The batch columns each quality line reads, and the command that makes that evidence.
_QUALITY_HOW = {
    "leaks": "lab soak --stage 4 --duration 10m (RSS and descriptors after the warm-up), and make test "
             "(tests/servers/test_leaks.py)",
    "threads": "make test (tests/core/test_thread_safety.py, tests/servers/test_stage1.py: stage 1's shared state "
               "under its threads; stage 4 runs one thread)",
    "stability": "lab soak --stage 4 --duration 10m (errors, p99 drift and memory under hostile clients)",
}


def judge_quality(line: Line, runs: pd.DataFrame) -> Verdict:
    """The roadmap's quality lines from what the batch holds: the stage's soak verdicts (lab soak)
    for leaks and stability, the platforms its runs were made on; a compare batch holds no such
    evidence, and says which command does."""
    if line.metric == "platforms":
        platforms = sorted(set(runs["platform"].dropna())) if "platform" in runs else []
        if len(platforms) > 1:
            return Verdict(PASS, float(len(platforms)), f"runs on {', '.join(platforms)}", "")
        return Verdict(NOT_MEASURABLE, None, f"this batch ran on {platforms[0]} only" if platforms
                       else "this batch recorded no platform",
                       "the same command on another operating system (macOS, FreeBSD), its batch read beside this one")
    soaks = runs[runs["soak_verdict"].notna() & (runs["stage"] == line.stage)]
    if line.metric == "threads" or soaks.empty:
        return Verdict(NOT_MEASURED, None, "no soak in this batch" if line.metric != "threads"
                       else "a batch holds no thread-safety evidence", _QUALITY_HOW[line.metric])
    failed = soaks[soaks["soak_verdict"] != PASS]
    if line.metric == "leaks":
        failed = failed[failed["soak_verdict"].str.contains("RSS|descriptors")]
    evidence = f"{len(soaks)} soak run(s) of {', '.join(sorted(set(soaks['target_label'])))}"
    if failed.empty:
        return Verdict(PASS, None, evidence, "")
    return Verdict(FAIL, None, f"{evidence}: {failed['soak_verdict'].iloc[0]}", "")
