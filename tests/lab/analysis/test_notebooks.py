"""Notebooks and `lab report` against a batch made by a real `lab compare` in this session."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from lab import analysis
from lab.analysis.report import DIFF_NOTEBOOK, HISTORY_PAGE, INDEX, execute, notebook_paths
from lab.analysis.roadmap import roadmap_table
from lab.store import results
from tests.conftest import lab, require_tool, root_of
from tests.lab.analysis.rendering import rendered

# Every test here starts servers or the lab as processes: the slow tier (pytest -m system).
pytestmark = pytest.mark.system

# Figures each notebook must produce for a batch of one scenario.
MIN_FIGURES = {"staged-comparison": 4, "latency-and-stability": 2, "scenario-matrix": 3}


def figures(notebook: object) -> int:
    return sum("image/png" in output.get("data", {})
               for cell in notebook.cells for output in cell.get("outputs", []))  # type: ignore[attr-defined]


def errors(notebook: object) -> list[str]:
    return [output.get("ename", "") for cell in notebook.cells  # type: ignore[attr-defined]
            for output in cell.get("outputs", []) if output.get("output_type") == "error"]


def test_roadmap_speedups_are_the_roadmaps() -> None:
    table = roadmap_table().set_index("stage")
    assert [round(v) for v in table["speedup_reported"]] == [1, 17, 44, 109, 218]


@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.stem)
def test_notebook_runs_against_a_real_batch(path: Path, quick_batch: tuple[pd.DataFrame, str]) -> None:
    batch = quick_batch[0]["batch"].iloc[0]
    notebook = execute(path, batch, root_of(quick_batch))
    assert errors(notebook) == []
    assert figures(notebook) >= MIN_FIGURES[path.stem]
    text = str(notebook.cells)
    assert batch in text or path.stem != "staged-comparison"


@pytest.mark.parametrize("path", [*notebook_paths(), DIFF_NOTEBOOK], ids=lambda p: p.stem)
def test_notebook_without_results_says_what_to_do(path: Path, tmp_path: Path) -> None:
    notebook = execute(path, "", tmp_path)  # an empty results directory
    assert errors(notebook) == []
    assert "run `lab compare`" in str(notebook.cells)
    assert figures(notebook) == 0


def test_notebooks_are_committed_without_outputs() -> None:
    import nbformat

    for path in [*notebook_paths(), DIFF_NOTEBOOK]:
        # As written: nbformat.read gives a cell without an id one of its own, with a warning.
        cells = json.loads(path.read_text())["cells"]
        assert all("id" in cell for cell in cells), f"{path}: a cell without an id (nbformat 4.5 needs one)"
        notebook = nbformat.read(path, as_version=4)
        assert all(not cell.get("outputs") and not cell.get("execution_count")
                   for cell in notebook.cells if cell.cell_type == "code"), path


def test_stage_table_has_measured_and_roadmap_columns(quick_batch: tuple[pd.DataFrame, str]) -> None:
    batch = analysis.open_batch(quick_batch[0]["batch"].iloc[0], root_of(quick_batch))
    table = analysis.stage_table(batch, "one-user")
    assert list(table["stage"]) == [0, 1, 2, 3, 4]
    assert table.loc[1, "roadmap_speedup"] == pytest.approx(7877 / 459)
    assert list(table["bottleneck"]) == ["users"] * 5 and table["speedup"].isna().all()  # one user held them all
    assert table["cpu_us_per_request"].notna().all()


def test_lab_report_writes_html_and_png(quick_batch: tuple[pd.DataFrame, str]) -> None:
    root = root_of(quick_batch)
    batch = quick_batch[0]["batch"].iloc[0]
    done = lab("report", batch, "--results", str(root))
    assert done.returncode == 0, done.stdout + done.stderr
    report = root / batch / "report"
    pages = sorted(p.stem for p in report.glob("*.html"))
    assert pages == sorted(["index", HISTORY_PAGE, *(p.stem for p in notebook_paths())])
    images = list(report.glob("*.png"))
    assert len(images) >= sum(MIN_FIGURES.values())
    assert all(image.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for image in images)
    html = (report / "staged-comparison.html").read_text()
    assert html.count("data:image/png;base64") >= MIN_FIGURES["staged-comparison"]


def test_lab_report_without_results(tmp_path: Path) -> None:
    done = lab("report", "--results", str(tmp_path))
    assert done.returncode == 1
    assert "run `lab compare` first" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_the_report_reads_as_a_report_in_chromium(quick_batch: tuple[pd.DataFrame, str], tmp_path: Path) -> None:
    """Every page as a reader sees it: no code, no NaN, links that lead somewhere, figures that load;
    the index page with the machine, the command, the headline table, the speedup figure and the
    criteria."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    require_tool("headless Chromium", chromium, "apt-get install chromium")
    assert chromium is not None
    root = root_of(quick_batch)
    batch = quick_batch[0]["batch"].iloc[0]
    report = root / batch / "report"
    if not (report / INDEX).exists():
        assert lab("report", batch, "--results", str(root)).returncode == 0
    pages = sorted(report.glob("*.html"))
    expected = [INDEX, f"{HISTORY_PAGE}.html", *(f"{p.stem}.html" for p in notebook_paths())]
    assert [p.name for p in pages] == sorted(expected)
    for page in pages:
        seen = rendered(chromium, page, tmp_path)
        text, dom = str(seen["text"]), str(seen["dom"])
        assert seen["broken"] == 0 and seen["images"] >= 1, (page.name, seen["images"], seen["broken"])
        assert "NaN" not in text and "None" not in text.split(), page.name
        assert "In [" not in text and "a.open_batch" not in text, page.name
        assert not re.search(r'class="[^"]*(jp-CodeMirrorEditor|jp-InputPrompt)', dom), page.name  # no code cell
        links = re.findall(r'href="([^"#:]+\.html)"', dom)
        assert INDEX in links and all((report / link).is_file() for link in links), (page.name, links)
    index = rendered(chromium, report / INDEX, tmp_path)
    text = str(index["text"])
    for expected in ("The command", "lab compare", "The machine", "locust", "greenlet", "stage / target",
                     "Speedup over stage 0", "The roadmap's table, stage by stage", "QPS > 100,000",
                     "Staged comparison"):
        assert expected in text, expected


