"""locust as master and workers: local worker processes and a `lab worker` joining from outside."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from lab.drivers.locust import driver as locust_driver
from lab.drivers.locust.tally import Tally, worker_tally
from lab.files.scenario_file import resolve
from lab.model.scenario import Scenario
from lab.processes.spawn import ServerProcess, free_port
from tests.conftest import REPO, lab

# Every test here starts servers or the lab as processes: the slow tier (pytest -m system).
pytestmark = pytest.mark.system


def _scenario(processes: int, expect_workers: int = 0, port: int = 0) -> Scenario:
    (plaintext,) = resolve(["plaintext"])
    return plaintext.with_load(duration=2.0, warmup=1.0, processes=processes, expect_workers=expect_workers,
                               master_bind=f"127.0.0.1:{port}" if expect_workers else "", users=4, spawn_rate=4)


def _worker_tallies(scratch: Path) -> list[Tally]:
    paths = [scratch / worker_tally(index) for index in range(2)]
    return [Tally.read(path) for path in paths if path.is_file()]


def test_local_workers_merge_into_one_result(stage4: ServerProcess, tmp_path: Path) -> None:
    result = locust_driver.run(_scenario(processes=2), stage4.url, frozenset(os.sched_getaffinity(0)), tmp_path,
                               lambda _: None)
    tallies = _worker_tallies(tmp_path)
    assert len(tallies) == 2 == result.processes
    assert all(t.requests > 0 for t in tallies)
    assert result.requests == sum(t.requests for t in tallies)
    assert result.latency.latency_p50_us is not None
    assert result.busiest_process is not None and 0 < result.busiest_process <= 1.5


def test_a_lab_worker_joins_from_outside(stage4: ServerProcess, tmp_path: Path) -> None:
    """One local worker and one `lab worker` (standing in for another machine) in one run: both
    tallies arrive through locust's messages and add up to the run's count."""
    port = free_port()
    joiner = subprocess.Popen([sys.executable, "-m", "lab", "worker", "--master", f"127.0.0.1:{port}"],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              start_new_session=True)
    try:
        scratch = tmp_path / "run"
        scratch.mkdir()
        result = locust_driver.run(_scenario(1, expect_workers=1, port=port), stage4.url,
                                   frozenset(os.sched_getaffinity(0)), scratch, lambda _: None)
        tallies = _worker_tallies(scratch)
        assert len(tallies) == 2 == result.processes
        assert all(t.requests > 0 for t in tallies)
        assert result.requests == sum(t.requests for t in tallies)
        # The worker waits for the next run; an interrupt ends it and its locust processes.
        children = psutil.Process(joiner.pid).children(recursive=True)
        os.kill(joiner.pid, signal.SIGINT)
        output, _ = joiner.communicate(timeout=20)
    finally:
        if joiner.poll() is None:
            os.killpg(joiner.pid, signal.SIGKILL)
            joiner.wait()
    assert "(1 done)" in output, output
    assert joiner.returncode == 130, output
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]


@pytest.mark.parametrize(("args", "message"), [
    (("run", "--stage", "4", "--processes", "0"), "--processes must be >= 1 (or 0 with --expect-workers"),
    (("run", "--stage", "4", "--expect-workers", "1", "--driver", "wrk"), "on wrk: it expects locust workers"),
    (("run", "--stage", "4", "--expect-workers", "1", "--master-bind", "host:port"), "--master-bind takes HOST"),
    (("worker", "--master", "10.0.0.1:99999"), "--master takes HOST or HOST:PORT"),
])
def test_bad_distribution_flags_exit_2(args: tuple[str, ...], message: str) -> None:
    done = lab(*args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stdout.replace("\n", " ")


def test_a_worker_that_never_joins_fails_the_run(stage4: ServerProcess, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(locust_driver, "REMOTE_WORKER_WAIT_S", 3.0)
    with pytest.raises(locust_driver.RunFailed, match=r"recorded no request.*Gave up waiting for workers"):
        locust_driver.run(_scenario(1, expect_workers=1, port=free_port()), stage4.url,
                          frozenset(os.sched_getaffinity(0)), tmp_path, lambda _: None)
