"""What uvloop's transport costs per reply: one joined buffer against the same bytes as two.

    .venv/bin/python benchmarks/uvloop_write.py

A uvloop transport on one end of a Unix socketpair writes stage 4's plaintext reply (head and
body) 160 times, then the other end is drained (not timed), so every write reaches the kernel
(into an unread socket uvloop would buffer instead); 200 rounds, best of 7, µs per reply.
`write(head + body)` takes uvloop's single-buffer path (one write(2)); `writelines((head,
body))` its several-buffer path (a write context, writev(2)). The same for 16 pipelined
replies, joined or as 32 buffers. Pin it (`taskset -c 0`).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Callable

import uvloop

HEAD = (b"HTTP/1.1 200 OK\r\nServer: qpslab\r\nDate: Sat, 28 Nov 2026 00:40:00 GMT\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Length: 13\r\nETag: \"0123456789abcdef\"\r\n\r\n")
BODY = b"Hello, World!"
REPLIES_PER_DRAIN, ROUNDS, BEST_OF = 160, 200, 7
PIPELINE = 16


async def main() -> None:
    loop = asyncio.get_running_loop()
    ours, theirs = socket.socketpair()
    theirs.setblocking(False)
    transport, _ = await loop.connect_accepted_socket(asyncio.Protocol, ours)

    def drain() -> None:
        try:
            while theirs.recv(1 << 20):
                pass
        except BlockingIOError:
            pass

    ways: dict[str, tuple[Callable[[], object], int]] = {
        "write(head + body)": (lambda: transport.write(HEAD + BODY), 1),
        "writelines((head, body))": (lambda: transport.writelines((HEAD, BODY)), 1),
        f"{PIPELINE} pipelined, joined": (lambda: transport.write(b"".join([HEAD, BODY] * PIPELINE)), PIPELINE),
        f"{PIPELINE} pipelined, writelines": (lambda: transport.writelines([HEAD, BODY] * PIPELINE), PIPELINE),
    }
    best: dict[str, float] = {}
    for _ in range(BEST_OF):
        for name, (send, replies) in ways.items():
            spent = 0.0
            for _ in range(ROUNDS):
                start = time.perf_counter()
                for _ in range(REPLIES_PER_DRAIN // replies):
                    send()
                spent += time.perf_counter() - start
                drain()
            per_reply = spent / ROUNDS / REPLIES_PER_DRAIN * 1e6
            best[name] = min(best.get(name, per_reply), per_reply)
    transport.close()
    theirs.close()
    for name, micros in best.items():
        print(f"{name:32} {micros:.3f} µs per reply")


if __name__ == "__main__":
    uvloop.run(main())
