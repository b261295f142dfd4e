"""Running an asyncio server (stages 2–4): loop choice, readiness line, graceful stop."""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable

import uvloop

from ..core import Stats
from ..core.limits import SHUTDOWN_GRACE_S
from .flags import announce

LOOPS = ("uvloop", "asyncio")
# How often shutdown looks whether the last connection has closed.
_SHUTDOWN_POLL_S = 0.02


def add_loop_flag(parser: argparse.ArgumentParser) -> None:
    """`--loop`: uvloop (libuv) or asyncio's own, to measure what uvloop buys."""
    parser.add_argument("--loop", choices=LOOPS, default="uvloop", help="event loop (default uvloop)")


def run(start: Callable[[], Awaitable[asyncio.Server]], stats: Stats, loop: str,
        on_listening: Callable[[socket.socket], object] = announce) -> None:
    """Start the server `start` makes on the chosen loop, announce it, serve until SIGTERM or
    SIGINT, then stop listening and give open connections SHUTDOWN_GRACE_S to finish."""

    async def serve() -> None:
        try:
            server = await start()
        except OSError as error:
            print(f"cannot listen: {error.strerror or error}", file=sys.stderr, flush=True)
            raise SystemExit(2) from None
        on_listening(server.sockets[0])
        stopping = asyncio.Event()
        running = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            running.add_signal_handler(signum, stopping.set)
        await stopping.wait()
        server.close()
        deadline = time.monotonic() + SHUTDOWN_GRACE_S
        while stats.open_connections and time.monotonic() < deadline:
            await asyncio.sleep(_SHUTDOWN_POLL_S)

    factory = uvloop.new_event_loop if loop == "uvloop" else asyncio.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(serve())
