"""Profiled runs for real: stage 4, stage 4 with the core's parser, and stage 4 spending a known
30 µs of CPU per request in a function of its own, each profiled twice under py-spy beside its
timed run; what the profiles say, what `lab diff` says of them, and the report page in Chromium."""

from __future__ import annotations

import json
import re
import shutil
import statistics
from pathlib import Path

import pandas as pd
import pytest

from lab.analysis.batch import open_batch
from lab.analysis.profile_page import write_profile_page
from lab.store import results
from tests.conftest import REPO, lab, require_tool
from tests.lab.analysis.rendering import rendered

pytestmark = pytest.mark.system

SPIN_US = 30.0
SPINNING = REPO / "tests" / "lab" / "spinning_stage4.py"


def _target(folder: Path, name: str, argv: str) -> str:
    path = folder / f"{name}.toml"
    path.write_text(f'description = "{name}"\ncommand = ["{{python}}", {argv}, "--port", "{{port}}"]\n'
                    f'cwd = "{REPO}"\nready = "listening"\n')
    return str(path)


@pytest.fixture(scope="module")
def profiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    require_tool("wrk", shutil.which("wrk"), "apt-get install wrk")
    root = tmp_path_factory.mktemp("profiled")
    targets = ",".join([_target(root, "core", '"-m", "servers.stage4_protocol", "--parser", "core"'),
                        _target(root, "spinning", f'"{SPINNING}", "--spin-us", "{SPIN_US}", "--report", '
                                                  f'"{root / "spun.txt"}"')])
    done = lab("compare", "--stages", "4", "--with", targets, "--scenarios", "plaintext", "--driver", "wrk",
               "--duration", "2s", "--warmup", "1s", "--no-calibrate", "--profile", "--results", str(root / "results"),
               timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "where the CPU time goes (profiled)" in done.stdout and "vs timed" in done.stdout
    return root / "results"


def _functions(root: Path, target: str) -> pd.DataFrame:
    """The target's functions over its profiled runs: median self and inclusive µs per request."""
    runs = results.load_profiled(root)
    functions = results.load_profile_functions(root)
    mine = functions[functions["run_id"].isin(runs[runs["target_label"] == target]["run_id"])]
    return mine.groupby("function")[["self_us_per_request", "inclusive_us_per_request"]].median()


def test_a_profile_of_stage_4_names_its_request_path_and_adds_up_to_its_cpu_per_request(profiled: Path) -> None:
    runs = results.load_profiled(profiled)
    assert len(runs) == 6 and runs["error"].isna().all(), runs["error"].tolist()
    assert set(runs["profiler"]) == {"py-spy"} and (runs["profile_samples"] > 50).all()
    assert len(results.load(profiled)) == 3  # the timed runs alone: a profiled run is never one of them
    stage4 = _functions(profiled, "stage4")
    top = stage4.sort_values("inclusive_us_per_request", ascending=False).head(30).index
    assert any(name.startswith("HttpConnection.receive (servers/core/connection.py") for name in top), list(top)
    stacks = results.load_stacks(profiled)
    for run in runs.itertuples():
        mine = stacks[stacks["run_id"] == run.run_id]
        assert mine["samples"].sum() == run.profile_samples
        kept = results.load_profile_functions(profiled)
        kept = kept[kept["run_id"] == run.run_id]
        # Every sample is some function's own: the kept functions' own µs are (nearly all of) the
        # run's CPU per request.
        assert kept["self_us_per_request"].sum() == pytest.approx(run.server_cpu_us_per_request, rel=0.05)
        assert kept["self_us_per_request"].sum() <= run.server_cpu_us_per_request * (1 + 1e-9)


def test_a_known_30_us_in_one_function_is_measured_within_30_percent_and_named_first_by_lab_diff(
        profiled: Path, tmp_path: Path) -> None:
    spinning = _functions(profiled, "spinning")
    spin = [name for name in spinning.index if name.startswith("spin (")]
    assert len(spin) == 1, list(spinning.index)
    # What spin() took per request in the two profiled runs, as the server measured it around
    # each call (the timed run came first).
    spun = [float(line.split()[0]) for line in (profiled.parent / "spun.txt").read_text().splitlines()]
    assert len(spun) == 3
    assert spinning.at[spin[0], "inclusive_us_per_request"] == pytest.approx(statistics.median(spun[1:]), rel=0.3)
    batch = results.batches(profiled)[0].name
    done = lab("diff", batch, "--base", "stage4", "--new", "spinning", "--results", str(profiled), "--format",
               "markdown")
    assert done.returncode == 0, done.stdout + done.stderr
    section = done.stdout.split("Where the CPU time moved (profiled)")[1]
    first = section.split("\n| stage4 → spinning |")[1]
    assert first.split("|")[1].strip().startswith("spin ("), section
    flames = lab("diff", batch, "--base", "stage4", "--new", "spinning", "--results", str(profiled), "--flame",
                 str(tmp_path))
    assert flames.returncode == 0, flames.stdout + flames.stderr
    (graph,) = tmp_path.glob("*.svg")
    assert graph.name == "stage4--spinning--plaintext.svg"
    # spin's widest frame (a sample caught mid-call may put a sliver of it under another caller).
    spin_frames = re.findall(r"<title>spin \(tests/lab/spinning_stage4\.py:\d+\): [^<]*</title>"
                             r"<rect [^>]*width=\"([\d.]+)\"[^>]*fill=\"([^\"]+)\"", graph.read_text())
    assert spin_frames
    assert max(spin_frames, key=lambda frame: float(frame[0]))[1] == "rgb(255,0,0)"  # 0 → ~30 µs: as red as it gets


def test_the_core_parser_shows_where_llhttp_shows_for_stage_4(profiled: Path) -> None:
    stage4, core = _functions(profiled, "stage4"), _functions(profiled, "core")
    assert any("servers/core/fastparser.py" in name for name in stage4.index)
    assert not any("servers/core/parser.py" in name for name in stage4.index)
    assert any("servers/core/parser.py" in name for name in core.index)
    assert not any("servers/core/fastparser.py" in name for name in core.index)


def test_the_page_renders_its_flame_graphs_in_chromium(profiled: Path, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    require_tool("headless Chromium", chromium, "apt-get install chromium")
    assert chromium is not None
    batch = open_batch(results.batches(profiled)[0].name, profiled)
    page = write_profile_page(batch, "", tmp_path)
    seen = rendered(chromium, page, tmp_path / "chromium")
    flames = seen["flames"]
    assert isinstance(flames, list)
    # One per target and one per step: core → … is not a stage step, so three.
    assert len(flames) == 3 and all(f["width"] > 500 and f["frames"] > 20 for f in flames), flames
    text = str(seen["text"])
    for expected in ("Where the time goes", "stage4 × plaintext", "spinning × plaintext", "spin (",
                     "µs of CPU per request"):
        assert expected in text, expected
    assert "NaN" not in text, json.dumps(flames)
