"""What `lab scenarios` and `lab results` print: the scenario files and the batches, as tables."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape
from rich.table import Table

from lab.scenario_file import ScenarioError, load_scenario, scenario_files
from lab.store.results import batches, load


def scenarios_table(directory: Path | None = None) -> tuple[Table, int]:
    """Every scenario file with its load and requests; an invalid one shows its error. Returns
    the table and how many files are invalid."""
    table = Table(title="scenarios/ (add a .toml file to add one)", title_justify="left")
    for column in ("id", "default", "users", "duration", "wait", "client", "requests", "description"):
        table.add_column(column)
    invalid = 0
    for path in scenario_files() if directory is None else scenario_files(directory):
        try:
            s = load_scenario(path)
        except ScenarioError as error:
            invalid += 1
            table.add_row(path.stem, "", "", "", "", "", "", f"[red]invalid: {escape(str(error))}[/red]")
            continue
        table.add_row(s.id, "yes" if s.default else "", str(s.load.users),
                      f"{s.load.warmup:g}s + {s.load.duration:g}s", s.load.wait.kind, s.load.client,
                      ", ".join(f"{r.name} ×{r.weight}" for r in s.requests), s.description)
    return table, invalid


def batches_table(root: Path) -> Table | None:
    """One line per batch under `root`, oldest first; None when there is none."""
    found = batches(root)
    if not found:
        return None
    table = Table(title=f"batches in {root}/", title_justify="left")
    for column in ("batch", "runs", "failed", "targets", "scenarios"):
        table.add_column(column)
    for path in found:
        runs = load(root, path.name)
        failed = int(runs["error"].notna().sum()) if "error" in runs else 0
        table.add_row(path.name, str(len(runs)), str(failed), ", ".join(dict.fromkeys(runs["target_label"])),
                      ", ".join(dict.fromkeys(runs["scenario"])))
    return table
