"""The results files' columns as declared once (lab.store.columns): docs/results.md shows exactly
those, and a column refuses a value of another type."""

from __future__ import annotations

import subprocess
import sys

import pytest

from lab.store.columns import BOOL, FLOAT, INT, RUN_COLUMNS, STRING, Column, column_tables
from tests.conftest import REPO


def test_the_readme_holds_the_tables_generated_from_the_declarations() -> None:
    tables = column_tables()
    # runs, timeseries, histograms, counted, functions; profiled (beyond runs'), its functions, stacks
    assert tables.count("| `") == 96 + 11 + 2 + 35 + 6 + 4 + 7 + 3
    assert "| `latency_p99_us` | float | µs | 99th percentile |\n" in tables
    assert tables.startswith("**runs.parquet**\n\n| column | type | unit | meaning |\n|---|---|---|---|\n| `batch` |")
    assert "\n\n**timeseries.parquet**\n\n" in tables and "(lab.model.hdr.decode) |\n\n**counted.parquet**" in tables
    assert "(a call into itself counted once) |\n\n**profiled.parquet**\n\nEvery column of runs.parquet" in tables
    assert tables.endswith("how many of the run's samples were this stack |\n")
    assert tables in (REPO / "docs" / "results.md").read_text(), (
        "docs/results.md's column tables differ from lab/store/columns.py: paste `python -m lab.store.columns` "
        "over them")


def test_the_module_prints_the_tables() -> None:
    printed = subprocess.run([sys.executable, "-m", "lab.store.columns"], capture_output=True, text=True, check=True)
    assert printed.stdout == column_tables()


@pytest.mark.parametrize(("dtype", "good", "bad"), [
    (INT, [0, 3, None], [1.5, "3", True]),
    (FLOAT, [0, 2.5, None], ["2.5", False]),
    (BOOL, [True, False, None], [1, "true"]),
    (STRING, ["x", "", None], [1, b"x", True]),
])
def test_a_column_accepts_its_type_and_refuses_others(dtype: str, good: list[object], bad: list[object]) -> None:
    column = Column("c", dtype, "", "")  # type: ignore[arg-type]
    assert all(column.accepts(value) for value in good)
    assert not any(column.accepts(value) for value in bad)


def test_every_run_column_has_a_meaning_and_units_are_not_in_the_prose_twice() -> None:
    for column in RUN_COLUMNS.values():
        assert column.meaning
        if column.unit == "µs":
            assert not column.meaning.endswith(", µs"), column.name
