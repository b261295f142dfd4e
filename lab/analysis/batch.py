"""One batch as the notebooks and `lab report` see it: its tables, and which runs count."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from lab.model.target import CALIBRATION_TARGET
from lab.paths import DEFAULT_RESULTS, REPO
from lab.store import results

NO_RESULTS = "No results yet: run `lab compare` (or `make compare`), then run this notebook again."
BATCH_ENV = "QPSLAB_BATCH"  # which batch the notebooks and `lab report` show
RESULTS_ENV = "QPSLAB_RESULTS"  # where the batches live (default results/ at the repository root)
BASE_ENV = "QPSLAB_BASE"  # the diff notebook's batch before (`lab report NEW --against BASE`)


@dataclass(frozen=True)
class Batch:
    """One batch's tables; empty frames when there is nothing to show (counted and functions:
    when the batch counted no instructions; profiled, profile_functions and stacks: when it
    profiled nothing)."""

    name: str | None
    runs: pd.DataFrame
    timeseries: pd.DataFrame
    histograms: pd.DataFrame
    counted: pd.DataFrame = field(default_factory=pd.DataFrame)
    functions: pd.DataFrame = field(default_factory=pd.DataFrame)
    profiled: pd.DataFrame = field(default_factory=pd.DataFrame)
    profile_functions: pd.DataFrame = field(default_factory=pd.DataFrame)
    stacks: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def good_counts(self) -> pd.DataFrame:
        """Finished counted runs."""
        return self.counted if self.counted.empty else self.counted[self.counted["error"].isna()]

    @property
    def empty(self) -> bool:
        return bool(self.runs.empty)

    @property
    def good_runs(self) -> pd.DataFrame:
        """Finished runs of the servers measured (a --sweep's open-loop runs are in `sweep_runs`,
        the generator's calibration in `calibration_runs`)."""
        if self.runs.empty:
            return self.runs
        runs = self.runs
        return runs[runs["error"].isna() & runs["load_level"].isna() & (runs["target"] != CALIBRATION_TARGET)]

    @property
    def calibration_runs(self) -> pd.DataFrame:
        if self.runs.empty:
            return self.runs
        return self.runs[self.runs["error"].isna() & (self.runs["target"] == CALIBRATION_TARGET)]

    @property
    def sweep_runs(self) -> pd.DataFrame:
        if self.runs.empty:
            return self.runs
        return self.runs[self.runs["error"].isna() & self.runs["load_level"].notna()]


def results_root() -> Path:
    return Path(os.environ.get(RESULTS_ENV, REPO / DEFAULT_RESULTS))


def open_batch(name: str | None = None, root: Path | None = None) -> Batch:
    """The named batch (an id under `root`, or a batch's directory), else $QPSLAB_BATCH, else the
    newest; an empty Batch if there is none."""
    root = root or results_root()
    name = name or os.environ.get(BATCH_ENV) or results.latest_batch(root)
    if name is not None and os.sep in name and Path(name).is_dir():
        root, name = Path(name).resolve().parent, Path(name).resolve().name
    if name is None:
        empty = pd.DataFrame()
        return Batch(None, empty, empty, empty)
    return Batch(name, results.load(root, name), results.load_timeseries(root, name),
                 results.load_histograms(root, name), results.load_counted(root, name),
                 results.load_functions(root, name), results.load_profiled(root, name),
                 results.load_profile_functions(root, name), results.load_stacks(root, name))
