"""Hostile clients beside a run's real load: slow, never reading, resetting, churning.

`python -m lab.hostile.clients URL --clients N --kind KIND --out FILE` keeps N hostile clients
on URL (127.0.0.1 in every use the lab makes of it), each doing what its kind says:

- header: a request head sent one byte every `--interval` seconds and never finished (slowloris);
- body: a whole head, then a body that trickles the same way;
- reader: requests for large answers that are never read;
- reset-request: half a request, then a TCP reset (SO_LINGER 0), again and again;
- reset-response: a request for a large answer, a few bytes of it read, then a reset;
- churn: a connection opened, a request sent, the connection dropped unread, in a loop;
- mixed: the clients divided among all of the above.

It runs until SIGTERM, then writes its tally: connections opened (the repeating kinds open many),
refused, and how many of the slow ones the server closed. The lab starts it before the load
(`[load] slow_clients = N`, `slow_kind = KIND`) and stops it after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import socket
import struct
from pathlib import Path
from urllib.parse import urlsplit

from lab.model.scenario import HOSTILE_KINDS, SLOW_KINDS

# Seconds between two bytes of a slow client: well under any request timeout the stages use
# (10 s), so that it is the defence, not the timeout, that must deal with them.
TRICKLE_INTERVAL_S = 2.0
# Connections opened at once while the crowd gathers; more at once overflows the listen backlog.
OPEN_BATCH = 100
# Large answers a never-reader asks for at once: more than the socket buffers hold.
READER_PIPELINE = 8
# Seconds the crowd may take to open its connections before it reports ready anyway.
GATHER_TIMEOUT_S = 10.0
# Seconds a repeating client (resets, churn) pauses between connections: 100 of them make a storm
# of ~1,000 connections a second without taking the load generator's CPU.
REPEAT_PAUSE_S = 0.1
# Bytes of a large answer a reset-response client reads before resetting: the server is mid-write.
READ_BEFORE_RESET = 4096
REPEATING_KINDS = ("reset-request", "reset-response", "churn")
_LINGER_RESET = struct.pack("ii", 1, 0)  # close() with SO_LINGER 0 sends RST instead of FIN


def _opening(kind: str, host: str) -> bytes:
    if kind == "header":
        return f"GET /plaintext HTTP/1.1\r\nHost: {host}\r\n".encode()
    if kind == "body":
        return f"POST /echo HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100000\r\n\r\n".encode()
    if kind == "reset-request":
        return f"POST /echo HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100\r\n\r\nhalf".encode()
    if kind == "churn":
        return f"GET /plaintext HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
    return f"GET /bytes/1048576 HTTP/1.1\r\nHost: {host}\r\n\r\n".encode() * READER_PIPELINE


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
    writer.transport.abort()


class Crowd:
    def __init__(self, url: str, clients: int, kind: str, interval: float, persist: bool = False) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.clients, self.kind, self.interval, self.persist = clients, kind, interval, persist
        self.opened = 0
        self.refused = 0  # connections that could not even be opened
        self.closed_by_server = 0
        self.ready = 0  # clients that have made their first connection (or failed to)

    def kind_of(self, index: int) -> str:
        return HOSTILE_KINDS[index % len(HOSTILE_KINDS)] if self.kind == "mixed" else self.kind

    async def _one(self, kind: str) -> None:
        """One client: its first connection counts it ready; the repeating kinds go on until
        stopped, and so do the slow ones when they persist (a new connection when one is closed)."""
        first = True
        while True:
            if kind in REPEATING_KINDS:
                await self._repeat(kind)
                self.ready += first
            else:
                await self._slow(kind, first)
            first = False
            if kind not in REPEATING_KINDS and not self.persist:
                return
            await asyncio.sleep(REPEAT_PAUSE_S)

    async def _slow(self, kind: str, first: bool) -> None:
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            self.refused += 1
            self.ready += first
            return
        self.opened += 1
        self.ready += first  # ready once open: it then waits, maybe for the whole run
        try:
            writer.write(_opening(kind, self.host))
            if kind == "reader":
                await reader.read(1)  # wait, never reading more, until the server closes
            else:
                while True:
                    await asyncio.sleep(self.interval)
                    writer.write(b"x" if kind == "body" else b"X")
                    await writer.drain()
                    if reader.at_eof():
                        break
        except OSError:
            pass
        self.closed_by_server += 1
        writer.close()

    async def _repeat(self, kind: str) -> None:
        """One connection of a repeating kind: open, ask, then reset or drop it."""
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            self.refused += 1
            return
        self.opened += 1
        try:
            writer.write(_opening(kind, self.host))
            if kind == "reset-response":
                await reader.read(READ_BEFORE_RESET)
        except OSError:
            pass
        if kind == "churn":
            writer.close()
        else:
            _reset(writer)

    async def run(self, stopping: asyncio.Event) -> None:
        tasks = []
        for start in range(0, self.clients, OPEN_BATCH):
            tasks += [asyncio.create_task(self._one(self.kind_of(i)))
                      for i in range(start, min(start + OPEN_BATCH, self.clients))]
            await asyncio.sleep(0.01)
        deadline = asyncio.get_running_loop().time() + GATHER_TIMEOUT_S
        while self.ready < self.clients and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        print(f"ready: {self.opened} open, {self.refused} refused", flush=True)  # the lab waits for this line
        await stopping.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _main(args: argparse.Namespace) -> None:
    crowd = Crowd(args.url, args.clients, args.kind, args.interval, args.persist)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await crowd.run(stopping)
    args.out.write_text(json.dumps({"kind": args.kind, "asked": args.clients, "opened": crowd.opened,
                                    "refused": crowd.refused, "closed_by_server": crowd.closed_by_server}))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="slow_clients", description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--kind", choices=SLOW_KINDS, default="header")
    parser.add_argument("--interval", type=float, default=TRICKLE_INTERVAL_S)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--persist", action="store_true",
                        help="slow clients the server closes come back (soaks: the pressure lasts)")
    asyncio.run(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
