"""`lab diff` on real batches: one server measured twice (A/A), then a much slower one under the
same target name (the same URL), and two target files side by side in one batch (A/B). io-wait
under wrk: each request waits 2 ms in the server, so neither stage 4's nor stage 0's rate
saturates the generator (a generator-bound rate is no evidence).

The A/A check can fail with a correct lab: the diff's family-wise false-alarm rate is at most 5%
(the exact test, lab.analysis.diff), and the check fails only on a significant change for the
worse beyond 20% as well; the slower server is 20-50x slower, which 5 repeats a side cannot miss
(all of its repeats below all of the other's)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lab.processes.spawn import free_port
from tests.conftest import lab, require_tool, start_server

pytestmark = pytest.mark.system

REPEATS = "5"  # the fewest at which one target × scenario's 3 to 5 metrics can be told apart at 5%


def batch(root: Path, *how: str) -> str:
    # Half a second of warm-up: the servers compared differ 20-50x, and a second each was 45 s of CI.
    done = lab("compare", "--driver", "wrk", "--scenarios", "io-wait", "--repeats", REPEATS, "--duration", "1s",
               "--warmup", "0.5s", "--results", str(root), *how, timeout=400)
    assert done.returncode == 0, done.stdout + done.stderr
    return sorted(p.name for p in root.iterdir() if p.is_dir())[-1]


# Three batches, four diffs and a report page, each a `lab` process: on CI's busy 2 cores this
# came to 120 s, the default bound, while every step was right.
@pytest.mark.timeout(300)
def test_lab_diff_finds_the_regression_and_only_it(tmp_path: Path) -> None:
    require_tool("wrk", shutil.which("wrk"), "apt-get install wrk")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    names: list[str] = []
    for stage in (4, 4, 0):  # the same server twice, then a much slower one on its port
        server = start_server(stage, "--port", str(port))
        try:
            names.append(batch(tmp_path, "--target", url, *(["--baseline", names[-1]] if stage == 0 else [])))
        finally:
            server.stop()
    same = lab("diff", names[0], names[1], "--results", str(tmp_path), "--threshold", "20%")
    assert same.returncode == 0, same.stdout
    assert "per calibration run of the same repeat" in same.stdout  # the machine's drift is read out
    slower = lab("diff", names[1], names[2], "--results", str(tmp_path), "--threshold", "20%", "--format", "json")
    assert slower.returncode == 1, slower.stdout + slower.stderr
    changes = {c["metric"]: c for c in json.loads(slower.stdout)}
    assert changes["qps"]["verdict"] == "worse" and changes["qps"]["change"] < -0.2
    assert changes["qps"]["basis"] == "per calibration run" and changes["qps"]["level"] == pytest.approx(0.05 / 3)
    assert "note: QPS, latency and CPU per request are compared per calibration run" in slower.stderr
    markdown = lab("diff", str(tmp_path / names[1]), str(tmp_path / names[2]), "--format", "markdown")
    assert markdown.returncode == 0 and "| external | io-wait | qps |" in markdown.stdout  # no threshold: 0
    # The diff page: the same verdicts, and one figure of the changes with their intervals.
    page = lab("report", names[2], "--against", str(tmp_path / names[1]), "--results", str(tmp_path))
    assert page.returncode == 0, page.stdout + page.stderr
    report = tmp_path / names[2] / "report"
    assert sorted(p.name for p in report.iterdir()) == [f"diff-{names[1]}-1.png", f"diff-{names[1]}.html"]
    html = (report / f"diff-{names[1]}.html").read_text()
    assert "| external | io-wait | qps |" not in html and "<td>worse</td>" in html  # rendered, not raw
    assert lab("report", names[2], "--against", "nope", "--results", str(tmp_path)).returncode == 2
    bad = lab("diff", names[0], "nope", "--results", str(tmp_path))
    assert bad.returncode == 2 and "no batch 'nope'" in bad.stdout
    assert lab("diff", names[0], names[1], "--threshold", "lots", "--results", str(tmp_path)).returncode == 2
    typo = lab("compare", "--stages", "4", "--scenarios", "plaintext", "--baseline", "nope", "--results", str(tmp_path))
    assert typo.returncode == 2 and "no batch 'nope'" in typo.stdout
    assert len([p for p in tmp_path.iterdir() if p.is_dir()]) == 3  # refused before any run


def target_file(folder: Path, name: str, module: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(f'description = "{name}"\ncommand = ["{{python}}", "-m", "{module}", "--port", "{{port}}"]\n'
                    'ready = "listening"\n')
    return path


def test_lab_diff_of_two_targets_in_one_batch(tmp_path: Path) -> None:
    require_tool("wrk", shutil.which("wrk"), "apt-get install wrk")
    quick = target_file(tmp_path, "quick", "servers.stage4_protocol")
    serial = target_file(tmp_path, "serial", "servers.stage0_serial")  # one request at a time: 2 ms each
    results = tmp_path / "results"
    name = batch(results, "--stages", "", "--with", f"{quick},{serial}")
    done = lab("diff", name, "--base", "quick", "--new", "serial", "--results", str(results), "--format", "json",
               "--threshold", "20%")
    assert done.returncode == 1, done.stdout + done.stderr
    changes = {c["metric"]: c for c in json.loads(done.stdout)}
    assert changes["qps"]["target"] == "quick → serial" and changes["qps"]["verdict"] == "worse"
    assert changes["server_cpu_us_per_request"]["verdict"] == "worse"  # a connection a request costs more
    # The same target against itself: the same runs on both sides, nothing to call.
    same = lab("diff", name, "--base", "quick", "--new", "quick", "--results", str(results), "--format", "json")
    assert same.returncode == 0 and {c["verdict"] for c in json.loads(same.stdout)} == {"no significant change"}
    missing = lab("diff", name, "--base", "quick", "--new", "nope", "--results", str(results))
    assert missing.returncode == 2 and "no finished runs of target 'nope'" in missing.stdout
    half = lab("diff", name, "--base", "quick", "--results", str(results))
    assert half.returncode == 2 and "--base and --new go together" in half.stdout
    both = lab("diff", name, name, "--base", "quick", "--new", "serial", "--results", str(results))
    assert both.returncode == 2 and "one batch with --base/--new" in both.stdout
