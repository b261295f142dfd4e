from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import settings

from lab.processes.spawn import ServerProcess
from lab.store import results
from servers import STAGES

# In CI and under `make mutate` the property tests replay the same examples every run (a new
# failure there would block a merge for a bug the change did not make, and a mutant would be
# killed or not by chance); locally they explore new ones each time.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI") or os.environ.get("QPSLAB_DERANDOMIZE"):
    settings.load_profile("ci")

# .ci/run sets this after installing the system tools some tests need (wrk, Chromium): there a
# missing tool fails those tests with its reason instead of skipping them into a green run.
REQUIRE_TOOLS = os.environ.get("QPSLAB_REQUIRE_TOOLS") == "1"


def require_tool(name: str, found: object, install: str) -> None:
    """Skip the test when the system tool `name` is missing, unless REQUIRE_TOOLS: then fail."""
    if not found:
        (pytest.fail if REQUIRE_TOOLS else pytest.skip)(f"{name} is not installed ({install})")


# Short timeouts so that slow-client tests finish quickly; the defaults are 10 s and 5 s.
TEST_SERVER_ARGS = ("--request-timeout", "1")
STAGE4_KEEPALIVE_S, STAGE4_REQUEST_S = 1.0, 3.0


def start_server(stage: int, *extra: str) -> ServerProcess:
    server = ServerProcess(STAGES[stage].module, (*TEST_SERVER_ARGS, *extra))
    server.start()
    return server


@pytest.fixture(scope="module", params=[s.number for s in STAGES], ids=[f"stage{s.number}" for s in STAGES])
def server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    """Each stage's server, one process per stage for the whole test module."""
    proc = start_server(request.param)
    yield proc
    proc.stop()
    assert proc.process is not None and proc.process.returncode == 0, proc.output_tail()


@pytest.fixture(scope="module")
def stage4() -> Iterator[ServerProcess]:
    """Stage 4 alone, with a short keep-alive timeout so that idle-close tests finish quickly,
    and a request timeout three times as long, so that tests can tell the two apart."""
    proc = start_server(4, "--keepalive-timeout", str(STAGE4_KEEPALIVE_S), "--request-timeout", str(STAGE4_REQUEST_S))
    yield proc
    proc.stop()


REPO = Path(__file__).resolve().parent.parent
# One user, no think time: the servers answer in well under a millisecond, which is what the
# µs histograms must show (locust's own stats would round it to 0 or 1 ms).
ONE_USER = """
description = "one user, for tests"
[load]
users = 1
spawn_rate = 1
[[request]]
path = "/plaintext"
[[request]]
path = "/json"
"""


def lab(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lab", *args], capture_output=True, text=True, timeout=timeout,
                          check=False,
                          cwd=REPO)


@pytest.fixture(scope="session")
def one_user(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenarios") / "one-user.toml"
    path.write_text(ONE_USER)
    return path


@pytest.fixture(scope="session")
def quick_batch(tmp_path_factory: pytest.TempPathFactory, one_user: Path) -> tuple[pd.DataFrame, str]:
    root = tmp_path_factory.mktemp("results")
    done = lab("compare", "--stages", "0,1,2,3,4", "--scenarios", str(one_user), "--quick", "--results", str(root))
    assert done.returncode == 0, done.stdout + done.stderr
    return results.load(root), done.stdout


def root_of(quick_batch: tuple[pd.DataFrame, str]) -> Path:
    """The results directory of a batch, from the `results:` line lab compare prints."""
    match = re.search(r"results: (\S+)", quick_batch[1])
    assert match is not None
    return Path(match.group(1)).parent
