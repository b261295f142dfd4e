"""Which numbers may be judged. A run whose load generator was saturated measured the generator:
its QPS is a floor for the server, never a verdict against it.

- A speedup is a ratio of two server-bound QPS; with a generator-bound numerator it is a floor
  ("at least"), with a generator-bound baseline it is unknown.
- A roadmap criterion passes on any evidence that clears it (a floor above a QPS target does),
  fails only on server-bound evidence, and is otherwise "not measured here", with the floor
  seen and the command that would measure it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from lab.analysis.roadmap import Criterion

PASS, FAIL, NOT_MEASURED = "pass", "fail", "not measured here"
# An open-loop run counts as latency evidence only if it was served at (nearly) the rate it
# asked for: below that, the server fell behind and its latency is a queue's.
HELD_RATE_SHARE = 0.95


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
    how: str  # for NOT_MEASURED: the command that would measure it


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
    """Latency from open-loop runs that held their rate: a closed loop's latency is the queue its
    own users build, and a saturated generator's adds its own delay."""
    how = f"lab compare --stages {stage} --scenarios latency"
    open_loop = runs[runs["target_rate"].notna() & runs[criterion.metric].notna()]
    held = open_loop[(open_loop["qps"] >= HELD_RATE_SHARE * open_loop["target_rate"])
                     & (open_loop["bottleneck"] != "generator")]
    if held.empty:
        return Verdict(NOT_MEASURED, None, "no open-loop run below capacity", how)
    best = held.loc[held[criterion.metric].idxmin()]
    value = float(best[criterion.metric])
    rate = f"{best['scenario']} at {best['target_rate']:,.0f} req/s"
    return Verdict(PASS if value < criterion.threshold else FAIL, value, rate, "")
