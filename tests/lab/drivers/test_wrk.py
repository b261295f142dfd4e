"""The wrk driver: same scenarios, same columns, µs latencies, pipelining; wrk from Debian's package."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from lab.drivers import wrk
from lab.files.scenario_file import resolve
from lab.store import results
from tests.conftest import REPO, lab, require_tool

# Every test here starts servers or the lab as processes: the slow tier (pytest -m system).
pytestmark = pytest.mark.system

@pytest.fixture
def wrk_installed() -> None:
    require_tool("wrk", shutil.which("wrk"), "apt-get install wrk")


needs_wrk = pytest.mark.usefixtures("wrk_installed")

STATUS_CHECK = """
description = "a weighted mix of two unknown paths, both expected to answer {expected}"
[load]
users = 4
[[request]]
path = "/nope"
weight = 3
[[request]]
path = "/none"
expect_status = {expected}
"""


def _run(tmp_path: Path, *args: str) -> dict[str, object]:
    done = lab("run", "--driver", "wrk", "--duration", "1s", "--warmup", "1s", "--results", str(tmp_path), *args)
    assert done.returncode == 0, done.stdout + done.stderr
    (row,) = results.load(tmp_path).to_dict("records")
    assert row["error"] is None or row["error"] != row["error"], row["error"]  # None or NaN
    return row


@needs_wrk
def test_wrk_run_fills_the_same_columns(tmp_path: Path) -> None:
    row = _run(tmp_path, "--stage", "4", "--scenario", "plaintext")
    assert row["driver"] == "wrk" and row["requests"] > 1000 and row["failures"] == 0
    assert 0 < row["latency_p50_us"] <= row["latency_p99_us"] <= row["latency_max_us"]
    assert row["server_cpu_us_per_request"] > 0 and row["generator_cpu_busy"] > 0
    assert row["bottleneck"] in ("server", "generator")
    assert results.load_timeseries(tmp_path).empty  # wrk keeps no per-second series


class CountingServer:
    """A listener that answers every request it reads and keeps the most requests one read held:
    what arrives together on loopback was sent together."""

    ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.most_in_one_read = 0
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _accept(self) -> None:
        with contextlib.suppress(OSError):  # closed: the test is over
            while True:
                connection, _ = self.listener.accept()
                threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError):  # wrk resets its connections when it ends
            while data := connection.recv(65536):
                count = data.count(b"GET ")
                self.most_in_one_read = max(self.most_in_one_read, count)
                connection.sendall(self.ANSWER * count)

    def close(self) -> None:
        self.listener.close()


@needs_wrk
def test_wrk_sends_a_pipelined_scenario_s_requests_together(tmp_path: Path) -> None:
    (scenario,) = resolve(["plaintext-pipelined"])
    server = CountingServer()
    script = tmp_path / "script.lua"
    script.write_text(wrk.script(scenario, tmp_path / "result.json"))
    argv = wrk.command(scenario, server.url, seconds=1, threads=1, script_path=script)
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    finally:
        server.close()
    assert done.returncode == 0, done.stderr
    assert server.most_in_one_read == scenario.load.pipeline == 16


@needs_wrk
def test_wrk_pipelines_16_deep(tmp_path: Path) -> None:
    row = _run(tmp_path, "--stage", "4", "--scenario", "plaintext-pipelined")
    assert row["requests"] > 1000 and row["failures"] == 0


@needs_wrk
@pytest.mark.parametrize("expected", [404, 200, 405])
def test_wrk_checks_expected_statuses(tmp_path: Path, expected: int) -> None:
    scenario = tmp_path / "status-check.toml"
    text = STATUS_CHECK.format(expected=expected)
    scenario.write_text(text.replace("weight = 3", f"weight = 3\nexpect_status = {expected}"))
    row = _run(tmp_path / "out", "--stage", "2", "--scenario", str(scenario))
    if expected == 404:
        assert row["failures"] == 0 and row["requests"] > 100
    else:  # every answer is a 404 the scenario did not expect
        assert row["requests"] == 0 and row["failures"] > 100


def test_wrk_refuses_mixed_expected_statuses(tmp_path: Path) -> None:
    scenario = tmp_path / "mixed-status.toml"
    scenario.write_text(STATUS_CHECK.format(expected=404))  # /nope expects 200, /none 404
    done = lab("run", "--stage", "2", "--driver", "wrk", "--scenario", str(scenario), "--results", str(tmp_path))
    if shutil.which("wrk") is None:
        assert done.returncode == 2 and "apt-get install wrk" in done.stdout
    else:
        assert done.returncode == 2 and "expect different statuses" in done.stdout


def test_wrk_missing_names_the_install_command(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(Path(sys.executable).parent)}  # the venv's python, no wrk
    done = subprocess.run([sys.executable, "-m", "lab", "run", "--stage", "4", "--driver", "wrk",
                           "--results", str(tmp_path)], capture_output=True, text=True, env=env, cwd=REPO,
                          timeout=60, check=False)
    assert done.returncode == 2
    assert "apt-get install wrk" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


@needs_wrk
def test_scenarios_with_think_time_are_refused_for_wrk(tmp_path: Path) -> None:
    done = lab("run", "--stage", "4", "--driver", "wrk", "--scenario", "many-connections", "--results", str(tmp_path))
    assert done.returncode == 2 and "cannot run on wrk" in done.stdout


@needs_wrk
def test_pipelining_against_a_closing_server_is_flagged(tmp_path: Path) -> None:
    row = _run(tmp_path, "--stage", "3", "--scenario", "plaintext-pipelined")
    assert row["verified"] is False or row["verified"] == 0
    assert "only the first is answered" in str(row["verify_problems"])


def test_wrk_keeps_the_scenario_s_timeout_or_refuses_it() -> None:
    (scenario,) = resolve(["plaintext"])
    for seconds in (3.0, 25.0):
        argv = wrk.command(scenario.with_load(timeout=seconds), "http://127.0.0.1:1", 1, 1, Path("s.lua"))
        assert f"--timeout={seconds:.0f}s" in argv
    assert wrk.refusal(scenario) is None
    assert wrk.refusal(scenario.with_load(timeout=2.5)) == (
        "wrk keeps time-outs in whole seconds only, and the scenario's is 2.5 s")
