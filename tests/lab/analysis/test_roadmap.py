"""The roadmap's table, as the lab reads it: each stage's target and what the roadmap reports reaching."""

from __future__ import annotations

import pytest

from lab.analysis.roadmap import (
    CONNECTIONS,
    LATENCY,
    MEMORY,
    QPS,
    SPEEDUP,
    Line,
    roadmap_lines,
    roadmap_stage,
    roadmap_table,
)


def test_the_roadmap_table_gives_targets_and_what_the_roadmap_reports_reaching() -> None:
    table = roadmap_table().set_index("stage")
    assert table.loc[1, "speedup_target"] == pytest.approx(5_000 / 459)
    assert table.loc[1, "speedup_reported"] == pytest.approx(7_877 / 459)  # reached, beyond its target
    assert table.loc[4, "speedup_reported"] == pytest.approx(100_000 / 459)  # not reported: the target
    assert roadmap_stage(2) is not None and roadmap_stage(2).stage == 2  # type: ignore[union-attr]
    assert roadmap_stage(5) is None and roadmap_stage(None) is None


def test_a_stage_s_row_becomes_its_lines_each_reading_its_own_column() -> None:
    """Stage 3's row of the table (50,000 QPS, 0.3 ms, 1000+ connections, memory −50%) as the
    lines it is judged against, every field; stage 0's as the baseline it reproduces."""
    assert tuple(line for line in roadmap_lines() if line.stage in (0, 3)) == (
        Line(0, QPS, 459.0, "QPS 459 (the roadmap's measured baseline)", "qps", "io-wait", reference=True),
        Line(3, QPS, 50_000.0, "QPS > 50,000 (its target)", "qps", "plaintext"),
        Line(3, SPEEDUP, 50_000 / 459, "speedup over stage 0 > 108.9x (50,000 ÷ 459)", "qps", "io-wait"),
        Line(3, LATENCY, 300.0, "mean latency < 0.3 ms", "latency_corrected_mean_us", floor="latency_floor_mean_us"),
        Line(3, CONNECTIONS, 1_000, "1,000 concurrent connections", "server_connections_peak", strict=False),
        Line(3, MEMORY, 0.5, "memory per held connection ≤ 0.5x stage 2's (-50%)", "server_rss_per_connection_bytes"),
    )
