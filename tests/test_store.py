"""Results on disk: a batch's files are replaced whole or not at all, even when the writing
process is killed in the middle of a write."""

from __future__ import annotations

import os
import signal
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from lab.store import results
from lab.store.results import BatchWriter, RunResult


def run(n: int) -> RunResult:
    return RunResult(row={"run_id": f"r{n}", "batch": "b", "requests": 1000 * n, "qps": 100.0 * n},
                     seconds=[{"run_id": f"r{n}", "second": 0, "requests": 1000 * n}], histogram=None)


def test_each_run_is_on_disk_as_soon_as_it_is_added(tmp_path: Path) -> None:
    writer = BatchWriter(tmp_path, "b", {"batch": "b"})
    writer.add(run(1))
    assert list(results.load(tmp_path)["requests"]) == [1000]
    writer.add(run(2))
    assert list(results.load(tmp_path)["requests"]) == [1000, 2000]
    assert list(results.load_timeseries(tmp_path)["requests"]) == [1000, 2000]


def test_a_row_with_an_unknown_column_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    writer = BatchWriter(tmp_path, "b", {"batch": "b"})
    with pytest.raises(ValueError, match="not_a_column"):
        writer.add(RunResult(row={"run_id": "x", "not_a_column": 1}, seconds=[], histogram=None))
    assert not (tmp_path / "b" / results.RUNS).exists()


def test_a_process_killed_inside_a_parquet_write_leaves_the_previous_file_whole(tmp_path: Path) -> None:
    writer = BatchWriter(tmp_path, "b", {"batch": "b"})
    writer.add(run(1))
    pid = os.fork()
    if pid == 0:  # the child: its next write stops half-way, killed with no chance to clean up
        def torn_write(frame: pd.DataFrame, path: Any, **kwargs: Any) -> None:
            Path(path).write_bytes(b"PAR1" + b"\0" * 100)
            os.kill(os.getpid(), signal.SIGKILL)

        pd.DataFrame.to_parquet = torn_write  # type: ignore[method-assign]
        writer.add(run(2))
        os._exit(0)  # not reached
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a torn runs file would be skipped with a warning
        assert list(results.load(tmp_path)["requests"]) == [1000]
