"""Tables as the report shows them, in memory: headers a person writes, numbers with separators
and a fitting precision, a dash where nothing applies."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from lab.analysis.diff import PER_REFERENCE, Change
from lab.analysis.present import (
    MISSING,
    as_html,
    bottleneck_text,
    change_cells,
    header,
    number,
    percent,
    show,
    summary_text,
)
from lab.analysis.summary import summarize
from tests.lab.analysis.test_diff import BASE_CPU, BASE_QPS, runs
from tests.lab.analysis.test_diff_counted import counted


@pytest.mark.parametrize(("column", "expected"), [
    ("cpu_us_per_request", "CPU µs per request"), ("qps", "QPS"), ("speedup_at_least", "speedup (at least)"),
    ("target_label", "stage / target"), ("kib_per_connection", "KiB per connection"),
    ("server_rss_peak_bytes", "server RSS peak bytes"), ("p50 µs", "p50 µs"),
])
def test_headers_read_as_a_person_writes_them(column: str, expected: str) -> None:
    assert header(column) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (93304.33, "93,304"), (1234, "1,234"), (123.4, "123"), (100.0, "100"), (99.96, "100.0"), (12.34, "12.3"),
    (10.0, "10.0"), (9.996, "10.00"), (1.234, "1.23"), (0.0, "0.00"),
    (-2.5, "-2.50"), (math.nan, MISSING), (None, MISSING), (pd.NA, MISSING), (True, "yes"), (False, "no"),
    ("pass", "pass"),
])
def test_numbers_have_separators_and_a_fitting_precision(value: object, expected: str) -> None:
    assert number(value) == expected


def test_a_table_has_no_index_no_nan_and_its_headers() -> None:
    frame = pd.DataFrame({"qps": [93304.3, math.nan], "cpu_us_per_request": [8.71, 13.5], "stage": [0, 4]},
                         index=[7, 9])
    rendered = show(frame, {"stage": "roadmap stage"})
    assert not isinstance(rendered, str)
    html = rendered.to_html()
    assert "NaN" not in html and "nan" not in html and f">{MISSING}<" in html
    assert ">QPS<" in html and ">CPU µs per request<" in html and ">roadmap stage<" in html
    assert ">93,304<" in html and ">8.71<" in html and ">7<" not in html  # the index is hidden
    assert "word-break: normal" in html and "max-width: 100%" in html  # it wraps inside the page
    assert as_html(rendered) == html and as_html(show(frame.iloc[:0])) == "nothing to show for this batch"
    assert show(pd.DataFrame()) == "nothing to show for this batch"


def test_a_fixed_precision_and_a_percent() -> None:
    assert (number(1234.5, 0), number(12.25, 1), number(7, 2), number(None, 0)) == ("1,234", "12.2", "7.00", MISSING)
    assert (percent(0.0421), percent(-0.5, 0), percent(None), percent(math.nan)) == ("+4.2%", "-50%", MISSING, MISSING)


@pytest.mark.parametrize(("row", "text"), [
    ({"bottleneck": "users", "qps": 0.5, "users": 1}, "users: 1 user ÷ 2,000.00 ms each"),
    ({"bottleneck": "users", "qps": 0.0, "users": 10}, "users"),  # nothing served: no cycle to tell
    ({"bottleneck": "users", "qps": 100.0, "users": 0}, "users"),
    ({"bottleneck": "generator", "qps": 100.0, "users": 10}, "generator (saturated)"),
    ({"bottleneck": "server", "qps": 100.0, "users": 10}, "server"),
    ({"bottleneck": "generator-bound", "qps": 100.0, "users": 10}, "generator-bound"),  # an old batch's label
    ({"bottleneck": None, "qps": 100.0, "users": 10}, MISSING),
])
def test_what_held_a_row_in_words(row: dict[str, object], text: str) -> None:
    assert bottleneck_text(pd.Series(row)) == text


def test_a_change_s_cells_say_what_was_not_tested() -> None:
    untested = Change("s", "plaintext", "server_cpu_us_per_request", 12.0, 15.0, 0.25, None, None, None,
                      "cannot tell: generator-bound", base_rate=1_000.0, new_rate=None)
    assert change_cells(untested) == ("s", "plaintext", "server_cpu_us_per_request", "12.0", "15.0", "+25.0%",
                                      MISSING, MISSING, MISSING, "cannot tell: generator-bound")
    unlevelled = Change("s", "plaintext", "qps", 10.0, 11.0, 0.1, 0.05, 0.15, 0.008, "better", None, 0.05,
                        PER_REFERENCE, 10.0, 11.0)
    assert change_cells(unlevelled)[5:9] == ("+10.0% per cal.", "+5.0% … +15.0%", "±5.0%", "0.008")


def test_the_summary_shows_a_count_s_own_interval() -> None:
    timed = runs("stage4", BASE_QPS, BASE_CPU, target_rate=None, stage=4, failures=0, verified=True)
    one = summary_text(summarize(timed, counted("stage4", [99.6])))  # five timed runs, one count
    assert list(one["instructions/req"]) == ["100"]  # no interval from one count; no decimals
    three = summary_text(summarize(timed.head(1), counted("stage4", [99.6, 98.2, 101.4])))
    assert list(three["instructions/req"]) == ["100 [98–101]"]
