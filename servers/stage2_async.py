"""Stage 2, non-blocking I/O: asyncio streams on uvloop, one task per connection.

The roadmap's second step: an event loop (libuv, via uvloop; `--loop asyncio` measures what
uvloop buys), a deadline for each request, a concurrency limit, and write backpressure
through drain(). Bytes still flow through StreamReader's buffer and a new bytes per read;
stage 3 removes those copies.
"""

from __future__ import annotations

import asyncio
import time
from functools import partial

from .aio import add_loop_flag, run
from .core import OVERLOADED, STAGE_0_TO_3, App, DateHeader, HttpConnection, Stats, encode_closing
from .core.limits import RECV_BYTES
from .flags import ServerConfig, argument_parser, server_config

NAME = "stage2_async"


async def handle(app: App, date: DateHeader, config: ServerConfig,
                 reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    stats = app.stats
    stats.connection_opened()
    try:
        if stats.open_connections > config.max_connections:
            stats.answered(503)
            writer.write(encode_closing(OVERLOADED, date.at(time.time())))
            await writer.drain()
            return
        conn = HttpConnection(app, STAGE_0_TO_3, date)
        async with asyncio.timeout(config.request_timeout):
            while not conn.closed:
                data = await reader.read(RECV_BYTES)
                if not data:
                    return
                for reply in conn.receive(data, time.time()):
                    if reply.delay:
                        await asyncio.sleep(reply.delay)
                    writer.write(reply.head + reply.body)
                    await writer.drain()
    except (TimeoutError, OSError):  # too slow, or gone
        pass
    finally:
        stats.connection_closed()
        writer.close()


def main(argv: list[str] | None = None) -> None:
    parser = argument_parser(NAME, __doc__.splitlines()[0])
    add_loop_flag(parser)
    args = parser.parse_args(argv)
    config = server_config(args)
    stats = Stats()
    handler = partial(handle, App(stats, NAME), DateHeader(), config)
    run(lambda: asyncio.start_server(handler, config.host, config.port), stats, args.loop)


if __name__ == "__main__":
    main()
