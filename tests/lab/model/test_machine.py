"""The machine facts are declared once (lab.model.machine) and every list of them derives from it."""

from __future__ import annotations

from dataclasses import fields

import pandas as pd

from lab.analysis.diff import machine_differences
from lab.model.machine import COMPARED, FACTS
from lab.model.record import Machine
from lab.run.environment import environment
from lab.store.columns import RUN_COLUMNS


def test_the_record_the_columns_and_the_environment_hold_the_registry_s_facts() -> None:
    names = [fact.name for fact in FACTS]
    assert [field.name for field in fields(Machine)] == names
    assert all(name in RUN_COLUMNS for name in names)
    assert RUN_COLUMNS["cpu_count"].dtype == "int" and RUN_COLUMNS["greenlet_version"].dtype == "string"
    machine = environment()
    for fact in FACTS:
        if fact.package:  # read from the installed distribution, as the registry names it
            assert getattr(machine, fact.name) not in ("", "not installed"), fact.name


def test_lab_diff_warns_of_every_compared_fact() -> None:
    assert {"greenlet_version", "orjson_version", "valgrind_version"} <= set(COMPARED)
    assert "git_commit" not in COMPARED  # a new commit is what a diff is for
    base = pd.DataFrame({"greenlet_version": ["3.0.1"], "orjson_version": ["3.9"], "git_commit": ["a"]})
    new = pd.DataFrame({"greenlet_version": ["3.1.0"], "orjson_version": ["3.9"], "git_commit": ["b"]})
    assert machine_differences(base, new) == ["greenlet_version 3.0.1 → 3.1.0"]
