"""The scenario's slow clients (`[load] slow_clients = N`), beside the real load of one run."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lab.drivers.base import RunFailed
from lab.model.scenario import Load
from lab.processes.spawn import first_line, spawn, stop

# Seconds the crowd may take to start and open its connections (it gives up opening at 10 s).
READY_TIMEOUT_S = 20.0


@contextmanager
def slow_crowd(load: Load, url: str, cpus: frozenset[int], scratch: Path) -> Iterator[dict[str, Any]]:
    """Open the slow clients, yield while the run loads the server beside them, then stop them;
    the yielded dict gets their tally: opened, refused, closed by the server."""
    facts: dict[str, Any] = {}
    if not load.slow_clients:
        yield facts
        return
    out = scratch / "slow-clients.json"
    argv = [sys.executable, "-m", "lab.hostile.clients", url, "--clients", str(load.slow_clients),
            "--kind", load.slow_kind, "--out", str(out), *(["--persist"] if load.slow_persist else [])]
    with (scratch / "slow-clients.log").open("wb") as log:
        process = spawn(argv, cpus, stdout=subprocess.PIPE, stderr=log)
    try:
        assert process.stdout is not None
        line = first_line(process.stdout, READY_TIMEOUT_S)
        if not line.startswith("ready"):
            tail = (scratch / "slow-clients.log").read_text(errors="replace").strip()[-300:]
            raise RunFailed(f"the slow clients did not start ({line!r}): {tail}")
        yield facts
    finally:
        stop(process)
        if process.stdout is not None:
            process.stdout.close()
    try:
        facts.update(json.loads(out.read_text()))
    except (OSError, ValueError) as error:
        raise RunFailed(f"the slow clients wrote no tally: {error}") from None
