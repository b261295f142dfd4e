"""The run record's typed parts (lab.model.record) against the declared columns: every column is
made by exactly one part, and a part's field is a column of the type declared for it."""

from __future__ import annotations

import typing
from dataclasses import fields

import pytest

from lab.drivers.wrk import LATENCY
from lab.model import record
from lab.model.record import PARTS, Ending, Latency, Verification
from lab.store.columns import RUN_COLUMNS

_PYTHON_TYPES = {"string": str, "int": int, "float": float, "bool": bool}


def test_every_column_is_made_by_exactly_one_part() -> None:
    made = [field.name for part in PARTS for field in fields(part)]
    assert sorted(made) == sorted(RUN_COLUMNS), set(made) ^ set(RUN_COLUMNS)


@pytest.mark.parametrize("part", PARTS, ids=lambda part: part.__name__)
def test_a_part_s_fields_have_their_column_s_type(part: type) -> None:
    hints = typing.get_type_hints(part)
    for field in fields(part):
        declared = _PYTHON_TYPES[RUN_COLUMNS[field.name].dtype]
        assert declared in typing.get_args(hints[field.name]) or hints[field.name] is declared, field.name


def test_a_row_is_its_parts_and_a_column_filled_twice_is_refused() -> None:
    assert record.row(Verification("u", True, None), Ending(None, 0)) == {
        "url": "u", "verified": True, "verify_problems": None, "error": None, "server_exit_code": 0}
    with pytest.raises(ValueError, match=r"^column 'error' filled twice \(by Ending\)$"):
        record.row(Ending("a", 1), Ending("b", 2))


def test_wrk_reads_every_latency_column() -> None:
    assert list(LATENCY) == [field.name for field in fields(Latency)]
