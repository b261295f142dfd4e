"""Batches of runs on disk: results/<batch>/{runs,timeseries,histograms}.parquet and batch.json,
and for counted runs counted.parquet and functions.parquet.

Every file is rewritten whole after each run through a temporary file and a rename, so a
comparison stopped at any moment leaves the rows of every finished run, never a torn file.
"""

from __future__ import annotations

import json
import secrets
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from lab.paths import DEFAULT_RESULTS, replacing, write_atomically
from lab.store.columns import (
    COUNTED_COLUMNS,
    FUNCTION_COLUMNS,
    HISTOGRAM_COLUMNS,
    PROFILE_FUNCTION_COLUMNS,
    PROFILED_COLUMNS,
    RUN_COLUMNS,
    STACK_COLUMNS,
    TIMESERIES_COLUMNS,
    Column,
)

RUNS = "runs.parquet"
TIMESERIES = "timeseries.parquet"
HISTOGRAMS = "histograms.parquet"
COUNTED = "counted.parquet"
FUNCTIONS = "functions.parquet"
PROFILED = "profiled.parquet"
PROFILE_FUNCTIONS = "profile_functions.parquet"
STACKS = "stacks.parquet"
BATCH_INFO = "batch.json"
# The results format: batch.json's "format" and each parquet file's metadata key FORMAT_KEY.
# 1: before formats were recorded (read as 2: its files only lack the columns added since, which
#    load() gives as empty); 2: columns typed and declared in lab.store.columns.
FORMAT = 2
FORMAT_KEY = b"qpslab.format"
READABLE_FORMATS = (1, 2)


class FormatError(ValueError):
    """A results file written by a newer lab, in a format this one does not know."""


@dataclass(frozen=True)
class RunResult:
    row: dict[str, Any]  # one line of runs.parquet
    seconds: list[dict[str, Any]]  # lines of timeseries.parquet
    histogram: str | None  # the encoded HdrHistogram of the measured window


@dataclass(frozen=True)
class CountedResult:
    row: dict[str, Any]  # one line of counted.parquet
    functions: list[dict[str, Any]]  # lines of functions.parquet: its top functions


@dataclass(frozen=True)
class ProfiledResult:
    row: dict[str, Any]  # one line of profiled.parquet
    functions: list[dict[str, Any]]  # lines of profile_functions.parquet: its top functions
    stacks: list[dict[str, Any]]  # lines of stacks.parquet: every stack it sampled


def new_batch_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(2)


def _write_atomically(frame: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), FORMAT_KEY: str(FORMAT).encode()})
    with replacing(path) as temporary:
        pq.write_table(table, temporary)


def format_of(path: Path) -> int:
    """The results format a parquet file was written in; FormatError for one this lab cannot read."""
    metadata = pq.read_schema(path).metadata or {}
    version = int(metadata.get(FORMAT_KEY, b"1"))
    if version not in READABLE_FORMATS:
        readable = ", ".join(map(str, READABLE_FORMATS))
        raise FormatError(f"{path} is in results format {version}, which this qpslab (formats {readable}) "
                          "cannot read: update qpslab")
    return version


class BatchWriter:
    """Accumulates a batch's runs and rewrites its files after each one."""

    def __init__(self, root: Path, batch: str, info: dict[str, Any]) -> None:
        self.directory = root / batch
        self.directory.mkdir(parents=True, exist_ok=False)
        self.rows: list[dict[str, Any]] = []
        self.seconds: list[dict[str, Any]] = []
        self.histograms: list[dict[str, Any]] = []
        self.counted: list[dict[str, Any]] = []
        self.functions: list[dict[str, Any]] = []
        self.profiled: list[dict[str, Any]] = []
        self.profile_functions: list[dict[str, Any]] = []
        self.stacks: list[dict[str, Any]] = []
        write_atomically(self.directory / BATCH_INFO, json.dumps({"format": FORMAT, **info}, indent=2, default=str))

    def describe(self, info: dict[str, Any]) -> None:
        """batch.json anew (a bisect adds what it found after each commit it tries)."""
        write_atomically(self.directory / BATCH_INFO, json.dumps({"format": FORMAT, **info}, indent=2, default=str))

    def add(self, result: RunResult) -> None:
        _check(result.row, RUN_COLUMNS, "RUN_COLUMNS")
        self.rows.append(result.row)
        self.seconds += result.seconds
        if result.histogram is not None:
            self.histograms.append({"run_id": result.row["run_id"], "histogram": result.histogram})
        # A fixed schema: a failed run lacks most measurements, but never a column.
        _write_atomically(pd.DataFrame(self.rows, columns=list(RUN_COLUMNS)), self.directory / RUNS)
        _write_atomically(pd.DataFrame(self.seconds, columns=list(TIMESERIES_COLUMNS)), self.directory / TIMESERIES)
        _write_atomically(pd.DataFrame(self.histograms, columns=list(HISTOGRAM_COLUMNS)), self.directory / HISTOGRAMS)

    def add_counted(self, result: CountedResult) -> None:
        """A counted run's row and its functions, into files of their own: a count is never read as
        one of the timed rows' figures."""
        _check(result.row, COUNTED_COLUMNS, "COUNTED_COLUMNS")
        for function in result.functions:
            _check(function, FUNCTION_COLUMNS, "FUNCTION_COLUMNS")
        self.counted.append(result.row)
        self.functions += result.functions
        _write_atomically(pd.DataFrame(self.counted, columns=list(COUNTED_COLUMNS)), self.directory / COUNTED)
        _write_atomically(pd.DataFrame(self.functions, columns=list(FUNCTION_COLUMNS)), self.directory / FUNCTIONS)

    def add_profiled(self, result: ProfiledResult) -> None:
        """A profiled run's row, functions and stacks, into files of their own: a run that carried a
        profiler's cost is never read as one of the timed rows."""
        _check(result.row, PROFILED_COLUMNS, "PROFILED_COLUMNS")
        for function in result.functions:
            _check(function, PROFILE_FUNCTION_COLUMNS, "PROFILE_FUNCTION_COLUMNS")
        for stack in result.stacks:
            _check(stack, STACK_COLUMNS, "STACK_COLUMNS")
        self.profiled.append(result.row)
        self.profile_functions += result.functions
        self.stacks += result.stacks
        _write_atomically(pd.DataFrame(self.profiled, columns=list(PROFILED_COLUMNS)), self.directory / PROFILED)
        _write_atomically(pd.DataFrame(self.profile_functions, columns=list(PROFILE_FUNCTION_COLUMNS)),
                          self.directory / PROFILE_FUNCTIONS)
        _write_atomically(pd.DataFrame(self.stacks, columns=list(STACK_COLUMNS)), self.directory / STACKS)


