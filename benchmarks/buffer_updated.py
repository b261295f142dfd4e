"""Stage 4's per-read cost in-process: PooledProtocol.buffer_updated on a keep-alive GET.

    .venv/bin/python benchmarks/buffer_updated.py [--browser] [CHECKOUT]

CHECKOUT (default: this one) is the root of a qpslab tree whose `servers` package is timed, so
two versions can be compared in one sitting (e.g. a `git worktree` of an older commit). Pin it
(`taskset -c 0`) and alternate versions: the machine's noise is of the order of the effects.
Prints the best of 5 rounds of 100,000 calls, in µs per call; the transport is a stub, so this is
the Python between the socket and the answer, without the kernel. --browser sends the 12 header
fields of scenarios/plaintext-browser.toml instead of one.
"""

from __future__ import annotations

import sys
import timeit
from pathlib import Path

ROUNDS, CALLS = 5, 100_000
REQUEST = b"GET /plaintext HTTP/1.1\r\nHost: localhost:8080\r\n\r\n"
BROWSER = (b"GET /plaintext HTTP/1.1\r\nHost: localhost:8080\r\n"
           b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
           b"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
           b"Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n"
           b"Upgrade-Insecure-Requests: 1\r\nSec-Fetch-Dest: document\r\nSec-Fetch-Mode: navigate\r\n"
           b"Sec-Fetch-Site: none\r\nSec-Fetch-User: ?1\r\nCookie: session=abcdef0123456789; theme=dark\r\n\r\n")


class StubTransport:
    def writelines(self, data: object) -> None: ...
    def write(self, data: object) -> None: ...
    def close(self) -> None: ...
    def abort(self) -> None: ...
    def pause_reading(self) -> None: ...
    def resume_reading(self) -> None: ...
    def is_closing(self) -> bool:
        return False


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--browser"]
    request = BROWSER if "--browser" in sys.argv[1:] else REQUEST
    root = Path(args[0] if args else Path(__file__).resolve().parent.parent)
    sys.path.insert(0, str(root))
    from servers.core import ProtocolOptions
    from servers.io.flags import ServerConfig
    from servers.io.pooled import PooledServer

    options = ProtocolOptions(keep_alive=True, fast_parser=True, gzip=True, cache=True)
    server = PooledServer("bench", ServerConfig("127.0.0.1", 0, 10.0, 10_000), options, pipelining=True)
    protocol = server.protocol()
    protocol.connection_made(StubTransport())  # type: ignore[arg-type]
    buffer = protocol.get_buffer(len(request))
    buffer[:len(request)] = request
    best = min(timeit.repeat(lambda: protocol.buffer_updated(len(request)), number=CALLS, repeat=ROUNDS))
    print(f"{root}: {best / CALLS * 1e6:.2f} µs per buffer_updated")


if __name__ == "__main__":
    main()
