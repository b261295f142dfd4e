"""Faults around the harness: a dying server, a killed comparison, damaged result files."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pandas as pd
import psutil
import pytest

from lab.store import results
from tests.conftest import REPO, lab

# Every test here starts servers or the lab as processes: the slow tier (pytest -m system).
pytestmark = pytest.mark.system


def _compare(one_user: Path, root: Path, stages: str, duration: str = "3s") -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "lab", "compare", "--stages", stages, "--scenarios", str(one_user),
               "--duration", duration, "--warmup", "1s", "--results", str(root)]
    return subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _find(root_pid: int, text: str, timeout: float) -> psutil.Process:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            for child in psutil.Process(root_pid).children(recursive=True):
                if text in " ".join(child.cmdline()):
                    return child
        except psutil.Error:
            pass
        time.sleep(0.05)
    raise AssertionError(f"no child running {text!r} within {timeout} s")


def test_a_server_killed_mid_run_leaves_an_error_row_and_the_comparison_goes_on(one_user: Path,
                                                                                  tmp_path: Path) -> None:
    compare = _compare(one_user, tmp_path, "2,3")
    try:
        server = _find(compare.pid, "servers.stage2_async", 30)
        _find(compare.pid, "locust", 30)
        time.sleep(1.5)
        server.kill()
        assert compare.wait(90) == 0
    finally:
        if compare.poll() is None:
            compare.kill()
    runs = results.load(tmp_path).set_index("stage")
    assert "server died during the run" in runs.loc[2, "error"]
    assert pd.isna(runs.loc[3, "error"]) and runs.loc[3, "requests"] > 0


@pytest.mark.parametrize("after", [1.0, 2.5, 4.0, 5.5])
def test_killing_lab_compare_never_leaves_a_torn_file_or_a_process(after: float, one_user: Path,
                                                                   tmp_path: Path) -> None:
    compare = _compare(one_user, tmp_path, "0-4", duration="1s")
    children: list[psutil.Process] = []
    time.sleep(after)
    with contextlib.suppress(psutil.NoSuchProcess):
        children = psutil.Process(compare.pid).children(recursive=True)
    compare.send_signal(signal.SIGKILL)  # no chance to clean up: the kernel must do it
    compare.wait(10)
    _, alive = psutil.wait_procs(children, timeout=5)
    assert not alive, f"orphans: {[p.cmdline() for p in alive]}"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a torn file would be skipped with a warning: fail instead
        runs = results.load(tmp_path)
    assert runs.empty or runs["requests"].notna().all()


def test_the_loader_skips_a_damaged_batch_and_names_it(one_user: Path, tmp_path: Path) -> None:
    done = lab("run", "--stage", "4", "--scenario", str(one_user), "--quick", "--results", str(tmp_path))
    assert done.returncode == 0
    damaged = tmp_path / "20000101T000000Z-dead"
    damaged.mkdir()
    (damaged / "runs.parquet").write_bytes(b"PAR1 this is not parquet")
    with pytest.warns(UserWarning, match="20000101T000000Z-dead"):
        runs = results.load(tmp_path)
    assert len(runs) == 1 and runs["stage"].iloc[0] == 4
