"""The roadmap's table, as the lab reads it: each stage's target and what the roadmap reports reaching."""

from __future__ import annotations

import pytest

from lab.analysis.roadmap import roadmap_stage, roadmap_table


def test_the_roadmap_table_gives_targets_and_what_the_roadmap_reports_reaching() -> None:
    table = roadmap_table().set_index("stage")
    assert table.loc[1, "speedup_target"] == pytest.approx(5_000 / 459)
    assert table.loc[1, "speedup_reported"] == pytest.approx(7_877 / 459)  # reached, beyond its target
    assert table.loc[4, "speedup_reported"] == pytest.approx(100_000 / 459)  # not reported: the target
    assert roadmap_stage(2) is not None and roadmap_stage(2).stage == 2  # type: ignore[union-attr]
    assert roadmap_stage(5) is None and roadmap_stage(None) is None
