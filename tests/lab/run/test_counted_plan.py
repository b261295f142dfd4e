"""Counted runs in memory: where a plan puts them, what the store does with their rows, and
what the command line refuses before any run."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import pytest

from lab.analysis.console import batch_summary
from lab.cli import options
from lab.cli.options import UsageError
from lab.counting import valgrind
from lab.files.scenario_file import load_scenario
from lab.model.target import external_target, stage_target
from lab.paths import SCENARIO_DIR
from lab.run.counted import CountedLoad
from lab.run.measure import Pinning
from lab.run.plan import Plan
from lab.store import results
from lab.store.columns import COUNTED_COLUMNS
from lab.store.results import BatchWriter, CountedResult

PLAINTEXT, JSON = (load_scenario(SCENARIO_DIR / f"{name}.toml") for name in ("plaintext", "json"))


def test_counted_runs_follow_every_timed_run_in_the_same_rotation() -> None:
    plan = Plan((stage_target(0), stage_target(4)), (PLAINTEXT, JSON), 1, Pinning(frozenset({0}), frozenset({1})),
                Path("/nonexistent"), counted_repeats=2, counted_load=CountedLoad(300, 50))
    order = [(r.repeat, r.scenario.id, r.target.label, r.counted is not None) for r in plan.runs()]
    assert order == [
        (0, "plaintext", "stage0", False), (0, "plaintext", "stage4", False),
        (0, "json", "stage0", False), (0, "json", "stage4", False),
        (0, "plaintext", "stage0", True), (0, "plaintext", "stage4", True),
        (0, "json", "stage0", True), (0, "json", "stage4", True),
        (1, "plaintext", "stage4", True), (1, "plaintext", "stage0", True),
        (1, "json", "stage4", True), (1, "json", "stage0", True),
    ]
    assert {r.counted for r in plan.runs() if r.counted} == {CountedLoad(300, 50)}
    assert plan.info()["counted_repeats"] == 2 and plan.info()["counted_requests"] == 300
    only_counted = Plan((stage_target(4),), (PLAINTEXT,), 0, Pinning(frozenset({0}), frozenset({1})),
                        Path("/nonexistent"), calibrate=True, counted_repeats=5)
    assert [r.counted is not None for r in only_counted.runs()] == [True] * 5  # --repeats 0: no calibration either


def _counted_row(run_id: str, value: float | None, error: str | None = None) -> dict[str, object]:
    return {"run_id": run_id, "batch": "b", "target": "stage4", "target_label": "stage4", "scenario": "plaintext",
            "warmup_requests": 500, "server_instructions_per_request": value, "error": error}


def test_a_counted_batch_is_a_batch_and_its_rows_stay_out_of_the_runs(tmp_path: Path) -> None:
    writer = BatchWriter(tmp_path, "b", {"batch": "b"})
    writer.add_counted(CountedResult(_counted_row("c1", 48_951.0), [
        {"run_id": "c1", "rank": 1, "object": "loop.so", "function": "uv_run", "self_instructions_per_request": 55.0,
         "inclusive_instructions_per_request": 48_951.0}]))
    writer.add_counted(CountedResult(_counted_row("c2", None, "valgrind died"), []))
    assert [path.name for path in results.batches(tmp_path)] == ["b"]  # no timed run, still a batch
    counted = results.load_counted(tmp_path, "b")
    assert list(counted.columns) == list(COUNTED_COLUMNS)
    assert list(counted["server_instructions_per_request"].fillna(-1)) == [48_951.0, -1]
    assert list(results.load_functions(tmp_path, "b")["function"]) == ["uv_run"]
    assert results.load(tmp_path, "b").empty  # a count is never a timed row
    with pytest.raises(ValueError, match="wrong type"):
        writer.add_counted(CountedResult({**_counted_row("c3", 1.0), "warmup_requests": "500"}, []))
    with pytest.raises(ValueError, match=r"missing from lab.store.columns.FUNCTION_COLUMNS"):
        writer.add_counted(CountedResult(_counted_row("c4", 1.0), [{"run_id": "c4", "flame": 1}]))
    with pytest.raises(FileNotFoundError, match="no batch 'nope'"):
        results.load_counted(tmp_path, "nope")
    assert results.load_counted(tmp_path).shape[0] == 2
    timed_only = tmp_path / "t"
    BatchWriter(tmp_path, "t", {"batch": "t"}).add(results.RunResult({"run_id": "r", "batch": "t"}, [], None))
    assert results.load_counted(tmp_path, timed_only.name).empty  # counted nothing: no file, no error


def _args(**given: object) -> argparse.Namespace:
    defaults: dict[str, object] = {"instructions": True, "counted_repeats": None, "counted_requests": 2_000}
    return argparse.Namespace(**{**defaults, **given})


def test_what_the_command_line_refuses_before_any_counted_run(monkeypatch: pytest.MonkeyPatch) -> None:
    four = [stage_target(4)]
    monkeypatch.setattr(valgrind, "missing", lambda: None)
    assert options.counted(_args(instructions=False), four, [PLAINTEXT], 1) == (0, CountedLoad())
    assert options.counted(_args(), four, [PLAINTEXT], 1) == (5, CountedLoad(2_000, 500))
    assert options.counted(_args(counted_repeats=3), four, [PLAINTEXT], 1)[0] == 3
    refusals = [
        (_args(instructions=False, counted_repeats=3), four, "--counted-repeats needs --instructions"),
        (_args(counted_repeats=0), four, "--counted-repeats must be >= 1"),
        (_args(counted_requests=0), four, "--counted-requests must be >= 1"),
        (_args(), [external_target("http://127.0.0.1:9")], "external is a running URL"),
    ]
    for args, targets, why in refusals:
        with pytest.raises(UsageError, match=why):
            options.counted(args, targets, [PLAINTEXT], 1)
    monkeypatch.setattr(valgrind, "missing", lambda: "valgrind is not installed: install valgrind (…)")
    with pytest.raises(UsageError, match=r"^--instructions: valgrind is not installed"):
        options.counted(_args(), four, [PLAINTEXT], 1)


def test_valgrind_missing_or_unable_to_attach_is_named_with_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(valgrind.platform, "system", lambda: "Darwin")
    monkeypatch.setattr(valgrind.platform, "machine", lambda: "arm64")
    assert valgrind.missing() == ("valgrind does not run on macOS on Apple silicon: count instructions on a Linux "
                                  "machine")
    monkeypatch.setattr(valgrind.platform, "system", lambda: "Linux")
    monkeypatch.setattr(valgrind.shutil, "which", lambda tool: None if tool == "valgrind" else f"/usr/bin/{tool}")
    assert valgrind.missing() == f"valgrind is not installed: {valgrind.INSTALL}"
    assert "apt-get install valgrind" in valgrind.INSTALL
    monkeypatch.setattr(valgrind.shutil, "which", lambda tool: f"/usr/bin/{tool}")
    monkeypatch.setattr(valgrind, "_ptrace_scope", lambda: 3)
    assert "ptrace_scope is 3: callgrind_control cannot attach" in str(valgrind.missing())
    monkeypatch.setattr(valgrind, "_ptrace_scope", lambda: 1)
    assert valgrind.missing() is None


def test_a_frame_with_counts_only_is_summarized_as_counted() -> None:
    parts = batch_summary(pd.DataFrame(), "b", pd.DataFrame([_counted_row("c1", 48_951.0)]).assign(
        server_syscalls_per_request=7.0))
    assert len(parts) == 2 and "instructions" in str(getattr(parts[0], "title", ""))
    assert batch_summary(pd.DataFrame(), "b") == []
