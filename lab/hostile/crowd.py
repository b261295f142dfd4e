"""The scenario's slow clients (`[load] slow_clients = N`), beside the real load of one run."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from lab.drivers.base import RunFailed
from lab.model.record import SlowClientTally
from lab.model.scenario import Load
from lab.processes.spawn import first_line, spawn, stop

# Seconds the crowd may take to start and open its connections (it gives up opening at 10 s).
READY_TIMEOUT_S = 20.0


@dataclass
class Crowd:
    tally: SlowClientTally = field(default_factory=SlowClientTally)  # filled in once the crowd has stopped


@contextmanager
def slow_crowd(load: Load, url: str, cpus: frozenset[int], scratch: Path) -> Iterator[Crowd]:
    """Open the slow clients, yield while the run loads the server beside them, then stop them;
    the yielded crowd gets their tally: opened, and closed by the server."""
    crowd = Crowd()
    if not load.slow_clients:
        yield crowd
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
        yield crowd
    finally:
        stop(process)
        if process.stdout is not None:
            process.stdout.close()
    try:
        tally = json.loads(out.read_text())
        crowd.tally = SlowClientTally(tally["opened"], tally["closed_by_server"])
    except (OSError, ValueError, KeyError) as error:
        raise RunFailed(f"the slow clients wrote no tally: {error!r}") from None
