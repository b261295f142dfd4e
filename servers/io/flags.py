"""What every server's command line shares: flags, the config they make, the readiness line."""

from __future__ import annotations

import argparse
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from ..core.limits import MAX_CONNECTIONS, REQUEST_TIMEOUT_S


@dataclass(frozen=True)
class ServerConfig:
    host: str
    port: int
    request_timeout: float  # seconds a client has to send one whole request
    max_connections: int  # connections held at once; then a new one displaces the slowest (core/admission.py)


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0..65535 (0 picks a free port), got {text}")
    return value


def argument_parser(prog: str, description: str, max_connections: int = MAX_CONNECTIONS) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=8080, help="port; 0 picks a free one (default 8080)")
    parser.add_argument("--request-timeout", type=positive_float, default=REQUEST_TIMEOUT_S,
                        help=f"seconds a client may take to send a request (default {REQUEST_TIMEOUT_S})")
    parser.add_argument("--max-connections", type=positive_int, default=max_connections,
                        help=f"connections held at once; past it a new client displaces the one that has made the "
                             f"least progress, or gets 503 when all are being served (default {max_connections})")
    return parser


def server_config(args: argparse.Namespace) -> ServerConfig:
    return ServerConfig(args.host, args.port, args.request_timeout, args.max_connections)


def announce(sock: socket.socket) -> None:
    """The readiness line the harness and tests wait for; always the first line on stdout."""
    host, port = sock.getsockname()[:2]
    print(f"listening on http://{host}:{port}", flush=True)


@contextmanager
def listening_errors(host: str, port: int) -> Iterator[None]:
    """A port in use (or an address not ours) ends the server with one clear line and exit 2."""
    try:
        yield
    except OSError as error:
        print(f"cannot listen on {host}:{port}: {error.strerror or error}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
