"""What changed, by how much, and whether the repeats can tell: two batches (`lab diff BASE NEW`),
or two targets measured side by side in one batch (`lab diff BATCH --base A --new B`).

How a change is judged, and why this way:

- **An exact permutation test** of each metric's mean log (a change is a ratio) between the two
  sides' repeats. It assumes only that, with no change, the repeats of both sides are
  exchangeable: no normal distribution, which this machine's long-tailed noise would break, and
  its false-alarm rate is exact at any repeat count, not asymptotic (lab.analysis.permutation).
- **One error rate for the whole diff.** A diff tests every target × scenario × metric, and a
  CI gate fails on any of them, so the 5% (ALPHA) is family-wise: Bonferroni over the tests
  that can reach significance at all (Tarone's refinement: an exact test's smallest p is
  2 / C(n + m, n), so at 3 repeats against 3 it is 0.1 and such a test can never fire; counting
  it would only lower everyone else's level). The verdict's interval is the set of changes the
  test does not reject at that level, so "better" or "worse" is exactly "the interval excludes
  no change", and `detectable` is the smallest change these repeats, with their spread, would
  have called significant.
- **Drift.** Between batches the machine moves (wrk against the minimal server here: 73k to
  113k req/s within minutes), and repeats inside one batch cannot see it. `lab compare` runs the
  minimal server in every repeat of every scenario (the calibration); between batches each run's
  QPS, latency and CPU per request are read as a ratio to that run of its own repeat, so that a
  machine that ran slower for one batch moves both and their ratio does not, and the ratios stay
  exchangeable repeat by repeat (dividing a whole batch by one reference figure would make that
  figure's own noise a shift the repeats cannot see). The price is sensitivity: the ratio carries
  the reference's noise too (its 3 s runs spread about 10% between repeats here, twice stage 4's),
  which `detectable` shows. Memory is compared as measured (it does not move with the machine's
  speed); a batch without calibration is compared as measured, and the diff says its drift is not
  controlled. Within one batch both targets are compared as measured: their interleaved repeats
  sample the same states of the machine, so drift widens both sides alike instead of shifting
  one, and no reference's noise is added. That is why before and after in one batch is the
  better way. The repeats where either target failed are left out, so both sides cover the same
  repeats. (A sign-flip test of the pairs' ratios would pair them more tightly, but its smallest
  p at 5 pairs is 1/16: it could not reach a family-wise level at the repeat counts people run.)
- **Counted runs** (`lab compare --instructions`): instructions and system calls per request,
  counted under valgrind, join the same family. A count does not move with the machine's speed,
  so between batches it is compared as counted, with no calibration ratio, and its spread (about
  0.1% here) lets a 1% change stand far clear of it. The exact test's floor is what limits it:
  `counted_repeats_needed` gives the counted repeats at which the floor reaches the family's level.
- A generator-bound run's QPS and latency measure the generator, so such pairs are compared on
  what the server spent (CPU per request, memory, counts) only. A --sweep's open-loop runs are left out:
  their rates follow each batch's own capacity, so they are not like for like.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd

from lab.analysis.permutation import PermutationTest, family_level, repeats_needed, smallest_p
from lab.model.bottleneck import FLOORS
from lab.model.machine import COMPARED
from lab.model.target import CALIBRATION_TARGET

# The chance that a diff of the same server measured twice calls anything better or worse.
ALPHA = 0.05
# A fixed seed for the permutation test's random splits: the same two batches always give the same verdicts.
SEED = 20_261_201

# metric → whether more is better; the order the diff lists them in.
METRICS: dict[str, bool] = {
    "qps": True,
    "server_cpu_us_per_request": False,
    "latency_p50_us": False,
    "latency_p99_us": False,
    "server_rss_peak_bytes": False,
    "server_rss_per_connection_bytes": False,
    "server_instructions_per_request": False,
    "server_syscalls_per_request": False,
}
# Read from the counted runs (counted.parquet), not the timed ones.
COUNTED_METRICS = ("server_instructions_per_request", "server_syscalls_per_request")
# Meaningful even when the generator set the pace: what the server spent, not how fast it went.
SERVER_SIDE = ("server_cpu_us_per_request", "server_rss_peak_bytes", "server_rss_per_connection_bytes",
               *COUNTED_METRICS)
# Compared as a ratio to the same repeat's calibration run: they move with the machine's speed.
DRIFTING = ("qps", "server_cpu_us_per_request", "latency_p50_us", "latency_p99_us")
# The machine and the measuring stack: a difference here makes two batches' numbers not alike.
MACHINE_COLUMNS = COMPARED

AS_MEASURED, PER_REFERENCE, COUNTED = "as measured", "per calibration run", "counted"
NO_RUNS = pd.DataFrame()  # within one batch: no reference; a batch with no counted runs


@dataclass(frozen=True)
class Change:
    target: str
    scenario: str
    metric: str
    base: float  # medians, as measured
    new: float
    change: float  # the change tested: exp(mean log new − mean log base) − 1, per `basis`
    low: float | None  # the changes the test does not reject at `level`; None when it cannot tell
    high: float | None
    p_value: float | None  # the permutation test's, two-sided, against no change
    verdict: str  # "better", "worse", "no significant change", or "cannot tell: why"
    level: float | None = None  # the p-value a significant change needed here (ALPHA over the tests)
    detectable: float | None = None  # the smallest change these repeats would have called significant
    basis: str = AS_MEASURED  # AS_MEASURED, PER_REFERENCE (each run over its repeat's calibration run) or COUNTED
    base_rate: float | None = None  # median req/s of each side: the load CPU per request was measured at
    new_rate: float | None = None

    @property
    def significant(self) -> bool:
        return self.verdict in ("better", "worse")


def counted_repeats_needed(pairs: int, timed_repeats: int) -> int:
    """Counted repeats a side at which a diff of a batch of `pairs` target × scenario pairs can
    call a count's change significant: the exact test's floor within ALPHA over every test that
    diff could make (each pair's counted metrics, and its timed ones where their repeats can reach
    ALPHA at all). A count barely spreads, so its repeats are bought for the floor, not the noise."""
    tests = pairs * len(COUNTED_METRICS)
    if smallest_p(timed_repeats, timed_repeats) <= ALPHA:
        tests += pairs * (len(METRICS) - len(COUNTED_METRICS))
    return repeats_needed(ALPHA / max(tests, 1))


# -- which runs are compared -------------------------------------------------------------------


@dataclass(frozen=True)
class _Side:
    """One target × scenario's finished runs on one side of the diff, as arrays."""

    values: dict[str, np.ndarray]  # metric → one value per run (nan: not measured)
    references: dict[str, np.ndarray] | None  # the same of each run's calibration run; None: a run has none
    rate: float | None  # median req/s: the load its CPU per request was measured at
    generator_bound: bool