def _check(row: dict[str, Any], columns: dict[str, Column], declared: str) -> None:
    unknown = set(row) - set(columns)
    if unknown:
        raise ValueError(f"row has columns missing from lab.store.columns.{declared}: {sorted(unknown)}")
    mistyped = {name: value for name, value in row.items() if not columns[name].accepts(value)}
    if mistyped:
        raise ValueError(f"row has values of the wrong type for their columns: {mistyped}")


def _is_batch(directory: Path) -> bool:
    """A batch holds timed runs, counted runs, profiled runs, or any of them together
    (`lab compare --instructions --repeats 0` counts only)."""
    return any((directory / name).is_file() for name in (RUNS, COUNTED, PROFILED))


def batches(root: Path = DEFAULT_RESULTS) -> list[Path]:
    """Batch directories holding a runs file, oldest first (batch ids sort by time)."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if _is_batch(p))


def _read(paths: list[Path]) -> pd.DataFrame:
    frames = []
    for path in paths:
        try:
            format_of(path)
            frames.append(pd.read_parquet(path))
        except FormatError:
            raise  # refused, not skipped: a newer lab's results are not damaged files
        except Exception as error:  # a torn or foreign file must not hide every other batch
            warnings.warn(f"skipping {path}: {type(error).__name__}: {error}", stacklevel=3)
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def load(root: Path | str = DEFAULT_RESULTS, batch: str | None = None) -> pd.DataFrame:
    """Every run of every batch under `root` (or of one batch) as one DataFrame, a row per run.

    Columns are RUN_COLUMNS, in order; a batch written before a column existed has it empty."""
    runs = _read(_batch_files(Path(root), batch, RUNS))
    if runs.empty:
        return runs
    extra = [c for c in runs.columns if c not in RUN_COLUMNS]
    return runs.reindex(columns=[*RUN_COLUMNS, *extra])


def load_counted(root: Path | str = DEFAULT_RESULTS, batch: str | None = None) -> pd.DataFrame:
    """The counted runs (lab compare --instructions) of every batch under `root`, or of one batch;
    empty where none was counted. Columns are COUNTED_COLUMNS, in order."""
    counted = _read(_batch_files(Path(root), batch, COUNTED))
    return counted.reindex(columns=list(COUNTED_COLUMNS)) if not counted.empty else counted


def load_profiled(root: Path | str = DEFAULT_RESULTS, batch: str | None = None) -> pd.DataFrame:
    """The profiled runs (lab compare --profile) of every batch under `root`, or of one batch;
    empty where none was profiled. Columns are PROFILED_COLUMNS, in order."""
    profiled = _read(_batch_files(Path(root), batch, PROFILED))
    return profiled.reindex(columns=list(PROFILED_COLUMNS)) if not profiled.empty else profiled


def load_profile_functions(root: Path | str = DEFAULT_RESULTS, batch: str | None = None) -> pd.DataFrame:
    return _read(_batch_files(Path(root), batch, PROFILE_FUNCTIONS))


def load_stacks(root: Path | str = DEFAULT_RESULTS, batch: str | None = None) -> pd.DataFrame:
    return _read(_batch_files(Path(root), batch, STACKS))


def load_functions(root: Path | str = DEFAULT_RESULTS, batch: str | None = None) -> pd.DataFrame:
    return _read(_batch_files(Path(root), batch, FUNCTIONS))


def load_timeseries(root: Path | str = DEFAULT_RESULTS, batch: str | None = None) -> pd.DataFrame:
    return _read(_batch_files(Path(root), batch, TIMESERIES))


def load_histograms(root: Path | str = DEFAULT_RESULTS, batch: str | None = None) -> pd.DataFrame:
    return _read(_batch_files(Path(root), batch, HISTOGRAMS))


def _batch_files(root: Path, batch: str | None, name: str) -> list[Path]:
    """The file `name` of every batch, or of one; a batch may lack it (it counted nothing, or
    timed nothing), but must itself exist."""
    if batch is None:
        return [b / name for b in batches(root) if (b / name).is_file()]
    if not _is_batch(root / batch):
        raise FileNotFoundError(f"no batch {batch!r} under {root} (no {root / batch / RUNS})")
    path = root / batch / name
    return [path] if path.is_file() else []


def latest_batch(root: Path | str = DEFAULT_RESULTS) -> str | None:
    found = batches(Path(root))
    return found[-1].name if found else None
