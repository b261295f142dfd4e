"""`lab diff`'s error rates by simulation, ten times the fast tier's draws (tests/lab/analysis/test_diff.py).

    .venv/bin/python benchmarks/diff_error_rates.py [DRAWS]

The same server measured twice (A/A): the share of diffs that call any of the 5 metrics better
or worse (family-wise; at most 5% by construction), at 3, 5 and 8 repeats a side, on a steady
machine and on one 30% slower for the second batch (read against the calibration runs); and the
power to find a 10% change of CPU per request with a 3% spread at 5 repeats a side. Each figure
with its 95% sampling interval. Seeded: the same figures every run.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

from lab.analysis.diff import compare

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the simulation is the fast tier's own
from tests.lab.analysis.test_diff import CPU, alarm_rate, by_metric, separation_power, simulated


def interval(rate: float, draws: int) -> str:
    half = 1.96 * math.sqrt(max(rate * (1 - rate), 1e-12) / draws)
    return f"{rate:6.1%} ± {half:.1%}"


def main() -> None:
    draws = int(sys.argv[1]) if len(sys.argv) > 1 else 4_000
    started = time.perf_counter()
    print(f"{draws:,} simulated diffs each, metrics log-normal with a 3% spread")
    for repeats in (3, 5, 8):
        rate = alarm_rate(draws, seed=100 + repeats, repeats=repeats, spread=0.03)
        print(f"A/A, {repeats} v {repeats}, steady machine:            any metric called: {interval(rate, draws)}")
    rate = alarm_rate(draws, seed=200, repeats=5, spread=0.03, calibrated=True, new_machine=0.7)
    print(f"A/A, 5 v 5, machine 30% slower, per calibration: any metric called: {interval(rate, draws)}")
    rng = np.random.default_rng(300)
    found = sum(by_metric(compare(simulated(rng, 5, 0.03), simulated(rng, 5, 0.03, cpu_change=0.10)))[CPU]
                .verdict == "worse" for _ in range(draws)) / draws
    print(f"power, CPU +10%, 3% spread, 5 v 5:               found: {interval(found, draws)} "
          f"(exact: {separation_power(math.log(1.10) / 0.03, 5):.1%})")
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
