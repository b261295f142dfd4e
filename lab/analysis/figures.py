"""The notebooks' figures, made without pyplot so that nothing is shown twice or kept alive by a
global figure registry. Each takes a Batch (or a diff's changes) and returns a Figure."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from hdrh.histogram import HdrHistogram
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from lab.analysis.batch import Batch
from lab.analysis.diff import Change
from lab.analysis.roadmap import BASELINE_QPS, ROADMAP, roadmap_table
from lab.analysis.tables import matrix, stage_table
from lab.model import hdr
from lab.model.bottleneck import FLOORS, prevailing

GENERATOR_HATCH = "//"


def _finish(fig: Figure, ax: Axes, xlabel: str, ylabel: str, title: str) -> Figure:
    """Every figure's last step: labelled axes (with units), a title, a small legend."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def _log_axis(axis: Axis) -> None:
    """Log scale with readable ticks (1, 2, 5 × 10^n as plain numbers, not 10^n alone)."""
    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}" if value >= 1 else f"{value:g}"))
    axis.set_minor_formatter(NullFormatter())


def _stage_order(runs: pd.DataFrame) -> list[str]:
    """Stages in order (each followed by its ablations), then peers and external targets."""
    return sorted(runs["target_label"].unique(),
                  key=lambda label: (not label.startswith("stage"), label.split()[0], label))


def qps_figure(batch: Batch) -> Figure:
    """QPS by stage for each scenario; roadmap targets as markers; generator-bound runs hatched."""
    runs = batch.good_runs
    scenarios = list(dict.fromkeys(runs["scenario"]))
    labels = _stage_order(runs)
    fig = Figure(figsize=(10, 5))
    ax = fig.subplots()
    width = 0.8 / max(len(scenarios), 1)
    x = np.arange(len(labels))
    for i, scenario in enumerate(scenarios):
        sub = runs[runs["scenario"] == scenario].groupby("target_label")
        qps = sub["qps"].median().reindex(labels)
        saturated = sub["bottleneck"].agg(lambda s: prevailing(s) in FLOORS).reindex(labels).fillna(False)
        bars = ax.bar(x + i * width - 0.4 + width / 2, qps.to_numpy(), width, label=scenario)
        for bar, sat in zip(bars, saturated, strict=True):
            if sat:
                bar.set_hatch(GENERATOR_HATCH)
    targets = {f"stage{s.stage}": s.qps_target for s in ROADMAP}
    marks = [(i, targets[label]) for i, label in enumerate(labels) if label in targets]
    if marks:
        ax.scatter([m[0] for m in marks], [m[1] for m in marks], marker="_", s=600, color="black", zorder=3,
                   label="roadmap target")
    ax.set_yscale("log")
    _log_axis(ax.yaxis)
    ax.set_xticks(x, labels, rotation=20)
    ax.set_ylabel("requests per second (log scale)")
    ax.set_xlabel("server")
    ax.set_title("QPS by stage (hatched: load generator saturated, the bar is a floor)")
    ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def speedup_figure(batch: Batch) -> Figure:
    """Measured speedup over stage 0 per scenario next to the roadmap's reported speedups. Only
    server-bound ratios are points on a line; where the stage's QPS was generator-bound the ratio
    is a floor, drawn as an open triangle pointing up; with a generator-bound stage 0, none."""
    runs = batch.good_runs
    runs = runs[runs["stage"].notna()]
    fig = Figure(figsize=(9, 5))
    ax = fig.subplots()
    for index, scenario in enumerate(dict.fromkeys(runs["scenario"])):
        table = stage_table(batch, scenario)
        if table.empty:
            continue
        color = f"C{index}"
        ax.plot(table["stage"], table["speedup"], marker="o", color=color, label=f"measured: {scenario}")
        floors = table[table["speedup_at_least"].notna()]
        if not floors.empty:
            ax.scatter(floors["stage"], floors["speedup_at_least"], marker="^", facecolors="none", edgecolors=color,
                       s=80, label=f"at least (generator-bound): {scenario}")
    table = roadmap_table()
    ax.plot(table["stage"], table["speedup_reported"], marker="s", color="black", linestyle="--", label="roadmap")
    ax.set_yscale("log")
    _log_axis(ax.yaxis)
    ax.set_xticks(table["stage"])
    return _finish(fig, ax, "stage", "speedup over stage 0 (×, log scale)",
                   f"Speedup over the baseline (roadmap baseline: {BASELINE_QPS:.0f} QPS)")


