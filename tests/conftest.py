from __future__ import annotations

from collections.abc import Iterator

import pytest

from lab.process import ServerProcess
from servers import STAGES

# Short timeouts so that slow-client tests finish quickly; the defaults are 10 s and 5 s.
TEST_SERVER_ARGS = ("--request-timeout", "1")


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
    assert proc.process is not None and proc.process.returncode == 0, proc.stderr_tail()
