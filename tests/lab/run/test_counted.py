"""Counted runs of real servers under valgrind: a count per request that repeats, that does
not depend on how many requests were counted (the division and the window), that sees the
parser's work, and that lab diff calls worse where a known amount of work was added, and not
where nothing changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.counting import valgrind
from lab.files.scenario_file import load_scenario
from lab.model.target import stage_target
from lab.paths import SCENARIO_DIR
from lab.run.counted import CountedLoad, count
from lab.run.measure import Pinning
from lab.store import results
from tests.conftest import REPO, lab, require_tool

pytestmark = [pytest.mark.system, pytest.mark.timeout(300)]

PLAINTEXT = load_scenario(SCENARIO_DIR / "plaintext.toml")
PINNING = Pinning(frozenset({0}), frozenset({0}))
TINY_SERVER = REPO / "tests" / "lab" / "tiny_server.py"


@pytest.fixture(autouse=True)
def _valgrind() -> None:
    require_tool("valgrind", valgrind.missing() is None, valgrind.INSTALL)


def _per_request(args: tuple[str, ...], load: CountedLoad) -> float:
    row = count(stage_target(4, args), PLAINTEXT, PINNING, batch="b", repeat=0, load=load).row
    assert row["error"] is None and row["server_exit_code"] == 0, row
    assert row["counted_requests"] == load.requests and row["counted_failures"] == 0
    assert row["valgrind_version"].startswith("valgrind-")
    value: float = row["server_instructions_per_request"]
    return value


def test_a_count_per_request_repeats_whatever_was_counted_and_sees_the_parser() -> None:
    """1,000 and 2,000 requests after the same warm-up agree within 2%: a count not
    divided by the requests counted, or a window that took in the warm-up, would not."""
    short = _per_request((), CountedLoad(1_000, 200))
    long = _per_request((), CountedLoad(2_000, 200))
    # Within 2%, not the 0.1% two counts usually lie within: once in a CI-like run one process
    # counted 1.07% more (49,383 against 48,862; the two levels the environment once moved stage 4
    # between), a mode whose cause is not found. Counting the warm-up moves it 8.6%, a wrong division 2x.
    assert abs(long / short - 1) < 0.02, (short, long)
    assert 10_000 < short < 1_000_000  # instructions, not a total nor a rate
    core = _per_request(("--parser", "core"), CountedLoad(1_000, 200))
    assert core > 1.3 * short, (core, short)  # the pure-Python parser costs more than llhttp


def _target(directory: Path, name: str, work: int) -> str:
    path = directory / f"{name}.toml"
    path.write_text(f'description = "the tests\' tiny server with {work} loop steps per request"\n'
                    f'command = ["{{python}}", "{TINY_SERVER}", "--work", "{work}", "--port", "{{port}}"]\n'
                    'ready = "listening"\n')
    return str(path)


def test_known_extra_work_is_worse_by_lab_diff_and_the_same_server_counted_twice_is_not(tmp_path: Path) -> None:
    """Three copies of a server, two alike and one doing 5 more loop steps per request (a few
    percent), counted at the default repeats: the diff calls the third worse, and the two alike not."""
    targets = ",".join(_target(tmp_path, name, work) for name, work in (("same-a", 0), ("same-b", 0), ("busier", 5)))
    done = lab("compare", "--stages", "", "--with", targets, "--scenarios", "plaintext", "--instructions",
                "--repeats", "0", "--counted-requests", "300", "--results", str(tmp_path / "results"))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (batch,) = results.batches(tmp_path / "results")
    counted = results.load_counted(tmp_path / "results", batch.name)
    assert len(counted) == 15 and counted["error"].isna().all()  # 5 repeats each: the floor reaches 5% / 2
    assert "instructions per request (counted under valgrind)" in done.stdout
    worse = lab("diff", batch.name, "--base", "same-a", "--new", "busier", "--results", str(tmp_path / "results"),
                 "--format", "markdown", "--threshold", "1%")
    assert worse.returncode == 1, worse.stdout + worse.stderr  # a regression beyond 1%
    (line,) = [row for row in worse.stdout.splitlines() if "| server_instructions_per_request |" in row]
    assert line.endswith("| worse |"), line
    moved = [[cell.strip() for cell in line.split("|")] for line in
             worse.stdout.split("Where the instructions moved")[1].splitlines()[4:]]
    # The loop's own C: range iteration and integer addition, each more per request than before.
    assert {"rangeiter_next", "_PyLong_Add"} <= {row[4] for row in moved}, moved
    assert all(row[7].startswith("+") for row in moved[:3]), moved
    same = lab("diff", batch.name, "--base", "same-a", "--new", "same-b", "--results", str(tmp_path / "results"),
                "--format", "markdown", "--threshold", "0%")
    assert same.returncode == 0, same.stdout + same.stderr
    assert "| worse |" not in same.stdout and "| better |" not in same.stdout


def test_a_counted_run_of_a_server_that_dies_is_an_error_row() -> None:
    row = count(stage_target(4, ("--no-such-flag",)), PLAINTEXT, PINNING, batch="b", repeat=0,
                load=CountedLoad(100, 10)).row
    assert row["error"] is not None and "did not start" in row["error"]
    assert row["server_instructions_per_request"] is None
