"""How the notebooks and the report show a table to a person: headers a person would write,
numbers with thousands separators and a precision that fits them, a dash where a value does not
apply, no index column, and a width that wraps instead of scrolling sideways."""

from __future__ import annotations

import math
import numbers
import re

import pandas as pd
from pandas.io.formats.style import Styler

# What does not apply (NaN, None): a dash, never "NaN".
MISSING = "–"
# Headers the word rules below would not get right.
HEADERS = {
    "target_label": "stage / target",
    "qps": "QPS",
    "speedup_at_least": "speedup (at least)",
    "roadmap_qps": "roadmap QPS",
    "rate": "asked req/s",
    "runs": "runs",
}
# One word of a column name, as a header writes it.
_WORDS = {"qps": "QPS", "cpu": "CPU", "us": "µs", "rss": "RSS", "fds": "descriptors", "p999": "p99.9",
          "kib": "KiB", "mib": "MiB", "mb": "MB"}
# Text wraps inside the page's width; cells and headers are kept compact.
_STYLE = [
    {"selector": "", "props": [("font-size", "0.85em"), ("border-collapse", "collapse"), ("max-width", "100%")]},
    {"selector": "th, td", "props": [("padding", "2px 8px"), ("white-space", "normal"), ("word-break", "normal")]},
    {"selector": "th", "props": [("text-align", "left"), ("border-bottom", "1px solid #888")]},
]


def header(column: object) -> str:
    """A column name as a person would write it: `cpu_us_per_request` → "CPU µs per request"."""
    name = str(column)
    if name in HEADERS:
        return HEADERS[name]
    words = [_WORDS.get(word, word) for word in re.split(r"_+", name) if word]
    return " ".join(words) or name


def number(value: object) -> str:
    """One cell: thousands separators from 100 up, one decimal from 10, two below; yes/no; a dash
    for what does not apply."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if isinstance(value, numbers.Real):
        magnitude = abs(float(value))
        if magnitude >= 100:
            return f"{float(value):,.0f}"
        if magnitude >= 10:
            return f"{float(value):.1f}"
        return f"{float(value):.2f}"
    return str(value)


def show(frame: pd.DataFrame, headers: dict[str, str] | None = None) -> Styler | str:
    """The table as the notebooks display it (a pandas Styler, rendered as HTML), or a sentence
    when there is nothing to show."""
    if frame.empty:
        return "nothing to show for this batch"
    extra = headers or {}
    shown = frame.reset_index(drop=True).rename(columns=lambda column: extra.get(str(column), header(column)))
    return shown.style.format(number).hide(axis="index").set_table_styles(_STYLE)


def as_html(table: Styler | str) -> str:
    """show()'s table, or its sentence, as HTML."""
    return table if isinstance(table, str) else table.to_html()


# A report page: its title, the links to the others and its body.
HTML_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>body {{ font-family: sans-serif; max-width: 72em; margin: 1em auto; padding: 0 1em; }}
nav {{ margin-bottom: 1em; }} img, .flame svg {{ max-width: 100%; height: auto; }}
code {{ white-space: pre-wrap; }}</style>
</head><body>{nav}{body}</body></html>
"""
