"""Batches of runs on disk: results/<batch>/{runs,timeseries,histograms}.parquet and batch.json.

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
from lab.store.columns import HISTOGRAM_COLUMNS, RUN_COLUMNS, TIMESERIES_COLUMNS

RUNS = "runs.parquet"
TIMESERIES = "timeseries.parquet"
HISTOGRAMS = "histograms.parquet"
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
        write_atomically(self.directory / BATCH_INFO, json.dumps({"format": FORMAT, **info}, indent=2, default=str))

    def add(self, result: RunResult) -> None:
        unknown = set(result.row) - set(RUN_COLUMNS)
        if unknown:
            raise ValueError(f"run row has columns missing from lab.store.columns.RUN_COLUMNS: {sorted(unknown)}")
        mistyped = {name: value for name, value in result.row.items() if not RUN_COLUMNS[name].accepts(value)}
        if mistyped:
            raise ValueError(f"run row has values of the wrong type for their columns: {mistyped}")
        self.rows.append(result.row)
        self.seconds += result.seconds
        if result.histogram is not None:
            self.histograms.append({"run_id": result.row["run_id"], "histogram": result.histogram})
        # A fixed schema: a failed run lacks most measurements, but never a column.
        _write_atomically(pd.DataFrame(self.rows, columns=list(RUN_COLUMNS)), self.directory / RUNS)
        _write_atomically(pd.DataFrame(self.seconds, columns=list(TIMESERIES_COLUMNS)), self.directory / TIMESERIES)
        _write_atomically(pd.DataFrame(self.histograms, columns=list(HISTOGRAM_COLUMNS)), self.directory / HISTOGRAMS)


def batches(root: Path = DEFAULT_RESULTS) -> list[Path]:
    """Batch directories holding a runs file, oldest first (batch ids sort by time)."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if (p / RUNS).is_file())


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


def load_timeseries(root: Path | str = DEFAULT_RESULTS, batch: str | None = None) -> pd.DataFrame:
    return _read(_batch_files(Path(root), batch, TIMESERIES))


def load_histograms(root: Path | str = DEFAULT_RESULTS, batch: str | None = None) -> pd.DataFrame:
    return _read(_batch_files(Path(root), batch, HISTOGRAMS))


def _batch_files(root: Path, batch: str | None, name: str) -> list[Path]:
    if batch is None:
        return [b / name for b in batches(root) if (b / name).is_file()]
    path = root / batch / name
    if not path.is_file():
        raise FileNotFoundError(f"no batch {batch!r} under {root} (no {path})")
    return [path]


def latest_batch(root: Path | str = DEFAULT_RESULTS) -> str | None:
    found = batches(Path(root))
    return found[-1].name if found else None