def measured_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """Finished runs of the servers measured: no calibration, no sweep."""
    if runs.empty:
        return NO_RUNS
    keep = runs["error"].isna() & (runs["target"] != CALIBRATION_TARGET)
    if "load_level" in runs:
        keep &= runs["load_level"].isna()
    return runs[keep]


def _calibration(runs: pd.DataFrame) -> pd.DataFrame:
    if runs.empty:
        return NO_RUNS
    return runs[runs["error"].isna() & (runs["target"] == CALIBRATION_TARGET)]


def _side(runs: pd.DataFrame, calibration: pd.DataFrame, counted: pd.DataFrame = NO_RUNS) -> _Side:
    """The runs, each with its calibration run: same scenario, repeat and driver, and the same
    ceiling (closing_ceiling) where the batch records it; and the counted runs' counts."""
    references = None
    if not calibration.empty:
        keys = ["scenario", "repeat", "driver"]
        if all("closing_ceiling" in frame and frame["closing_ceiling"].notna().all() for frame in (runs, calibration)):
            keys.append("closing_ceiling")
        found = runs[keys].merge(calibration.drop_duplicates(keys), on=keys, how="left")
        if found["run_id"].notna().all():
            references = {metric: found[metric].to_numpy(dtype=float) for metric in DRIFTING}
    values = {metric: _values(counted if metric in COUNTED_METRICS else runs, metric) for metric in METRICS}
    timed = "qps" in runs
    return _Side(values, references, _median(runs["qps"]) if timed else None,
                 timed and bool(runs["bottleneck"].isin(FLOORS).any()))


def _values(frame: pd.DataFrame, metric: str) -> np.ndarray:
    """One value per run (none where the side has no such runs: a batch counted nothing)."""
    return frame[metric].to_numpy(dtype=float) if metric in frame else np.array([])


def _median(values: pd.Series) -> float | None:
    clean = values.dropna()
    return float(clean.median()) if len(clean) else None


def _normalisable(side: _Side, metric: str) -> bool:
    if side.references is None or metric not in side.references:
        return False
    reference = side.references[metric]
    return bool(np.all(np.isfinite(reference)) and np.all(reference > 0))


def _tested(side: _Side, metric: str, normalised: bool) -> np.ndarray:
    """What the test reads of one side: the measured values, or their ratios to the references."""
    values = side.values[metric]
    if normalised:
        assert side.references is not None
        values = values / side.references[metric]
    finite: np.ndarray = values[np.isfinite(values)]
    return finite


@dataclass(frozen=True)
class _Candidate:
    target: str
    scenario: str
    metric: str
    before: _Side
    after: _Side

    @property
    def generator_bound(self) -> bool:
        return self.before.generator_bound or self.after.generator_bound


