"""Results on disk: a batch's files are replaced whole or not at all, even when the writing
process is killed in the middle of a write."""

from __future__ import annotations

import json
import os
import re
import signal
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from lab.store import results
from lab.store.columns import (
    COUNTED_COLUMNS,
    FUNCTION_COLUMNS,
    HISTOGRAM_COLUMNS,
    PROFILE_FUNCTION_COLUMNS,
    PROFILED_COLUMNS,
    RUN_COLUMNS,
    STACK_COLUMNS,
    TIMESERIES_COLUMNS,
)
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
        def torn_write(table: Any, path: Any, **kwargs: Any) -> None:
            Path(path).write_bytes(b"PAR1" + b"\0" * 100)
            os.kill(os.getpid(), signal.SIGKILL)

        results.pq.write_table = torn_write
        writer.add(run(2))
        os._exit(0)  # not reached
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a torn runs file would be skipped with a warning
        assert list(results.load(tmp_path)["requests"]) == [1000]


def test_batches_are_found_in_time_order_and_read_together(tmp_path: Path) -> None:
    root = tmp_path / "not" / "yet"  # created on the first batch
    first, second = results.new_batch_id(), "29991231T235959Z-ffff"
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{4}", first)
    BatchWriter(root, second, {"batch": second, "when": datetime(2026, 1, 1)}).add(run(2))
    BatchWriter(root, first, {"batch": first}).add(run(1))
    assert [p.name for p in results.batches(root)] == [first, second] and results.latest_batch(root) == second
    both = results.load(root)
    assert list(both["requests"]) == [1000, 2000] and list(both.index) == [0, 1]
    assert list(both.columns[: len(RUN_COLUMNS)]) == list(RUN_COLUMNS)
    assert list(results.load(root, second)["requests"]) == [2000]
    assert list(results.load_timeseries(root, first)["requests"]) == [1000]
    info = json.loads((root / second / results.BATCH_INFO).read_text())
    assert info == {"format": results.FORMAT, "batch": second, "when": "2026-01-01 00:00:00"}
    with pytest.raises(FileExistsError):
        BatchWriter(root, second, {})  # a batch is never written over
    with pytest.raises(FileNotFoundError, match="no batch 'nope'"):
        results.load(root, "nope")
    assert results.latest_batch(tmp_path / "empty") is None and results.load(tmp_path / "empty").empty


def test_histograms_are_kept_per_run(tmp_path: Path) -> None:
    writer = BatchWriter(tmp_path, "b", {})
    writer.add(RunResult(row={"run_id": "r1"}, seconds=[], histogram="HISTFAAAA"))
    writer.add(RunResult(row={"run_id": "r2"}, seconds=[], histogram=None))
    assert results.load_histograms(tmp_path, "b").to_dict("records") == [{"run_id": "r1", "histogram": "HISTFAAAA"}]


def test_a_damaged_file_is_skipped_with_its_name_and_the_rest_still_read(tmp_path: Path) -> None:
    BatchWriter(tmp_path, "a", {}).add(run(1))
    BatchWriter(tmp_path, "b", {}).add(run(2))
    (tmp_path / "b" / results.RUNS).write_bytes(b"not parquet")
    with pytest.warns(UserWarning, match=r"skipping .*b/runs.parquet: ArrowInvalid"):
        assert list(results.load(tmp_path)["requests"]) == [1000]


def test_files_keep_a_fixed_schema_and_old_batches_gain_new_columns(tmp_path: Path) -> None:
    writer = BatchWriter(tmp_path, "b", {})
    writer.add(RunResult(row={"run_id": "failed", "error": "boom"}, seconds=[{"run_id": "failed", "second": 0}],
                         histogram="H"))
    assert list(pd.read_parquet(tmp_path / "b" / results.RUNS).columns) == list(RUN_COLUMNS)
    assert list(pd.read_parquet(tmp_path / "b" / results.TIMESERIES).columns) == list(TIMESERIES_COLUMNS)
    assert list(pd.read_parquet(tmp_path / "b" / results.HISTOGRAMS).columns) == list(HISTOGRAM_COLUMNS)
    old = tmp_path / "a"  # a batch from before most columns existed, in another order
    old.mkdir()
    pd.DataFrame([{"qps": 5.0, "run_id": "old", "retired_column": 1}]).to_parquet(old / results.RUNS)
    runs = results.load(tmp_path)
    assert list(runs.columns) == [*RUN_COLUMNS, "retired_column"]
    assert list(runs["run_id"]) == ["old", "failed"] and runs["qps"].iloc[0] == 5.0


