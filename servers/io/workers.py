"""Several server processes on one port (SO_REUSEPORT): the kernel spreads connections over them.

The parent reserves the port, forks the workers, announces once all of them listen, and
supervises: SIGTERM/SIGINT stop every worker; a worker that dies stops the whole server rather
than leaving it silently smaller. Each worker keeps its own counters (/stats is per worker).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import time
from collections.abc import Callable

import oscalls

from ..core.limits import SHUTDOWN_GRACE_S
from .flags import announce, listening_errors

_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGCHLD}
# Seconds all workers together get to start listening.
START_TIMEOUT_S = 10.0

Serve = Callable[[int, Callable[[socket.socket], object]], None]  # (port, on_listening) → runs until stopped


def serve_workers(count: int, host: str, port: int, serve: Serve) -> int:
    """Run `serve` in `count` forked workers sharing host:port; return the exit code."""
    reserve = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    reserve.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    with listening_errors(host, port):
        reserve.bind((host, port))  # bound, never listening: holds the port, receives nothing
    port = reserve.getsockname()[1]
    signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    ready_read, ready_write = os.pipe()
    workers = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                os.close(ready_read)
                reserve.close()
                oscalls.die_with_parent(signal.SIGTERM)
                signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)
                serve(port, lambda sock: os.write(ready_write, b"."))
                code = 0
            finally:
                os._exit(code)
        workers.append(pid)
    os.close(ready_write)
    try:
        if not _all_ready(ready_read, count):
            print(f"not all {count} workers started", file=sys.stderr, flush=True)
            return 1
        announce(reserve)
        while True:
            received = signal.sigwait(_SIGNALS)
            if received != signal.SIGCHLD:
                return 0
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid in workers:
                print(f"worker {pid} exited (status {status}); stopping the server", file=sys.stderr, flush=True)
                return 1
    finally:
        _stop(workers)
        os.close(ready_read)
        reserve.close()


def _all_ready(fd: int, count: int) -> bool:
    deadline = time.monotonic() + START_TIMEOUT_S
    ready = 0
    os.set_blocking(fd, False)
    while ready < count and time.monotonic() < deadline:
        try:
            chunk = os.read(fd, count)
        except BlockingIOError:
            time.sleep(0.01)
            continue
        if not chunk:  # every worker closed its end: some died before listening
            return False
        ready += len(chunk)
    return ready >= count


def _stop(workers: list[int]) -> None:
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + SHUTDOWN_GRACE_S + 0.3
    alive = set(workers)
    while alive and time.monotonic() < deadline:
        for pid in list(alive):
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    alive.discard(pid)
            except ChildProcessError:
                alive.discard(pid)
        time.sleep(0.01)
    for pid in alive:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