def _candidates(pairs: list[tuple[str, str, _Side, _Side]]) -> list[_Candidate]:
    return [_Candidate(target, scenario, metric, before, after) for target, scenario, before, after in pairs
            for metric in METRICS
            if np.isfinite(before.values[metric]).any() and np.isfinite(after.values[metric]).any()]


# -- the verdicts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Prepared:
    candidate: _Candidate
    basis: str  # AS_MEASURED or PER_REFERENCE
    base: np.ndarray | None  # the logs tested; None: not testable (why: in `_change`)
    new: np.ndarray | None


def _prepare(c: _Candidate) -> _Prepared:
    normalised = c.metric in DRIFTING and _normalisable(c.before, c.metric) and _normalisable(c.after, c.metric)
    b, a = _tested(c.before, c.metric, normalised), _tested(c.after, c.metric, normalised)
    testable = bool(np.all(b > 0) and np.all(a > 0)) and not (c.generator_bound and c.metric not in SERVER_SIDE)
    basis = COUNTED if c.metric in COUNTED_METRICS else PER_REFERENCE if normalised else AS_MEASURED
    return _Prepared(c, basis, np.log(b) if testable else None, np.log(a) if testable else None)


def _judge(candidates: list[_Candidate]) -> list[Change]:
    """Every candidate's change and verdict, at one family-wise level for all of them."""
    rng = np.random.default_rng(SEED)
    prepared = [_prepare(c) for c in candidates]
    tested = [(p.base.size, p.new.size) for p in prepared if p.base is not None and p.new is not None]
    level = family_level([smallest_p(n, m) for n, m in tested], ALPHA)
    needed = repeats_needed(ALPHA / max(len(tested), 1))
    return [_change(p, level=level, needed=needed, rng=rng) for p in prepared]


def _change(prepared: _Prepared, *, level: float, needed: int, rng: np.random.Generator) -> Change:
    c, basis, b, a = prepared.candidate, prepared.basis, prepared.base, prepared.new
    more_is_better = METRICS[c.metric]
    base_median = float(np.nanmedian(c.before.values[c.metric]))
    new_median = float(np.nanmedian(c.after.values[c.metric]))
    untested = Change(c.target, c.scenario, c.metric, base_median, new_median,
                      new_median / base_median - 1 if base_median else math.nan, None, None, None, "",
                      basis=basis, base_rate=c.before.rate, new_rate=c.after.rate)
    if b is None or a is None:
        why = ("generator-bound" if c.generator_bound and c.metric not in SERVER_SIDE
               else "values that are not positive and finite")
        return replace(untested, verdict=f"cannot tell: {why}")
    test = PermutationTest(b, a, rng)
    tested = replace(untested, change=math.expm1(test.observed), p_value=test.p(), level=level)
    if smallest_p(b.size, a.size) > level:
        return replace(tested, verdict=f"cannot tell: {b.size} v {a.size} repeats; {needed} a side would")
    low, high = test.interval(level)
    assert tested.p_value is not None
    if tested.p_value <= level:
        verdict = "better" if (test.observed > 0) == more_is_better else "worse"
    else:
        verdict = "no significant change"
    # The least true change that data with this spread would have had rejected: how far the
    # interval reaches from the observed change, the farther side.
    detectable = math.expm1(max(test.observed - low, high - test.observed))
    return replace(tested, low=math.expm1(low), high=math.expm1(high), detectable=detectable, verdict=verdict)


# -- the two ways in --------------------------------------------------------------------------


def finished(kept: pd.DataFrame) -> pd.DataFrame:
    """The counted (or profiled) runs that finished (none where the batch made none)."""
    return kept[kept["error"].isna()] if "error" in kept else NO_RUNS


def pair_rows(frame: pd.DataFrame, target: str, scenario: str) -> pd.DataFrame:
    """A frame's rows of one target × scenario (any frame with target_label and scenario)."""
    if frame.empty:
        return frame
    return frame[(frame["target_label"] == target) & (frame["scenario"] == scenario)]


def _pairs(frame: pd.DataFrame) -> list[tuple[str, str]]:
    """The (target, scenario) pairs a frame holds, in the order it first holds them."""
    if frame.empty:
        return []
    return [*dict.fromkeys(frame[["target_label", "scenario"]].itertuples(index=False, name=None))]