def test_the_latest_of_three_batches_and_histograms_of_all(tmp_path: Path) -> None:
    for name in ("20260101T000000Z-aaaa", "20260102T000000Z-bbbb", "20260103T000000Z-cccc"):
        BatchWriter(tmp_path, name, {}).add(RunResult(row={"run_id": name[-4:]}, seconds=[], histogram=name[-4:]))
    assert results.latest_batch(tmp_path) == "20260103T000000Z-cccc"
    assert list(results.load_histograms(tmp_path)["histogram"]) == ["aaaa", "bbbb", "cccc"]
    assert list(results.load_histograms(tmp_path, "20260102T000000Z-bbbb")["histogram"]) == ["bbbb"]
    BatchWriter(tmp_path, "none", {}).add(RunResult(row={"run_id": "x"}, seconds=[], histogram=None))
    assert list(pd.read_parquet(tmp_path / "none" / results.HISTOGRAMS).columns) == list(HISTOGRAM_COLUMNS)


def test_batch_ids_are_utc_whatever_the_machine_s_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")  # UTC+9: a local-time id would be nine hours ahead
    time.tzset()
    try:
        before = datetime.now(UTC).strftime("%Y%m%dT%H")
        assert results.new_batch_id()[:11] in (before, datetime.now(UTC).strftime("%Y%m%dT%H"))
    finally:
        monkeypatch.undo()
        time.tzset()


def test_files_carry_their_format_and_a_newer_one_is_refused_in_one_line(tmp_path: Path) -> None:
    BatchWriter(tmp_path, "now", {}).add(run(1))
    for name in (results.RUNS, results.TIMESERIES, results.HISTOGRAMS):
        assert results.format_of(tmp_path / "now" / name) == results.FORMAT
        assert b"pandas" in (pq.read_schema(tmp_path / "now" / name).metadata or {})  # pandas' own kept beside it
    old = tmp_path / "old"  # written before formats were recorded, and lacking a column since added
    old.mkdir()
    pd.DataFrame([{"run_id": "o", "requests": 5}]).to_parquet(old / results.RUNS, index=False)
    assert results.format_of(old / results.RUNS) == 1
    assert list(results.load(tmp_path, "old")["requests"]) == [5] and "qps" in results.load(tmp_path, "old")
    newer = tmp_path / "newer"
    newer.mkdir()
    table = pa.Table.from_pandas(pd.DataFrame([{"run_id": "n"}]))
    pq.write_table(table.replace_schema_metadata({results.FORMAT_KEY: b"3"}), newer / results.RUNS)
    refusal = (r"newer/runs.parquet is in results format 3, "
               r"which this qpslab \(formats 1, 2\) cannot read: update qpslab$")
    with pytest.raises(results.FormatError, match=refusal):
        results.load(tmp_path)  # refused, not skipped as a damaged file would be
    with pytest.raises(results.FormatError):
        results.load(tmp_path, "newer")


def test_a_value_of_the_wrong_type_for_its_column_is_refused(tmp_path: Path) -> None:
    writer = BatchWriter(tmp_path, "b", {})
    with pytest.raises(ValueError, match=r"wrong type.*'qps': '12'"):
        writer.add(RunResult(row={"run_id": "x", "qps": "12"}, seconds=[], histogram=None))


def _counted(run_id: str, instructions: float) -> results.CountedResult:
    return results.CountedResult(row={"run_id": run_id, "server_instructions_per_request": instructions},
                                 functions=[{"run_id": run_id, "rank": 1, "function": "parse"}])


def _profiled(run_id: str, qps: float) -> results.ProfiledResult:
    return results.ProfiledResult(row={"run_id": run_id, "qps": qps},
                                  functions=[{"run_id": run_id, "rank": 1, "function": "parse", "self_samples": 9}],
                                  stacks=[{"samples": 9, "stack": "main;parse", "run_id": run_id}])  # another order


