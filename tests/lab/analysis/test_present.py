"""Tables as the report shows them, in memory: headers a person writes, numbers with separators
and a fitting precision, a dash where nothing applies."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from lab.analysis.present import MISSING, header, number, show


@pytest.mark.parametrize(("column", "expected"), [
    ("cpu_us_per_request", "CPU µs per request"), ("qps", "QPS"), ("speedup_at_least", "speedup (at least)"),
    ("target_label", "stage / target"), ("kib_per_connection", "KiB per connection"),
    ("server_rss_peak_bytes", "server RSS peak bytes"), ("p50 µs", "p50 µs"),
])
def test_headers_read_as_a_person_writes_them(column: str, expected: str) -> None:
    assert header(column) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (93304.33, "93,304"), (1234, "1,234"), (123.4, "123"), (12.34, "12.3"), (1.234, "1.23"), (0.0, "0.00"),
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
    assert show(pd.DataFrame()) == "nothing to show for this batch"
