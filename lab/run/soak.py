"""A soak: a target held at a fraction of its capacity for a long time, beside hostile clients,
judged on what a long run shows and a short one cannot (lab.run.stability)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from lab.model.scenario import Scenario
from lab.model.target import Target
from lab.run.environment import environment
from lab.run.measure import Pinning, measure
from lab.run.stability import soak_verdict
from lab.store.results import BatchWriter, RunResult, new_batch_id

# Seconds of the closed-loop run that finds the capacity the soak's rate is a fraction of.
CAPACITY_DURATION_S = 5.0
CAPACITY_WARMUP_S = 2.0


def capacity_scenario(scenario: Scenario) -> Scenario:
    """The soak's requests as a short closed loop without the hostile clients: the rate to hold."""
    load = replace(scenario.load, duration=CAPACITY_DURATION_S, warmup=CAPACITY_WARMUP_S, slow_clients=0)
    return replace(scenario, id=f"{scenario.id}-capacity", load=load)


def soak(target: Target, scenario: Scenario, pinning: Pinning, root: Path, *, level: float, rate: float | None,
         argv: list[str], console: Console) -> str | None:
    """Find the capacity (unless `rate` is given), then hold `level` of it for the scenario's
    duration; both runs go into one batch, the soak's row with its verdict, which is returned
    (None when the capacity run failed and there was no soak)."""
    batch = new_batch_id()
    writer = BatchWriter(root, batch, {"batch": batch, "command": argv, "kind": "soak", "target": target.label,
                                       "scenario": scenario.id, "level": level, "rate": rate,
                                       **pinning.record(), **environment()})
    level_of_capacity = level if rate is None else None  # a rate given is no fraction of anything
    if rate is None:
        console.print(f"capacity: {target.label} × {scenario.id}, closed loop, {CAPACITY_DURATION_S:.0f} s")
        found = measure(target, capacity_scenario(scenario), pinning, batch=batch, repeat=0)
        writer.add(found)
        row = found.row
        if row["error"] or not row["qps"]:
            console.print(f"[red]✗ the capacity run failed: {row['error'] or 'no requests'}[/red]")
            console.print(f"results: {writer.directory}")
            return None
        floor = " (a floor: the generator was saturated)" if row["bottleneck"] == "generator" else ""
        console.print(f"✓ capacity {row['qps']:,.0f} req/s{floor}")
        rate = level * row["qps"]
    loaded = scenario.at_rate(rate)
    console.print(f"soak: {rate:,.0f} req/s for {scenario.load.duration:,.0f} s (after {scenario.load.warmup:,.0f} s "
                  f"of warm-up) beside {scenario.load.slow_clients} hostile clients ({scenario.load.slow_kind})")
    result = measure(target, loaded, pinning, batch=batch, repeat=0, load_level=level_of_capacity,
                     settle=True)
    result.row["soak_verdict"] = soak_verdict(result.row)
    writer.add(result)
    console.print(soak_table(result))
    console.print(f"results: {writer.directory}")
    verdict: str = result.row["soak_verdict"]
    return verdict


def soak_table(result: RunResult) -> Table:
    row: dict[str, Any] = result.row
    table = Table(title=f"soak of {row['target_label']}: {row['soak_verdict']}", title_justify="left")
    table.add_column("measure")
    table.add_column("value", justify="right")

    def number(value: Any, fmt: str) -> str:
        return "–" if value is None else format(value, fmt)

    for name, value in (
        ("real load: req/s (asked)", f"{number(row.get('qps'), ',.0f')} ({number(row.get('target_rate'), ',.0f')})"),
        ("real load: failed requests", number(row.get("failures"), ",")),
        ("p99 µs, whole window", number(row.get("latency_p99_us"), ",.0f")),
        ("p99 drift, end vs start", number(row.get("latency_p99_drift"), "+.1%")),
        ("RSS growth after the warm-up", number(row.get("server_rss_growth"), "+.2%")),
        ("descriptors: idle → growth → after", f"{number(row.get('server_fds_idle'), ',')} → "
                                               f"{number(row.get('server_fds_growth'), '+,.0f')} → "
                                               f"{number(row.get('server_fds_after'), ',')}"),
        ("hostile connections opened", number(row.get("slow_clients_opened"), ",")),
    ):
        table.add_row(name, value)
    if row.get("error"):
        table.add_row("error", str(row["error"]))
    return table
