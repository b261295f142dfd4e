"""What `lab scenarios`, `lab targets` and `lab results` print: the files and the batches, as tables."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from lab.files.scenario_file import load_scenario, scenario_files
from lab.files.target_file import load_target, target_files, unavailable
from lab.files.toml_file import FileError
from lab.paths import SCENARIO_DIR, TARGET_DIR
from lab.store.results import batches, load


def _files_table(title: str, columns: tuple[str, ...], paths: list[Path],
                 row: Callable[[Path], tuple[str, ...]]) -> tuple[Table, int]:
    """One line per file, made by `row`; a file that does not load shows its error in the last
    column. Returns the table and how many files are invalid."""
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    invalid = 0
    for path in paths:
        try:
            cells = row(path)
        except FileError as error:
            invalid += 1
            cells = (path.stem, *[""] * (len(columns) - 2), f"[red]invalid: {escape(str(error))}[/red]")
        table.add_row(*cells)
    return table, invalid


def _scenario_row(path: Path) -> tuple[str, ...]:
    s = load_scenario(path)
    return (s.id, "yes" if s.default else "", str(s.load.users), f"{s.load.warmup:g}s + {s.load.duration:g}s",
            s.load.wait.kind, s.load.client, ", ".join(f"{r.name} ×{r.weight}" for r in s.requests), s.description)


def scenarios_table(directory: Path = SCENARIO_DIR) -> tuple[Table, int]:
    """Every scenario file with its load and requests, and how many files are invalid."""
    return _files_table("scenarios/ (add a .toml file to add one)",
                        ("id", "default", "users", "duration", "wait", "client", "requests", "description"),
                        scenario_files(directory), _scenario_row)


def _target_row(path: Path) -> tuple[str, ...]:
    file = load_target(path)
    reason = unavailable(file)  # runs its check: what `lab compare --with` would refuse
    here = "[green]ready[/green]" if reason is None else f"[yellow]{escape(reason)}[/yellow]"
    return file.name, here, escape(" ".join(file.target.command)), escape(file.description)


def targets_table(directory: Path = TARGET_DIR) -> tuple[Table, int]:
    """Every target file with its command and whether it can run here (its install hint when
    not), and how many files are invalid."""
    return _files_table("targets/ (add a .toml file to measure your own server: lab compare --with NAME)",
                        ("name", "here", "command", "description"), target_files(directory), _target_row)


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
