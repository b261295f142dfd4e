"""`lab diff` on real batches: one server measured twice, and a fast and a slow server measured
under one target name (the same URL): no regression found, then one. io-wait under wrk: each
request waits 2 ms in the server, so neither stage 4's nor stage 0's rate saturates the generator
(a generator-bound rate is no evidence, and --target runs have no server CPU to compare)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lab.processes.spawn import free_port

from .conftest import lab, require_tool, start_server

pytestmark = pytest.mark.system


def batch(url: str, root: Path, *more: str) -> str:
    done = lab("compare", "--target", url, "--driver", "wrk", "--scenarios", "io-wait", "--repeats", "3",
               "--duration", "1s", "--warmup", "1s", "--no-calibrate", "--results", str(root), *more)
    assert done.returncode == 0, done.stdout + done.stderr
    if more:  # --baseline: the diff follows the summary
        assert "→" in done.stdout and "worse" in done.stdout, done.stdout
    return sorted(p.name for p in root.iterdir())[-1]


def test_lab_diff_finds_the_regression_and_only_it(tmp_path: Path) -> None:
    require_tool("wrk", shutil.which("wrk"), "apt-get install wrk")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    names = []
    for stage in (4, 4, 0):  # the same server twice, then a much slower one on its port
        server = start_server(stage, "--port", str(port))
        try:
            names.append(batch(url, tmp_path, *(["--baseline", names[-1]] if stage == 0 else [])))
        finally:
            server.stop()
    same = lab("diff", names[0], names[1], "--results", str(tmp_path), "--threshold", "20%")
    assert same.returncode == 0, same.stdout
    slower = lab("diff", names[1], names[2], "--results", str(tmp_path), "--threshold", "20%", "--format", "json")
    assert slower.returncode == 1, slower.stdout + slower.stderr
    changes = {c["metric"]: c for c in json.loads(slower.stdout)}
    assert changes["qps"]["verdict"] == "worse" and changes["qps"]["change"] < -0.2
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
