"""Stage 4 with a known amount of extra Python work per read, in a function of its own: the target
of the counted-run tests and of the slowdown table (docs/results-2-core.md): `--work N` adds N loop
iterations before each read is handled (about 230 instructions each here)."""

from __future__ import annotations

import sys

from servers import stage4_protocol
from servers.core.connection import HttpConnection


def extra_work(iterations: int) -> int:
    total = 0
    for step in range(iterations):
        total += step
    return total


def main(argv: list[str]) -> None:
    iterations = int(argv[argv.index("--work") + 1])
    rest = argv[:argv.index("--work")] + argv[argv.index("--work") + 2:]
    receive = HttpConnection.receive

    def busy_receive(self: HttpConnection, data: bytes | bytearray | memoryview, now: float) -> object:
        extra_work(iterations)
        return receive(self, data, now)

    HttpConnection.receive = busy_receive  # type: ignore[assignment,method-assign]
    stage4_protocol.main(rest)


if __name__ == "__main__":
    main(sys.argv[1:])
