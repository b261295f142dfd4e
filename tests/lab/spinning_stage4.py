"""Stage 4 that spends a known amount of CPU time on each read, in a function of its own: the
profiled-run tests' target. `--spin-us N` makes spin() take about N µs of CPU: the loop's steps
per µs are measured as the server starts (under load a step is slower: the kernel's network work
on the same CPU evicts the interpreter's caches). `--report FILE`: as it exits, the server appends
what spin() really took per call, measured around each call, so that a profile can be held to it."""

from __future__ import annotations

import atexit
import sys
import time
from pathlib import Path

from servers import stage4_protocol
from servers.core.connection import HttpConnection

# CPU seconds each measurement of the loop's speed runs: long beside the clock's resolution.
MEASURED_S = 0.05


def spin(steps: int) -> None:
    for _ in range(steps):
        pass


def steps_for(seconds: float) -> int:
    """How many steps of spin() take `seconds` of this thread's CPU: the fastest of three
    measurements (the interpreter specializes the loop in the first)."""
    steps = 10_000
    while True:
        start = time.thread_time()
        spin(steps)
        if time.thread_time() - start >= MEASURED_S:
            break
        steps *= 2
    used = []
    for _ in range(3):
        start = time.thread_time()
        spin(steps)
        used.append(time.thread_time() - start)
    return max(1, round(steps * seconds / min(used)))


def main(argv: list[str]) -> None:
    at = argv.index("--spin-us")
    steps = steps_for(float(argv[at + 1]) / 1e6)
    argv = argv[:at] + argv[at + 2:]
    at = argv.index("--report")
    report = Path(argv[at + 1])
    argv = argv[:at] + argv[at + 2:]
    spent = [0.0, 0]  # CPU seconds in spin(), calls
    receive = HttpConnection.receive

    def spinning_receive(self: HttpConnection, data: bytes | bytearray | memoryview, now: float) -> object:
        start = time.thread_time()
        spin(steps)
        spent[0] += time.thread_time() - start
        spent[1] += 1
        return receive(self, data, now)

    def write_report() -> None:
        with report.open("a") as out:
            out.write(f"{spent[0] / max(1, spent[1]) * 1e6:.3f} {spent[1]}\n")

    atexit.register(write_report)
    HttpConnection.receive = spinning_receive  # type: ignore[assignment,method-assign]
    stage4_protocol.main(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
