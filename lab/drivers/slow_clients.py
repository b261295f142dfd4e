"""Hostile clients beside a run's real load: slow headers, slow bodies, or never reading.

`python -m lab.drivers.slow_clients URL --clients N --kind header|body|reader --out FILE` opens
N connections to URL (127.0.0.1 in every use the lab makes of it) and keeps each as slow as its
kind: a request head sent one byte every `--interval` seconds and never finished (slowloris), a
whole head with a body that trickles the same way, or requests for large answers that are never
read. It runs until SIGTERM, then writes how many connections it opened and how many the server
closed. The lab starts it before the load (`[load] slow_clients = N`) and stops it after.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
from pathlib import Path
from urllib.parse import urlsplit

from lab.scenario import SLOW_KINDS

# Seconds between two bytes of a slow client: well under any request timeout the stages use
# (10 s), so that it is the defence, not the timeout, that must deal with them.
TRICKLE_INTERVAL_S = 2.0
# Connections opened at once while the crowd gathers; more at once overflows the listen backlog.
OPEN_BATCH = 100
# Large answers a never-reader asks for at once: more than the socket buffers hold.
READER_PIPELINE = 8
# Seconds the crowd may take to open its connections before it reports ready anyway.
GATHER_TIMEOUT_S = 10.0


def _opening(kind: str, host: str) -> bytes:
    if kind == "header":
        return f"GET /plaintext HTTP/1.1\r\nHost: {host}\r\n".encode()
    if kind == "body":
        return f"POST /echo HTTP/1.1\r\nHost: {host}\r\nContent-Length: 100000\r\n\r\n".encode()
    return f"GET /bytes/1048576 HTTP/1.1\r\nHost: {host}\r\n\r\n".encode() * READER_PIPELINE


class Crowd:
    def __init__(self, url: str, clients: int, kind: str, interval: float) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.clients, self.kind, self.interval = clients, kind, interval
        self.opened = 0
        self.refused = 0  # connections that could not even be opened
        self.closed_by_server = 0

    async def _one(self) -> None:
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        except OSError:
            self.refused += 1
            return
        self.opened += 1
        try:
            writer.write(_opening(self.kind, self.host))
            if self.kind == "reader":
                await reader.read(1)  # wait, never reading more, until the server closes
            else:
                while True:
                    await asyncio.sleep(self.interval)
                    writer.write(b"x" if self.kind == "body" else b"X")
                    await writer.drain()
                    if reader.at_eof():
                        break
        except OSError:
            pass
        self.closed_by_server += 1
        writer.close()

    async def run(self, stopping: asyncio.Event) -> None:
        tasks = []
        for start in range(0, self.clients, OPEN_BATCH):
            tasks += [asyncio.create_task(self._one()) for _ in range(start, min(start + OPEN_BATCH, self.clients))]
            await asyncio.sleep(0.01)
        deadline = asyncio.get_running_loop().time() + GATHER_TIMEOUT_S
        while self.opened + self.refused < self.clients and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        print(f"ready: {self.opened} open, {self.refused} refused", flush=True)  # the lab waits for this line
        await stopping.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _main(args: argparse.Namespace) -> None:
    crowd = Crowd(args.url, args.clients, args.kind, args.interval)
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
    asyncio.run(_main(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
