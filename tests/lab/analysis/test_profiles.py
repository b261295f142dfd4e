"""A batch's profiled runs read in memory (lab.analysis.profiles, lab.analysis.profile_page): the
profiler's cost against the timed runs, the steps a batch's targets make, and the record's parts."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pandas as pd
import pytest

from lab.analysis.profile_page import steps
from lab.analysis.profiles import profiled_summary, top_functions
from lab.model.record import PROFILED_PARTS
from lab.store.columns import PROFILED_COLUMNS


def _rows(target: str, qps: list[float], **more: Any) -> pd.DataFrame:
    return pd.DataFrame([{"run_id": f"{target}-{i}", "target": target, "target_label": target,
                          "scenario": "plaintext", "qps": q, "error": None, "load_level": None,
                          "server_cpu_us_per_request": 40.0, **more} for i, q in enumerate(qps)])


def test_the_summary_sets_the_profiled_qps_against_the_timed_runs_median() -> None:
    # A sweep's open-loop run is not one of the timed runs the cost is read against.
    timed = pd.concat([_rows("stage4", [20_000.0, 24_000.0, 22_000.0]), _rows("stage4", [1.0], load_level=0.5)])
    profiled = pd.concat([_rows("stage4", [16_500.0, 16_500.0], profiler="py-spy", profile_samples=300),
                          _rows("gone", [1.0], profiler=None, profile_samples=None).assign(error="profile: died")])
    summary = profiled_summary(profiled, timed).set_index("target")
    assert summary.at["stage4", "vs_timed"] == pytest.approx(16_500 / 22_000 - 1)
    assert summary.at["stage4", "profiler"] == "py-spy" and summary.at["stage4", "failed"] == 0
    assert summary.at["gone", "error"] == "profile: died" and pd.isna(summary.at["gone", "vs_timed"])


def test_top_functions_are_medians_of_the_runs_most_first() -> None:
    profiled = _rows("stage4", [1.0, 1.0])
    functions = pd.DataFrame([{"run_id": run, "function": name, "self_us_per_request": cost,
                               "inclusive_us_per_request": cost}
                              for run, costs in (("stage4-0", {"a": 10.0, "b": 3.0}), ("stage4-1", {"a": 14.0}))
                              for name, cost in costs.items()])
    top = top_functions(profiled, functions)
    assert list(top["function"]) == ["a", "b"]
    assert list(top["self_us_per_request"]) == [12.0, 1.5] and list(top["spread"]) == [4.0, 3.0]


def test_a_batch_s_steps_are_stage_to_stage_and_a_switched_stage_to_its_plain_one() -> None:
    labels = [("stage4", 4), ("stage2", 2), ("stage4 --parser core", 4), ("uvicorn", None), ("stage3", 3),
              ("stage1 --x", 1)]
    assert steps(labels) == [("stage2", "stage3"), ("stage3", "stage4"), ("stage4 --parser core", "stage4")]


def test_every_profiled_column_is_made_by_exactly_one_part() -> None:
    made = [field.name for part in PROFILED_PARTS for field in fields(part)]
    assert sorted(made) == sorted(PROFILED_COLUMNS)
