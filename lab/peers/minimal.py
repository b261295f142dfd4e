"""The floor: uvloop + llhttp answering one canned response, checking nothing.

Not a server anyone should run. It is the reference the lab measures against: what a Python
process on this machine's loopback costs per request when it does no HTTP work of its own, so
that (a) the load generator's ceiling is measured against something that never limits it
(`lab calibrate`) and (b) a stage's CPU per request can be read against the least any Python
server can spend. It speaks just enough HTTP/1.1 for the lab's clients: keep-alive, pipelining
(answers in request order, one write per read), and a 200 with a fixed body for every request.
With `--close` it answers the first request of each connection with `Connection: close` and
closes, as stages 0-3 do: the generator's ceiling with a new connection per request.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from email.utils import formatdate

import httptools
import uvloop

BODY = b"Hello, World!"


def _answer(closing: bool) -> bytes:
    # One Date for the process's life: this server measures the floor, not Date's upkeep.
    return (b"HTTP/1.1 200 OK\r\nServer: minimal\r\nDate: " + formatdate(usegmt=True).encode()
            + (b"\r\nConnection: close" if closing else b"")
            + b"\r\nContent-Type: text/plain\r\nContent-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY)


ANSWER = _answer(closing=False)
CLOSING_ANSWER = _answer(closing=True)


class Minimal(asyncio.Protocol):
    closing = False  # --close: one answer per connection

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpRequestParser(self)
        self._done = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def on_message_complete(self) -> None:
        self._done += 1

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError:
            assert self._transport is not None
            self._transport.close()
            return
        if self._done:
            assert self._transport is not None
            if self.closing:
                self._transport.write(CLOSING_ANSWER)
                self._transport.close()
                return
            self._transport.write(ANSWER * self._done)
            self._done = 0


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Minimal, host, port)
    print(f"listening on http://{host}:{server.sockets[0].getsockname()[1]}", flush=True)
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await stopping.wait()
    server.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="minimal", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--close", action="store_true", help="answer one request per connection, then close")
    args = parser.parse_args(argv)
    Minimal.closing = args.close
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve(args.host, args.port))


if __name__ == "__main__":
    main()
