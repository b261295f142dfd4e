"""Tables and figures for the notebooks and `lab report`: one batch, measured next to the roadmap.

Notebooks stay thin (open a batch, call these, explain), so the same figures serve both; they
import this package as `a` and use the names below.
"""

from lab.analysis.batch import BASE_ENV, BATCH_ENV, NO_RESULTS, RESULTS_ENV, Batch, open_batch, results_root
from lab.analysis.diff import compare
from lab.analysis.figures import (
    cpu_figure,
    diff_figure,
    distribution_figure,
    heatmap_figure,
    latency_vs_load_figure,
    percentile_figure,
    qps_figure,
    server_seconds_figure,
    speedup_figure,
    timeseries_figure,
)
from lab.analysis.present import diff_markdown, notes, show
from lab.analysis.summary import equal_load_table
from lab.analysis.tables import (
    calibration_table,
    criteria_table,
    industry_table,
    latency_floor_table,
    matrix,
    spread_table,
    stage_table,
)

__all__ = [
    "BASE_ENV", "BATCH_ENV", "NO_RESULTS", "RESULTS_ENV", "Batch", "calibration_table", "compare",
    "cpu_figure", "criteria_table", "diff_figure", "diff_markdown", "distribution_figure", "equal_load_table",
    "heatmap_figure", "industry_table", "latency_floor_table", "latency_vs_load_figure", "matrix", "notes",
    "open_batch", "percentile_figure", "qps_figure", "results_root", "server_seconds_figure", "show",
    "speedup_figure", "spread_table", "stage_table", "timeseries_figure",
]
