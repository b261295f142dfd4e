"""Which numbers may be judged. A run whose load generator was saturated measured the generator:
its QPS is a floor for the server, never a verdict against it.

- A speedup is a ratio of two server-bound QPS; with a generator-bound numerator it is a floor
  ("at least"), with a generator-bound baseline it is unknown.
- A roadmap criterion passes on any evidence that clears it (a floor above a QPS target does),
  fails only on server-bound evidence, and is otherwise "not measured here", with the floor
  seen and the command that would measure it.
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
    INDUSTRY_SCENARIO,
    INDUSTRY_STAGE,
    MEMORY_BASELINE_STAGE,
    MEMORY_METRIC,
    Criterion,
    IndustryLine,
)

PASS, FAIL, NOT_MEASURED = "pass", "fail", "not measured here"
NOT_MEASURABLE = "not measurable on this machine"
# An open-loop run counts as latency evidence only if it was served at (nearly) the rate it
# asked for: below that, the server fell behind and its latency is a queue's.
HELD_RATE_SHARE = 0.95
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

    def text(self) -> str:
        if self.value is None:
            return "–"
        return f"≥ {self.value:.2f}x" if self.floor else f"{self.value:.2f}x"


def speedup(qps: float, generator_bound: bool, base_qps: float | None, base_generator_bound: bool) -> Speedup:
    if base_qps is None or not base_qps or math.isnan(base_qps) or math.isnan(qps) or base_generator_bound:
        return Speedup(None, False)  # a floor in the denominator bounds nothing
    return Speedup(qps / base_qps, generator_bound)


@dataclass(frozen=True)
class Verdict:
    verdict: str  # PASS, FAIL or NOT_MEASURED
    value: float | None  # the best evidence (a floor when not measured)
    evidence: str  # which run: scenario, and whether its number is a floor
    how: str  # for NOT_MEASURED: the command that would measure it; NOT_MEASURABLE: what would
    floor: float | None = None  # latency: the machine's own figure the value is read against


def _is_generator_bound(run: pd.Series) -> bool:
    return bool(run.get("bottleneck") == "generator")


def judge(criterion: Criterion, stage: int, runs: pd.DataFrame) -> Verdict:
    """One stage's runs (finished, not calibration) against one criterion."""
    if criterion.kind == "latency":
        return _latency(criterion, stage, runs)
    return _at_least(criterion, stage, runs)


def _at_least(criterion: Criterion, stage: int, runs: pd.DataFrame) -> Verdict:
    """QPS and connections: the more the better, and a floor above the line is proof."""
    how = (f"lab compare --driver wrk --stages {stage} --scenarios plaintext" if criterion.metric == "qps"
           else f"lab run --stage {stage} --scenario hold-5000")
    candidates = runs[runs[criterion.metric].notna()]
    if criterion.metric == "qps":
        candidates = candidates[candidates["target_rate"].isna()]  # an open loop asks, it does not push
    if candidates.empty:
        return Verdict(NOT_MEASURED, None, "no run measured it", how)
    best = candidates.loc[candidates[criterion.metric].idxmax()]
    value = float(best[criterion.metric])
    floor = _is_generator_bound(best)
    if criterion.metric == "server_connections_peak":
        # Fewer connections than the line were offered: the run could not have crossed it.
        floor = floor or best["users"] <= criterion.threshold
    evidence = f"{best['scenario']}" + (" (a floor)" if floor else "")
    if value > criterion.threshold:
        return Verdict(PASS, value, evidence, "")
    if floor:
        return Verdict(NOT_MEASURED, value, evidence, how)
    return Verdict(FAIL, value, evidence, "")


def _latency(criterion: Criterion, stage: int, runs: pd.DataFrame) -> Verdict:
    """Latency from open-loop runs that held their rate (a closed loop's latency is the queue its
    own users build, and a saturated generator's adds its own delay), read against the floor of
    the same repeats: medians over the repeats of each scenario, the best scenario judged."""
    how = f"lab compare --stages {stage} --scenarios latency"
    open_loop = runs[runs["target_rate"].notna() & runs[criterion.metric].notna()]
    held = open_loop[(open_loop["qps"] >= HELD_RATE_SHARE * open_loop["target_rate"])
                     & (open_loop["bottleneck"] != "generator")]
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
    own_floor = bool(own["bottleneck"].eq("generator").any())
    evidence = (f"{INDUSTRY_SCENARIO}: {own_qps:,.0f} req/s{' (a floor)' if own_floor else ''} against {line.peer}'s "
                f"{peer_qps:,.0f}")
    if peer["bottleneck"].eq("generator").any():
        return Verdict(NOT_MEASURED, ratio, f"{evidence} (a floor: the load generator was the limit)",
                       f"{how}, with a generator faster than {line.peer}")
    if ratio > line.share:
        return Verdict(PASS, ratio, evidence, "")
    if own_floor:
        return Verdict(NOT_MEASURED, ratio, evidence, f"{how}, with a generator faster than stage {INDUSTRY_STAGE}")
    return Verdict(FAIL, ratio, evidence, "")


def judge_memory(stage: int, share: float, runs: pd.DataFrame) -> Verdict:
    """Memory per held connection of `stage` against MEMORY_BASELINE_STAGE's in the same batch:
    a ratio of medians, in the scenario where the stage held the most connections of those where
    both held nearly as many (stage 2 closes every connection after its answer, so a keep-alive
    scenario holds thousands on stage 4 and a few hundred on stage 2). `share` is the
    roadmap's target ratio (0.5 for −50%); the verdict's value is the measured ratio."""
    how = f"lab compare --stages {MEMORY_BASELINE_STAGE},{stage} --scenarios hold-1000"
    measured = runs[runs[MEMORY_METRIC].notna() & runs["stage"].isin([stage, MEMORY_BASELINE_STAGE])]
    per = measured.groupby(["scenario", "stage"]).agg(bytes=(MEMORY_METRIC, "median"),
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
