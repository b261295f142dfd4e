"""Where stage 4's Python goes per request, in-process: the parser, the framing rules, the answer.

    .venv/bin/python benchmarks/stage4_parts.py [CHECKOUT]

Times, for a one-header GET and a browser's 12 header fields (the requests of
buffer_updated.py): llhttp alone (httptools calling the adapter's five callbacks, empty), the
llhttp adapter's `feed` (llhttp and its callbacks, the framing rules and the Request), `frame`
alone, the two header lookups the answer makes (Accept-Encoding, If-None-Match), and
HttpConnection.receive (parse and answer, without the protocol and the socket). Best of 5
rounds of 200,000 calls, µs per call; pin it (`taskset -c 0`).
"""

from __future__ import annotations

import sys
import timeit
from collections.abc import Callable
from pathlib import Path

from buffer_updated import BROWSER, REQUEST

ROUNDS, CALLS = 5, 200_000


class EmptyCallbacks:
    """The callbacks the adapter registers, doing nothing: what llhttp and the calls cost."""

    def on_message_begin(self) -> None: ...
    def on_url(self, url: bytes) -> None: ...
    def on_header(self, name: bytes, value: bytes) -> None: ...
    def on_headers_complete(self) -> None: ...
    def on_message_complete(self) -> None: ...


def best(call: Callable[[], object]) -> float:
    return min(timeit.repeat(call, number=CALLS, repeat=ROUNDS)) / CALLS * 1e6


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
    sys.path.insert(0, str(root))
    import httptools

    from servers.core import App, DateHeader, HttpConnection, ProtocolOptions, Request, Stats
    from servers.core.fastparser import FastRequestParser
    from servers.core.request import frame

    options = ProtocolOptions(keep_alive=True, fast_parser=True, gzip=True, cache=True)
    for name, data in (("one header", REQUEST), ("browser", BROWSER)):
        parser = FastRequestParser()
        (request,) = parser.feed(data)
        assert isinstance(request, Request)
        connection = HttpConnection(App(Stats(), "bench"), options, DateHeader())
        bare = httptools.HttpRequestParser(EmptyCallbacks())
        print(f"{name}: llhttp alone {best(lambda: bare.feed_data(data)):.2f}"  # noqa: B023  # timed before the next loop
              f"  feed {best(lambda: parser.feed(data)):.2f}"  # noqa: B023
              f"  frame {best(lambda: frame(request.method, request.version, request.headers)):.2f}"  # noqa: B023
              f"  lookups {best(lambda: (request.header(b'accept-encoding'), request.header(b'if-none-match'))):.2f}"  # noqa: B023
              f"  receive {best(lambda: connection.receive(data, 1.0)):.2f} µs")  # noqa: B023


if __name__ == "__main__":
    main()
