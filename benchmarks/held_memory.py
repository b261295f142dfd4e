"""What a held connection costs a server, and where the bytes go: RSS and tracemalloc, exactly N.

    .venv/bin/python benchmarks/held_memory.py --stage 4 [--state held|idle|partial]
                                               [--connections 1000] [--trace] [CHECKOUT]

Starts the stage's server (of CHECKOUT, default this one) on its own, opens N connections to it
and puts each in one state: `held`, a /delay/1000 request the server is holding (hold-1000's
state); `idle`, a keep-alive connection after one answered request (hold-5000's; stage 4 only,
stages 0-3 close it); `partial`, a request head begun and not finished. It prints the server's
RSS before and with them, per connection. With --trace the server runs under tracemalloc and the
growth is listed by the line that allocated it (RSS is then tracemalloc's too: read it without).
Unlike `lab compare --scenarios hold-1000`, which samples RSS under a closed loop, every
connection here is in the state at the moment of measuring; the lab's figure is the one to quote.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

STATES = {
    "held": b"GET /delay/1000 HTTP/1.1\r\nHost: bench\r\n\r\n",
    "idle": b"GET /plaintext HTTP/1.1\r\nHost: bench\r\n\r\n",
    "partial": b"GET /plaintext HTTP/1.1\r\nHost: bench\r\nX-Partial: ",
}
# Python's allocator grows by 1 MiB arenas: settle before reading RSS so freed ones are returned.
SETTLE_S = 0.3
# Connections opened back to back starve the server's accepts and stall for a SYN retransmit
# (1 s) after a few hundred here; a pause every burst keeps 3,000 under 1.5 s.
CONNECT_BURST, CONNECT_PAUSE_S = 50, 0.02
# The server under trace takes snapshots when told to, on a thread of its own (the loop is busy).
BOOTSTRAP = """
import runpy, sys, threading, tracemalloc
def snapshots():
    for line in sys.stdin:
        tracemalloc.take_snapshot().dump(line.strip())
        print("snapshot", flush=True)
if {trace}:
    tracemalloc.start(8)
threading.Thread(target=snapshots, daemon=True).start()
sys.argv = [{module!r}, "--port", "0", "--max-connections", "20000"]
runpy.run_module({module!r}, run_name="__main__")
"""


def start(root: Path, stage: int, trace: bool) -> subprocess.Popen[str]:
    sys.path.insert(0, str(root))
    from servers import STAGES

    code = BOOTSTRAP.format(trace=trace, module=STAGES[stage].module)
    return subprocess.Popen([sys.executable, "-c", code], cwd=root, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)


def rss(server: psutil.Process) -> int:
    time.sleep(SETTLE_S)
    return int(server.memory_info().rss)


def snapshot(server: subprocess.Popen[str], path: str) -> object:
    import tracemalloc

    assert server.stdin is not None and server.stdout is not None
    print(path, file=server.stdin, flush=True)
    assert server.stdout.readline().strip() == "snapshot"
    return tracemalloc.Snapshot.load(path)


def open_connections(port: int, count: int, state: str) -> list[socket.socket]:
    request = STATES[state]
    # Connected first and asked after, so that a held request's second has not passed when measured.
    sockets = []
    for index in range(count):
        sockets.append(socket.create_connection(("127.0.0.1", port)))
        if index % CONNECT_BURST == CONNECT_BURST - 1:
            time.sleep(CONNECT_PAUSE_S)
    for sock in sockets:
        sock.sendall(request)
    if state == "idle":
        for sock in sockets:
            answer = sock.recv(4096)
            if not answer.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"the server did not answer a keep-alive request: {answer[:80]!r}")
    return sockets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", type=int, choices=range(5), required=True)
    parser.add_argument("--state", choices=tuple(STATES), default="held")
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--trace", action="store_true", help="list the growth by allocating line")
    parser.add_argument("--top", type=int, default=15, help="lines listed with --trace")
    parser.add_argument("checkout", nargs="?", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args()
    server = start(args.checkout, args.stage, args.trace)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline().rsplit(":", 1)[1])
        process = psutil.Process(server.pid)
        # One connection through every path first, so that what is made once is not counted.
        open_connections(port, 1, args.state)[0].close()
        folder = tempfile.mkdtemp()
        before_trace = snapshot(server, os.path.join(folder, "before")) if args.trace else None
        before = rss(process)
        sockets = open_connections(port, args.connections, args.state)
        with_them = rss(process)  # a held request's second is not over yet (asked after connecting)
        after_trace = snapshot(server, os.path.join(folder, "after")) if args.trace else None
        per = (with_them - before) / args.connections
        print(f"stage {args.stage}, {args.connections} {args.state}: RSS {before / 1e6:.1f} → "
              f"{with_them / 1e6:.1f} MB, {per:,.0f} bytes per connection"
              + (" (under tracemalloc)" if args.trace else ""))
        if args.trace:
            stats = after_trace.compare_to(before_trace, "lineno")  # type: ignore[attr-defined]
            total = sum(s.size_diff for s in stats)
            print(f"traced growth {total / args.connections:,.0f} bytes per connection; by line:")
            for stat in stats[:args.top]:
                frame = stat.traceback[0]
                print(f"{stat.size_diff / args.connections:8,.0f} B {stat.count_diff / args.connections:6.2f} "
                      f"blocks  {frame.filename.removeprefix(str(args.checkout) + '/')}:{frame.lineno}")
        for sock in sockets:
            sock.close()
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
