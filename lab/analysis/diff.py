"""Two batches compared, target by target and scenario by scenario: what changed, by how much,
and whether the repeats can tell (`lab diff BASE NEW`).

A change is significant when the bootstrap 95% interval of the change of the medians excludes
zero; the Mann-Whitney U p-value of the repeats is shown beside it (with 3 repeats against 3
its smallest possible value is 0.1, so it informs rather than decides). With fewer than
MIN_REPEATS on either side the diff says it cannot tell. A generator-bound run's QPS and latency
measure the generator, so such pairs are compared on CPU per request and memory only.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from rich.markup import escape
from rich.table import Table
from scipy.stats import mannwhitneyu

# Repeats each side needs before a change can be called significant.
MIN_REPEATS = 3
# Bootstrap resamples of each side: enough for a stable 95% interval of a median.
RESAMPLES = 2_000
# A fixed seed: the same two batches always give the same verdicts.
SEED = 20_261_127
CONFIDENCE = 0.95

# metric → whether more is better; the order the diff lists them in.
METRICS: dict[str, bool] = {
    "qps": True,
    "server_cpu_us_per_request": False,
    "latency_p50_us": False,
    "latency_p99_us": False,
    "server_rss_peak_bytes": False,
}
# Meaningful even when the generator set the pace: what the server spent, not how fast it went.
SERVER_SIDE = ("server_cpu_us_per_request", "server_rss_peak_bytes")


@dataclass(frozen=True)
class Change:
    target: str
    scenario: str
    metric: str
    base: float  # medians
    new: float
    change: float  # new / base - 1
    low: float | None  # the bootstrap interval of `change`; None when it cannot tell
    high: float | None
    p_value: float | None  # Mann-Whitney U, two-sided
    verdict: str  # "better", "worse", "no significant change", or why it cannot tell

    @property
    def significant(self) -> bool:
        return self.verdict in ("better", "worse")


def _interval(base: np.ndarray, new: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    """Bootstrap percentile interval of median(new) / median(base) - 1."""
    base_medians = np.median(rng.choice(base, (RESAMPLES, base.size)), axis=1)
    new_medians = np.median(rng.choice(new, (RESAMPLES, new.size)), axis=1)
    ratios = new_medians / base_medians - 1
    alpha = (1 - CONFIDENCE) / 2
    low, high = np.quantile(ratios, [alpha, 1 - alpha])
    return float(low), float(high)


def compare(base: pd.DataFrame, new: pd.DataFrame) -> list[Change]:
    """Every metric of every (target, scenario) both batches measured without error."""
    rng = np.random.default_rng(SEED)
    changes = []
    base, new = (runs[runs["error"].isna()] for runs in (base, new))
    pairs = base[["target_label", "scenario"]].drop_duplicates().merge(
        new[["target_label", "scenario"]].drop_duplicates())
    for target, scenario in pairs.itertuples(index=False):
        before = base[(base["target_label"] == target) & (base["scenario"] == scenario)]
        after = new[(new["target_label"] == target) & (new["scenario"] == scenario)]
        generator_bound = bool(pd.concat([before, after])["bottleneck"].eq("generator").any())
        for metric, more_is_better in METRICS.items():
            b = before[metric].dropna().to_numpy(dtype=float)
            a = after[metric].dropna().to_numpy(dtype=float)
            if not b.size or not a.size:
                continue
            base_median, new_median = float(np.median(b)), float(np.median(a))
            if not base_median:
                continue
            change = new_median / base_median - 1
            low = high = p_value = None
            if generator_bound and metric not in SERVER_SIDE:
                verdict = "cannot tell: generator-bound"
            elif min(b.size, a.size) < MIN_REPEATS:
                verdict = f"cannot tell: fewer than {MIN_REPEATS} repeats"
            else:
                low, high = _interval(b, a, rng)
                p_value = float(mannwhitneyu(b, a, alternative="two-sided").pvalue)
                if low > 0 or high < 0:
                    verdict = "better" if (low > 0) == more_is_better else "worse"
                else:
                    verdict = "no significant change"
            changes.append(Change(target, scenario, metric, base_median, new_median, change, low, high, p_value,
                                  verdict))
    return changes


def regressions(changes: list[Change], threshold: float) -> list[Change]:
    """The significant changes for the worse by more than `threshold` (a fraction)."""
    return [c for c in changes if c.verdict == "worse" and abs(c.change) > threshold]


def as_records(changes: list[Change]) -> list[dict[str, object]]:
    return [{**asdict(c), "significant": c.significant} for c in changes]


def _percent(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:+.1%}"


def _cells(c: Change) -> tuple[str, ...]:
    """A change as the table and the markdown show it, verdict last."""
    interval = "–" if c.low is None else f"{_percent(c.low)} … {_percent(c.high)}"
    p_value = "–" if c.p_value is None else f"{c.p_value:.2f}"
    return (c.target, c.scenario, c.metric, f"{c.base:,.1f}", f"{c.new:,.1f}", _percent(c.change), interval, p_value,
            c.verdict)


def as_markdown(changes: list[Change], base_name: str, new_name: str) -> str:
    lines = [f"`lab diff {base_name} {new_name}`", "",
             "| target | scenario | metric | base | new | change | 95% interval | p (U test) | verdict |",
             "|---|---|---|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(_cells(c)) + " |" for c in changes]
    return "\n".join(lines) + "\n"


_COLOURS = {"better": "green", "worse": "red"}


def diff_table(changes: list[Change], title: str) -> Table:
    out = Table(title=title, title_justify="left")
    for column in ("target", "scenario", "metric", "base", "new", "change", "95% interval", "p (U)", "verdict"):
        out.add_column(column, justify="right" if column in ("base", "new", "change", "p (U)") else "left")
    for c in changes:
        colour = _COLOURS.get(c.verdict)
        *cells, verdict = _cells(c)
        out.add_row(*map(escape, cells), f"[{colour}]{verdict}[/{colour}]" if colour else escape(verdict))
    return out
