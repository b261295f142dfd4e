"""Stage 2, non-blocking I/O: asyncio streams on uvloop, one task per connection.

The roadmap's second step: an event loop (libuv, via uvloop; `--loop asyncio` measures what
uvloop buys), a deadline for each request, a concurrency limit, and write backpressure
through drain(). Bytes still flow through StreamReader's buffer and a new bytes per read;
stage 3 removes those copies.

Defended against slow clients (slowloris): at the connection limit a new client displaces the
connection that has made the least progress (core/admission.py) instead of being refused, so
clients that trickle their request, or never read their answer, cannot hold the limit against
everyone else until their timeout; 503 only when every connection is being served. And once
the limit is half full, the time a request may take shrinks (to 1 s when full), so a crowded
server closes slow clients even when no newcomer needs their place.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from functools import partial

from .core import STAGE_0_TO_3, App, DateHeader, HttpConnection, Stats, overloaded
from .core.admission import Admission
from .core.limits import RECV_BYTES, SWEEP_INTERVAL_S
from .io.aio import add_loop_flag, run
from .io.flags import ServerConfig, argument_parser, server_config

NAME = "stage2_async"


@dataclass(frozen=True)
class Shared:
    """What all connections share."""

    app: App
    date: DateHeader
    config: ServerConfig
    admission: Admission[asyncio.StreamWriter]


async def handle(shared: Shared, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    app, date, config, admission = shared.app, shared.date, shared.config, shared.admission
    stats = app.stats
    stats.connection_opened()
    try:
        if stats.open_connections > config.max_connections:
            victim = admission.victim()
            if victim is None:  # every connection is being served: refuse this one
                writer.write(overloaded(stats, date.at(time.time())))
                await writer.drain()
                return
            victim.transport.abort()  # its task sees the reset and ends
        admission.began(writer, time.monotonic())
        conn = HttpConnection(app, STAGE_0_TO_3, date)
        async with asyncio.timeout(config.request_timeout):
            while not conn.closed:
                data = await reader.read(RECV_BYTES)
                if not data:
                    return
                for reply in conn.receive(data, time.time()):
                    if reply.delay:
                        admission.held(writer)
                        await asyncio.sleep(reply.delay)
                        admission.began(writer, time.monotonic())
                    writer.write(reply.head + reply.body)
                    await writer.drain()
    except (TimeoutError, OSError):  # too slow, displaced, or gone
        pass
    finally:
        admission.closed(writer)
        stats.connection_closed()
        writer.close()


def sweep(shared: Shared, loop: asyncio.AbstractEventLoop) -> None:
    """When crowded, close the connections whose request has taken longer than the shrunk time."""
    stats, config = shared.app.stats, shared.config
    for writer in shared.admission.crowded_out(time.monotonic(), config.request_timeout, stats.open_connections,
                                               config.max_connections):
        writer.transport.abort()
    loop.call_later(SWEEP_INTERVAL_S, sweep, shared, loop)


async def start(shared: Shared) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    loop.call_later(SWEEP_INTERVAL_S, sweep, shared, loop)
    config = shared.config
    return await asyncio.start_server(partial(handle, shared), config.host, config.port)


def main(argv: list[str] | None = None) -> None:
    parser = argument_parser(NAME, __doc__.splitlines()[0])
    add_loop_flag(parser)
    args = parser.parse_args(argv)
    config = server_config(args)
    stats = Stats()
    shared = Shared(App(stats, NAME), DateHeader(), config, Admission())
    run(partial(start, shared), stats, args.loop)


if __name__ == "__main__":
    main()
