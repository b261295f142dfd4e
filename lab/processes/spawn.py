"""Child processes that cannot outlive the lab: pinned to CPUs, killed if the lab dies."""

from __future__ import annotations

import contextlib
import os
import re
import resource
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import IO

import oscalls

# Seconds a server may take to print its readiness line (imports of pandas-free modules: ~0.3 s).
START_TIMEOUT_S = 15.0
# Seconds between SIGTERM and SIGKILL when stopping a child; servers promise to stop within 2 s.
STOP_GRACE_S = 3.0
_LISTENING = re.compile(r"^listening on (http://\S+)$", re.MULTILINE)
# Seconds between looks at a starting server's output for its listening line.
_POLL_S = 0.01
# Bytes of a server's output read for an error message: its last lines, not a day of access logs.
_TAIL_BYTES = 16 * 1024


class ProcessError(RuntimeError):
    """A child that would not start, or died; the message carries its last stderr lines."""


def _child_setup(cpus: frozenset[int] | None) -> None:
    """Runs in the child between fork and exec: die with the parent, run on the chosen CPUs, and
    may open as many files as the hard limit allows (5,000 connections need 5,000 descriptors)."""
    oscalls.die_with_parent(signal.SIGKILL)
    if cpus:
        oscalls.pin(cpus)
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def spawn(argv: Sequence[str], cpus: frozenset[int] | None = None, stdout: int | IO[bytes] | None = None,
          stderr: IO[bytes] | None = None, env: dict[str, str] | None = None, *,
          cwd: str | None = None) -> subprocess.Popen[bytes]:
    """Start `argv` pinned to `cpus` (None: anywhere), in its own process group so that a stop
    reaches its children too, and killed by the kernel if this process dies first."""
    return subprocess.Popen(
        list(argv), stdout=stdout, stderr=stderr, stdin=subprocess.DEVNULL, env=env, cwd=cwd,
        # preexec_fn is the only way to set PR_SET_PDEATHSIG in the child; it runs no Python
        # that could take a lock held by another thread (a ctypes call and a syscall).
        preexec_fn=lambda: _child_setup(cpus), start_new_session=True,  # noqa: PLW1509
    )


def stop(process: subprocess.Popen[bytes], grace: float = STOP_GRACE_S) -> int:
    """SIGTERM the child's process group, SIGKILL it after `grace` seconds; return the exit code."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            return process.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    return process.wait()


class ServerProcess:
    """A server the lab starts: a qpslab stage, which prints `listening on http://HOST:PORT`
    first, or a target file's command."""

    def __init__(self, module: str, args: Sequence[str] = (), cpus: frozenset[int] | None = None,
                 command: Sequence[str] | None = None, *, env: Sequence[tuple[str, str]] = (),
                 cwd: str | None = None, announces: bool = False, wrap: Sequence[str] = (),
                 environment: Mapping[str, str] | None = None) -> None:
        """A qpslab server module, or a `command` whose argv and `env` values have "{port}"
        placeholders: the lab picks a free port. A command that `announces` itself is read for
        its listening line; otherwise the caller polls the port until it answers. `wrap`: an argv
        the server's runs under (valgrind, for a counted run); `environment`: what `env` is added
        to (default the lab's own)."""
        self.port = free_port() if command else 0
        port = str(self.port)
        self.argv = [*wrap, *([part.replace("{port}", port) for part in command] if command
                              else [sys.executable, "-m", module, "--port", "0", *args])]
        inherited = os.environ if environment is None else environment
        self.env = ({**inherited, **{name: value.replace("{port}", port) for name, value in env}}
                    if env or environment is not None else None)
        self.cwd = cwd
        self.announces = command is None or announces
        self.cpus = cpus
        self.url = ""
        self.process: subprocess.Popen[bytes] | None = None
        # stdout and stderr into one file: a chatty server cannot block on a pipe nobody reads. The
        # child appends through its own handle and the lab reads through another, so the lab's
        # seeks never move where the child writes (one shared handle lost the child's bytes).
        fd, path = tempfile.mkstemp(prefix="qpslab-server-")
        os.close(fd)
        self._written: IO[bytes] = open(path, "ab")  # noqa: SIM115  # closed once the child has its own
        self._output: IO[bytes] = open(path, "rb")  # noqa: SIM115  # closed by stop, which keeps the tail
        os.unlink(path)  # gone with the two handles
        self._last_output = ""

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self, timeout: float = START_TIMEOUT_S) -> str:
        self.process = spawn(self.argv, self.cpus, stdout=self._written, stderr=self._written, env=self.env,
                             cwd=self.cwd)
        self._written.close()
        if not self.announces:
            self.url = f"http://127.0.0.1:{self.port}"
            return self.url
        deadline = time.monotonic() + timeout
        while (match := _LISTENING.search(self._text())) is None:
            if not self.alive() or time.monotonic() > deadline:
                state = "exited" if not self.alive() else f"said nothing within {timeout:.0f} s"
                self.stop()
                raise ProcessError(f"{' '.join(self.argv)} did not start ({state}): {self.output_tail()}")
            time.sleep(_POLL_S)
        self.url = match.group(1)
        return self.url

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _text(self, last: int | None = None) -> str:
        """What the server printed so far, or its `last` bytes (a server may log every request);
        after `stop`, the last bytes it printed."""
        if self._output.closed:
            return self._last_output
        size = self._output.seek(0, os.SEEK_END)
        self._output.seek(0 if last is None else max(0, size - last))
        return self._output.read().decode(errors="replace")

    def output_tail(self, lines: int = 8) -> str:
        """The last lines the server printed (stdout and stderr), for an error message."""
        return " | ".join(self._text(_TAIL_BYTES).strip().splitlines()[-lines:]) or "(no output)"

    def stop(self, grace: float = STOP_GRACE_S) -> int | None:
        """Stop the server (if started) and close its output, keeping the tail for `output_tail`."""
        code = None if self.process is None else stop(self.process, grace)
        self._written.close()
        if not self._output.closed:
            self._last_output = self._text(_TAIL_BYTES)
            self._output.close()
        return code


def free_port() -> int:
    """A port free right now on 127.0.0.1 (for peers that cannot be told to pick one)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def first_line(stream: IO[bytes], timeout: float) -> str:
    """The first line of a child's stdout, or what arrived before `timeout` or its exit."""
    deadline = time.monotonic() + timeout
    data = b""
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        while b"\n" not in data:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                break
            chunk = os.read(stream.fileno(), 4096)
            if not chunk:
                break
            data += chunk
    return data.split(b"\n", 1)[0].decode(errors="replace").strip()