def compare(base: pd.DataFrame, new: pd.DataFrame, base_counted: pd.DataFrame = NO_RUNS,
            new_counted: pd.DataFrame = NO_RUNS) -> list[Change]:
    """Every metric of every (target, scenario) both batches measured (or counted) without error."""
    before_all, after_all = measured_runs(base), measured_runs(new)
    before_counts, after_counts = finished(base_counted), finished(new_counted)
    references = (_calibration(base), _calibration(new))
    common = ((set(_pairs(before_all)) & set(_pairs(after_all)))
              | (set(_pairs(before_counts)) & set(_pairs(after_counts))))
    order = dict.fromkeys([*_pairs(before_all), *_pairs(before_counts)])
    pairs = [(target, scenario,
              _side(pair_rows(before_all, target, scenario), references[0], pair_rows(before_counts, target, scenario)),
              _side(pair_rows(after_all, target, scenario), references[1], pair_rows(after_counts, target, scenario)))
             for target, scenario in order if (target, scenario) in common]
    return _judge(_candidates(pairs))


@dataclass(frozen=True)
class Step:
    """One step of a history: a batch's runs and counted runs (either may be empty)."""

    label: str
    runs: pd.DataFrame
    counted: pd.DataFrame


def compare_steps(steps: list[tuple[Step, Step]], target: str, scenario: str, metric: str) -> dict[str, Change]:
    """Each (before, after) pair of batches judged on one metric of one target × scenario, all the
    steps at one family-wise level (a history's verdicts carry the diff's 5% together, not each);
    keyed by the after side's label; a step where a side lacks the metric is absent."""
    candidates = []
    for before, after in steps:
        sides = [_side(pair_rows(measured_runs(side.runs), target, scenario), _calibration(side.runs),
                       pair_rows(finished(side.counted), target, scenario)) for side in (before, after)]
        if np.isfinite(sides[0].values[metric]).any() and np.isfinite(sides[1].values[metric]).any():
            candidates.append(_Candidate(after.label, scenario, metric, sides[0], sides[1]))
    return {change.target: change for change in _judge(candidates)}


def _side_by_side(frame: pd.DataFrame, scenario: str, base_target: str, new_target: str) -> tuple[pd.DataFrame, ...]:
    """Both targets' runs of a scenario over the repeats both finished, in repeat order."""
    if frame.empty:
        return frame, frame
    here = frame[frame["scenario"] == scenario]
    before, after = (here[here["target_label"] == name] for name in (base_target, new_target))
    both = set(before["repeat"]) & set(after["repeat"])
    return tuple(side[side["repeat"].isin(both)].sort_values("repeat").reset_index(drop=True)
                 for side in (before, after))


def compare_targets(runs: pd.DataFrame, base_target: str, new_target: str,
                    counted: pd.DataFrame = NO_RUNS) -> list[Change]:
    """Two targets of one batch, scenario by scenario, over the repeats both finished (timed and
    counted apart), as measured."""
    measured, counts = measured_runs(runs), finished(counted)
    held = [*_pairs(measured), *_pairs(counts)]
    labels = {target for target, _ in held}
    for name in (base_target, new_target):
        if name not in labels:
            raise KeyError(f"no finished runs of target {name!r} in this batch (it has: {', '.join(sorted(labels))})")
    pairs = []
    for scenario in dict.fromkeys(scenario for _, scenario in held):
        before, after = _side_by_side(measured, scenario, base_target, new_target)
        counted_before, counted_after = _side_by_side(counts, scenario, base_target, new_target)
        if before.empty and counted_before.empty:
            continue
        pairs.append((f"{base_target} → {new_target}", scenario, _side(before, NO_RUNS, counted_before),
                      _side(after, NO_RUNS, counted_after)))
    return _judge(_candidates(pairs))


def machine_differences(base: pd.DataFrame, new: pd.DataFrame) -> list[str]:
    """What differs between the machines and measuring stacks of two batches' runs."""
    out = []
    for column in MACHINE_COLUMNS:
        if column not in base or column not in new:
            continue
        before, after = (sorted(map(str, runs[column].dropna().unique())) for runs in (base, new))
        if before and after and before != after:
            out.append(f"{column} {', '.join(before)} → {', '.join(after)}")
    return out


def drift(base: pd.DataFrame, new: pd.DataFrame) -> list[str]:
    """How far the machine itself moved between two batches: the calibration's QPS per scenario."""
    out = []
    before, after = _calibration(base), _calibration(new)
    for scenario in dict.fromkeys(before["scenario"]):
        was = _median(before[before["scenario"] == scenario]["qps"])
        now = _median(after[after["scenario"] == scenario]["qps"])
        if was and now:
            out.append(f"{scenario} {now / was - 1:+.1%}")
    return out


def regressions(changes: list[Change], threshold: float) -> list[Change]:
    """The significant changes for the worse by more than `threshold` (a fraction)."""
    return [c for c in changes if c.verdict == "worse" and abs(c.change) > threshold]


def as_records(changes: list[Change]) -> list[dict[str, object]]:
    return [{**asdict(c), "significant": c.significant} for c in changes]