def _histograms(batch: Batch, scenario: str) -> dict[str, HdrHistogram]:
    """Each target's latency histogram in one scenario, merged over its runs (repeats)."""
    runs = batch.good_runs
    runs = runs[runs["scenario"] == scenario]
    encoded = batch.histograms.set_index("run_id")["histogram"] if not batch.histograms.empty else pd.Series()
    merged = {}
    for label in _stage_order(runs):
        histogram = hdr.merge(encoded[i] for i in runs[runs["target_label"] == label]["run_id"] if i in encoded.index)
        if histogram.get_total_count():
            merged[label] = histogram
    return merged


def percentile_figure(batch: Batch, scenario: str) -> Figure:
    """HdrHistogram-style latency by percentile for every target in one scenario, log-log."""
    fig = Figure(figsize=(9, 5))
    ax = fig.subplots()
    percentiles = np.array([50, 75, 90, 95, 99, 99.5, 99.9, 99.95, 99.99])
    for label, histogram in _histograms(batch, scenario).items():
        values = [histogram.get_value_at_percentile(p) for p in percentiles]
        ax.plot(1 / (1 - percentiles / 100), values, marker=".", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    _log_axis(ax.yaxis)
    ticks = 1 / (1 - percentiles / 100)
    ax.set_xticks(ticks, [f"{p:g}%" for p in percentiles], rotation=45)
    ax.minorticks_off()
    return _finish(fig, ax, "percentile", "latency (µs, log scale)", f"Latency by percentile — {scenario}")


def cpu_figure(batch: Batch) -> Figure:
    """Server CPU µs per request by target and scenario: ranks servers even when locust saturates.
    The hatched top of each bar is the kernel's share (socket calls, loopback TCP): a floor that
    no change to the Python code lowers."""
    total = matrix(batch, "server_cpu_us_per_request")
    fig = Figure(figsize=(10, 5))
    ax = fig.subplots()
    if not total.empty:
        total = total.reindex(_stage_order(batch.good_runs))
        share = matrix(batch, "server_system_cpu_share").reindex(index=total.index, columns=total.columns)
        rates = matrix(batch, "qps").reindex(index=total.index, columns=total.columns)
        positions = np.arange(len(total.index))
        width = 0.8 / len(total.columns)
        for column, scenario in enumerate(total.columns):
            kernel = (total[scenario] * share[scenario]).fillna(0.0)  # batches before the column: no split
            offset = (column - (len(total.columns) - 1) / 2) * width
            ax.bar(positions + offset, total[scenario] - kernel, width, color=f"C{column}", label=scenario)
            ax.bar(positions + offset, kernel, width, bottom=total[scenario] - kernel, color=f"C{column}",
                   alpha=0.5, hatch="//")
            # The load each bar was measured at: CPU per request rises as it falls.
            for x, height, rate in zip(positions + offset, total[scenario], rates[scenario], strict=True):
                if not (math.isnan(height) or math.isnan(rate)):
                    ax.annotate(f"{rate / 1000:,.1f}k/s", (x, height), ha="center", va="bottom", fontsize="x-small",
                                rotation=90, xytext=(0, 2), textcoords="offset points")
        ax.bar([0], [0], color="white", edgecolor="grey", hatch="//", label="of which kernel")
        ax.set_xticks(positions, total.index, rotation=20)
        ax.legend()
    ax.set_ylabel("server CPU per request (µs)")
    ax.set_xlabel("server")
    ax.set_title("Server CPU per request at the load each bar names (lower is better; hatched: in the kernel)")
    fig.tight_layout()
    return fig


def heatmap_figure(batch: Batch, metric: str, title: str, unit: str) -> Figure:
    data = matrix(batch, metric)
    fig = Figure(figsize=(1.8 + 1.6 * max(len(data.columns), 1), 1.2 + 0.6 * max(len(data), 1)))
    ax = fig.subplots()
    if not data.empty:
        data = data.reindex(_stage_order(batch.good_runs))
        image = ax.imshow(data.to_numpy(dtype=float), aspect="auto", cmap="viridis")
        ax.set_xticks(range(len(data.columns)), data.columns, rotation=30, ha="right")
        ax.set_yticks(range(len(data.index)), data.index)
        for (row, col), value in np.ndenumerate(data.to_numpy(dtype=float)):
            if not np.isnan(value):
                ax.text(col, row, f"{value:,.0f}" if value >= 100 else f"{value:.1f}", ha="center", va="center",
                        color="white", fontsize="small")
        fig.colorbar(image, ax=ax, label=unit)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def timeseries_figure(batch: Batch, scenario: str) -> Figure:
    """Per-second QPS and p99 through each run of one scenario; the warm-up is shaded."""
    runs = batch.good_runs
    runs = runs[runs["scenario"] == scenario]
    series = batch.timeseries
    series = series[series["phase"] != "after"]  # the partial second after the window would dip
    fig = Figure(figsize=(10, 6))
    top, bottom = fig.subplots(2, 1, sharex=True)
    for _, run in runs.iterrows():
        seconds = series[series["run_id"] == run["run_id"]]
        label = run["target_label"] + (f" #{run['repeat'] + 1}" if runs["repeat"].max() > 0 else "")
        top.plot(seconds["second"], seconds["requests"], marker=".", label=label)
        bottom.plot(seconds["second"], seconds["latency_p99_us"], marker=".", label=label)
    if not runs.empty:
        warmup = float(runs["warmup_s"].iloc[0])
        for ax in (top, bottom):
            ax.axvspan(0, warmup, color="grey", alpha=0.15, label="warm-up" if ax is top else None)
    top.set_ylabel("requests in that second")
    bottom.set_ylabel("p99 latency (µs)")
    bottom.set_yscale("log")
    _log_axis(bottom.yaxis)
    bottom.set_xlabel("seconds since the run's first request")
    top.set_title(f"Through each run — {scenario}")
    top.legend(fontsize="small", ncol=2)
    fig.tight_layout()
    return fig


SERVER_SECONDS = (("server_rss_bytes", "RSS (MB)", 1e6), ("server_fds", "open descriptors", 1.0),
                  ("server_open_connections", "open connections (/stats)", 1.0))


def server_seconds_figure(batch: Batch, scenario: str) -> Figure:
    """The server through each run of one scenario: memory, descriptors and connections each
    second — a leak is a line that keeps climbing after the (shaded) warm-up."""
    runs = batch.good_runs
    runs = runs[runs["scenario"] == scenario]
    series = batch.timeseries
    fig = Figure(figsize=(10, 7))
    axes = fig.subplots(len(SERVER_SECONDS), 1, sharex=True)
    for _, run in runs.iterrows():
        seconds = series[series["run_id"] == run["run_id"]]
        label = run["target_label"] + (f" #{run['repeat'] + 1}" if runs["repeat"].max() > 0 else "")
        for ax, (column, _, scale) in zip(axes, SERVER_SECONDS, strict=True):
            if column in seconds:
                ax.plot(seconds["second"], seconds[column] / scale, marker=".", label=label)
    if not runs.empty:
        warmup = float(runs["warmup_s"].iloc[0])
        for ax in axes:
            ax.axvspan(0, warmup, color="grey", alpha=0.15)
    for ax, (_, ylabel, _) in zip(axes, SERVER_SECONDS, strict=True):
        ax.set_ylabel(ylabel)
    axes[-1].set_xlabel("seconds since the run's first request")
    axes[0].set_title(f"The server through each run — {scenario}")
    axes[0].legend(fontsize="small", ncol=2)
    fig.tight_layout()
    return fig


def distribution_figure(batch: Batch, scenario: str) -> Figure:
    """Latency distribution (share of requests per log-spaced latency bin) for each target."""
    fig = Figure(figsize=(9, 5))
    ax = fig.subplots()
    for label, histogram in _histograms(batch, scenario).items():
        total = histogram.get_total_count()
        points = [(item.value_iterated_to, item.count_added_in_this_iter_step)
                  for item in histogram.get_log_iterator(1, 2.0)]
        ax.step([p[0] for p in points], [p[1] / total for p in points], where="pre", label=label)
    ax.set_xscale("log")
    _log_axis(ax.xaxis)
    return _finish(fig, ax, "latency (µs, log scale, bins double in width)", "share of requests",
                   f"Latency distribution — {scenario}")


def latency_vs_load_figure(batch: Batch, scenario: str) -> Figure:
    """p99 latency against achieved QPS for each target's --sweep runs (open loop), raw and
    corrected for coordinated omission; the knee is where a server stops keeping up."""
    runs = batch.sweep_runs
    runs = runs[runs["scenario"] == scenario].sort_values("qps")
    fig = Figure(figsize=(9, 5))
    ax = fig.subplots()
    for label in _stage_order(runs):
        own = runs[runs["target_label"] == label]
        line = ax.plot(own["qps"], own["latency_p99_us"], marker="o", label=f"{label} p99")[0]
        ax.plot(own["qps"], own["latency_corrected_p99_us"], marker="x", linestyle="--", color=line.get_color(),
                label=f"{label} p99, corrected")
    ax.set_yscale("log")
    _log_axis(ax.yaxis)
    return _finish(fig, ax, "achieved requests per second", "p99 latency (µs, log scale)",
                   f"Latency versus load — {scenario} (open loop, --sweep)")


# A diff's verdicts as colours: what got better, what got worse, what the repeats cannot separate.
_VERDICT_COLOURS = {"better": "tab:green", "worse": "tab:red", "no significant change": "tab:gray"}


def diff_figure(changes: list[Change], title: str) -> Figure:
    """Each target × scenario × metric's change, in percent, with the changes the diff's test does not
    reject at its level; coloured by verdict (better and worse already account for which way is good).
    Changes the diff cannot judge (too few repeats, generator-bound) are hollow, without interval."""
    fig = Figure(figsize=(9, max(2.5, 0.32 * len(changes) + 1.2)))
    ax = fig.add_subplot()
    labels = [f"{c.target} × {c.scenario}: {c.metric}" for c in changes]
    for y, c in enumerate(changes):
        colour = _VERDICT_COLOURS.get(c.verdict, "tab:gray")
        if c.low is None or c.high is None:
            ax.plot(c.change * 100, y, "o", mfc="none", color=colour)
            continue
        ax.errorbar(c.change * 100, y, xerr=[[(c.change - c.low) * 100], [(c.high - c.change) * 100]], fmt="o",
                    color=colour, capsize=3)
    for verdict, colour in (*_VERDICT_COLOURS.items(), ("cannot tell", "tab:gray")):
        if any(c.verdict.startswith(verdict) for c in changes):
            ax.plot([], [], "o", color=colour, mfc="none" if verdict == "cannot tell" else colour, label=verdict)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_yticks(range(len(changes)), labels, fontsize="small")
    ax.invert_yaxis()  # the diff's order, top to bottom
    return _finish(fig, ax, "change, % (bars: the changes the test does not reject)", "", title)