def test_counted_and_profiled_runs_have_files_of_their_own_with_a_fixed_schema(tmp_path: Path) -> None:
    for batch, n in (("20260101T000000Z-aaaa", 1), ("20260102T000000Z-bbbb", 2)):
        writer = BatchWriter(tmp_path, batch, {})
        writer.add_counted(_counted(f"c{n}", 1000.0 * n))
        writer.add_profiled(_profiled(f"p{n}", 10.0 * n))
        writer.add_profiled(_profiled(f"p{n}b", 10.0 * n))
    files = {results.COUNTED: COUNTED_COLUMNS, results.FUNCTIONS: FUNCTION_COLUMNS,
             results.PROFILED: PROFILED_COLUMNS, results.PROFILE_FUNCTIONS: PROFILE_FUNCTION_COLUMNS,
             results.STACKS: STACK_COLUMNS}
    for name, declared in files.items():  # every declared column, in order, though the rows were sparse
        assert list(pd.read_parquet(tmp_path / "20260101T000000Z-aaaa" / name).columns) == list(declared), name
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a batch without a file is not a damaged file
        assert list(results.load_counted(tmp_path)["run_id"]) == ["c1", "c2"]
        assert list(results.load_functions(tmp_path)["run_id"]) == ["c1", "c2"]
        assert list(results.load_functions(tmp_path, "20260102T000000Z-bbbb")["run_id"]) == ["c2"]
        assert list(results.load_profiled(tmp_path, "20260101T000000Z-aaaa")["qps"]) == [10.0, 10.0]
        assert list(results.load_profiled(tmp_path).columns) == list(PROFILED_COLUMNS)
        assert list(results.load_profile_functions(tmp_path, "20260102T000000Z-bbbb")["run_id"]) == ["p2", "p2b"]
        assert list(results.load_stacks(tmp_path, "20260101T000000Z-aaaa")["samples"]) == [9, 9]
        BatchWriter(tmp_path, "timed", {}).add(run(1))
        assert results.load_counted(tmp_path, "timed").empty and results.load_stacks(tmp_path, "timed").empty


def test_an_old_counted_or_profiled_file_gains_the_columns_added_since(tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    pd.DataFrame([{"run_id": "c", "server_instructions_per_request": 5.0}]).to_parquet(old / results.COUNTED)
    pd.DataFrame([{"run_id": "p", "qps": 5.0}]).to_parquet(old / results.PROFILED)
    assert list(results.load_counted(tmp_path).columns) == list(COUNTED_COLUMNS)
    assert list(results.load_profiled(tmp_path).columns) == list(PROFILED_COLUMNS)


@pytest.mark.parametrize(("add", "declared"), [
    (lambda w: w.add(RunResult(row={"run_id": "x", "bogus": 1}, seconds=[], histogram=None)), "RUN_COLUMNS"),
    (lambda w: w.add_counted(results.CountedResult(row={"bogus": 1}, functions=[])), "COUNTED_COLUMNS"),
    (lambda w: w.add_counted(results.CountedResult(row={}, functions=[{"bogus": 1}])), "FUNCTION_COLUMNS"),
    (lambda w: w.add_profiled(results.ProfiledResult(row={"bogus": 1}, functions=[], stacks=[])),
     "PROFILED_COLUMNS"),
    (lambda w: w.add_profiled(results.ProfiledResult(row={}, functions=[{"bogus": 1}], stacks=[])),
     "PROFILE_FUNCTION_COLUMNS"),
    (lambda w: w.add_profiled(results.ProfiledResult(row={}, functions=[], stacks=[{"bogus": 1}])), "STACK_COLUMNS"),
])
def test_an_undeclared_column_is_refused_with_the_declaration_it_is_missing_from(
        tmp_path: Path, add: Any, declared: str) -> None:
    with pytest.raises(ValueError) as refused:
        add(BatchWriter(tmp_path, "b", {}))
    assert str(refused.value) == f"row has columns missing from lab.store.columns.{declared}: ['bogus']"


def test_batch_json_says_its_format_and_is_rewritten_whole(tmp_path: Path) -> None:
    writer = BatchWriter(tmp_path, "b", {"command": "lab compare", "root": tmp_path})
    path = tmp_path / "b" / results.BATCH_INFO
    assert json.loads(path.read_text()) == {"format": results.FORMAT, "command": "lab compare", "root": str(tmp_path)}
    writer.describe({"command": "lab bisect", "found": Path("abc")})
    assert json.loads(path.read_text()) == {"format": results.FORMAT, "command": "lab bisect", "found": "abc"}
