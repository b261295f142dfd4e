"""`lab history` on batches made here: time order with commits, each step judged by lab diff's
test at one family-wise level, a step onto another machine shown and not judged, a batch in the
old results format read, and what it refuses."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lab.analysis.history import NOT_JUDGED, history
from lab.cli import history as history_command
from lab.cli.options import UsageError
from lab.store import results
from lab.store.results import BatchWriter, CountedResult, RunResult

MACHINE = {"cpu_model": "cpu", "hostname": "here", "python_version": "3.11.7", "valgrind_version": "valgrind-3.19.0"}


def _counted(batch: str, values: list[float], commit: str, **machine: str) -> list[CountedResult]:
    return [CountedResult({"batch": batch, "run_id": f"{batch}-{k}", "started_at": f"2026-12-0{batch[-1]}T10:00:0{k}",
                           "repeat": k, "target": "stage4", "target_label": "stage4", "scenario": "plaintext",
                           "git_commit": commit, "warmup_requests": 500, "server_instructions_per_request": value,
                           "error": None, **{**MACHINE, **machine}}, [])
            for k, value in enumerate(values)]


def _write(root: Path, batch: str, counted: Sequence[CountedResult] = (), timed: Sequence[dict[str, Any]] = ()) -> None:
    writer = BatchWriter(root, batch, {"batch": batch})
    for result in counted:
        writer.add_counted(result)
    for row in timed:
        writer.add(RunResult(row, [], None))


def _noisy(mean: float, seed: int) -> list[float]:
    return list(mean * np.exp(np.random.default_rng(seed).normal(0, 0.0006, 7)))


def test_steps_in_time_order_judged_at_one_level_and_another_machine_not_judged(tmp_path: Path) -> None:
    _write(tmp_path, "20261201T000000Z-aaa1", _counted("b1", _noisy(50_000, 1), "c1"))
    _write(tmp_path, "20261202T000000Z-aaa2", _counted("b2", _noisy(50_000, 2), "c2"))
    _write(tmp_path, "20261203T000000Z-aaa3", _counted("b3", _noisy(50_500, 3), "c3"))  # 1% more
    _write(tmp_path, "20261204T000000Z-aaa4", _counted("b4", _noisy(50_500, 4), "c4", hostname="elsewhere"))
    _write(tmp_path, "20261205T000000Z-aaa5", _counted("b5", [1.0], "c5"))  # back here: not judged either
    points = history(tmp_path, "stage4", "plaintext", "instructions")
    assert [p.batch for p in points] == ["20261201T000000Z-aaa1", "20261202T000000Z-aaa2", "20261203T000000Z-aaa3",
                                        "20261204T000000Z-aaa4", "20261205T000000Z-aaa5"]
    assert [p.commit for p in points] == ["c1", "c2", "c3", "c4", "c5"] and points[0].runs == 7
    assert points[0].verdict == "" and points[0].change is None
    assert points[1].verdict == "no significant change"
    assert points[2].verdict == "worse" and points[2].change == pytest.approx(0.01, abs=0.002)
    assert points[3].verdict == NOT_JUDGED + "another machine or stack (hostname here → elsewhere)"
    assert points[3].change is None and points[3].median == pytest.approx(50_500, rel=0.002)
    assert points[4].verdict == NOT_JUDGED + "another machine or stack (hostname elsewhere → here)"
    assert points[0].low <= points[0].median <= points[0].high


def test_a_batch_in_the_old_format_is_read_and_a_newer_one_refused(tmp_path: Path) -> None:
    rows = [{"batch": "old", "run_id": f"r{k}", "target": "stage4", "target_label": "stage4", "scenario": "json",
             "repeat": k, "error": None, "load_level": None, "qps": 10_000.0 + k, "started_at": "2026-11-01",
             "git_commit": "c0", "bottleneck": "server"} for k in range(5)]
    old = tmp_path / "20261101T000000Z-0001"
    old.mkdir()
    pq.write_table(pa.Table.from_pylist(rows), old / results.RUNS)  # format 1: no format key, fewer columns
    newer = [{**row, "qps": 13_000.0 + row["repeat"], "run_id": f"n{row['repeat']}", "started_at": "2026-12-01",
              "git_commit": "c1"} for row in rows]
    _write(tmp_path, "20261201T000000Z-0002", timed=newer)
    points = history(tmp_path, "stage4", "json", "qps")
    assert [p.median for p in points] == [10_002.0, 13_002.0]
    assert points[1].verdict == "better"  # no machine columns in the old batch: nothing to tell them apart
    assert history(tmp_path, "stage4", "json", "cpu") == []  # measured by neither


def _args(root: Path, **given: Any) -> argparse.Namespace:
    return argparse.Namespace(**{"target": "stage4", "scenario": "plaintext", "metric": "instructions",
                                 "figure": None, "format": "markdown", "results": root, **given})


def test_the_command_names_what_was_measured_when_asked_for_what_was_not(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError, match=r"measured there: none: run `lab compare`"):
        history_command.handle(_args(tmp_path), None)  # type: ignore[arg-type]
    _write(tmp_path, "20261201T000000Z-aaa1", _counted("b1", [50_000.0, 50_010.0], "c1"))
    with pytest.raises(UsageError, match=r"of stage9 × plaintext \(measured there: stage4 × plaintext\)"):
        history_command.handle(_args(tmp_path, target="stage9"), None)  # type: ignore[arg-type]
    assert history_command.handle(_args(tmp_path, figure=tmp_path / "h.png"), None) == 0  # type: ignore[arg-type]
    printed = capsys.readouterr().out
    assert "| 20261201T000000Z-aaa1 | c1 | 2 | 50,005.0 | 50,000.0 … 50,010.0 | – |  |" in printed
    assert (tmp_path / "h.png").read_bytes()[:4] == b"\x89PNG"