# Capacity ~250 req/s (5 users, 20 ms each): at 50% each user sends every 40 ms, a pace locust
# keeps well; at thousands of requests per second per user its sleeps are too coarse.
PACEABLE = """
description = "five users on a 20 ms route"
[load]
users = 5
[[request]]
path = "/delay/20"
"""


def test_sweep_runs_open_loop_levels_and_plots_latency_versus_load(tmp_path: Path) -> None:
    scenario = tmp_path / "paceable.toml"
    scenario.write_text(PACEABLE)
    done = lab("compare", "--stages", "4", "--scenarios", str(scenario), "--quick", "--sweep", "50",
               "--results", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    runs = results.load(tmp_path)
    runs = runs[runs["target"] != "calibration"].sort_values("load_level", na_position="first")
    capacity, half = runs.to_dict("records")
    assert pd.isna(capacity["load_level"]) and pd.isna(capacity["target_rate"])
    assert half["load_level"] == 0.5 and half["target_rate"] == pytest.approx(capacity["qps"] / 2)
    assert 0.3 * capacity["qps"] < half["qps"] < 0.7 * capacity["qps"]  # it asked for half, and got about that
    assert half["latency_corrected_p99_us"] > 0
    assert "paceable @50%" in done.stdout
    notebook = execute(notebook_paths()[[p.stem for p in notebook_paths()].index("staged-comparison")],
                       runs["batch"].iloc[0], tmp_path)
    assert errors(notebook) == [] and figures(notebook) >= MIN_FIGURES["staged-comparison"] + 1


def test_sweep_is_refused_with_wrk(tmp_path: Path) -> None:
    done = lab("compare", "--sweep", "50", "--driver", "wrk", "--results", str(tmp_path))
    assert done.returncode == 2, done.stdout
    refused = "--sweep runs each scenario at fixed rates, which wrk cannot"
    assert refused in done.stdout or "apt-get install wrk" in done.stdout
