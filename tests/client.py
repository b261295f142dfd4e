"""A strict raw-socket HTTP client for the tests: raw bytes out, h11-parsed responses back."""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import urlsplit

import h11

# Seconds any test read may wait; servers answer in milliseconds, so this only bounds failures.
READ_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # lower-cased names; a repeated name keeps its last value
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


def address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def get(path: str, host: str = "t", close: bool = False) -> bytes:
    connection = "Connection: close\r\n" if close else ""
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{connection}\r\n".encode()


def reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the kernel sends RST instead of FIN."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class RawClient:
    """One connection: `send` raw bytes, `read` the next responses parsed by h11 as a client."""

    def __init__(self, url: str, timeout: float = READ_TIMEOUT_S) -> None:
        self.sock = socket.create_connection(address(url), timeout=timeout)
        self._h11 = h11.Connection(h11.CLIENT)
        self._prime()
        self.closed = False

    def _prime(self) -> None:
        # h11 parses a response only after "sending" a request; the bytes really sent are ours.
        self._h11.send(h11.Request(method="GET", target="/", headers=[("Host", "t")]))
        self._h11.send(h11.EndOfMessage())

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read(self) -> Answer | None:
        """The next response, or None if the server closed the connection before sending a byte
        of it. A response cut short, or one h11 cannot parse, raises h11.RemoteProtocolError."""
        response: h11.Response | None = None
        body = b""
        received = self._h11.trailing_data[0]
        while True:
            event = self._h11.next_event()
            if event is h11.NEED_DATA:
                data = self.sock.recv(65536)
                if not data:
                    self.closed = True
                    if not received:
                        return None
                received += data
                self._h11.receive_data(data)
                continue
            if isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert response is not None
                headers = {k.decode().lower(): v.decode() for k, v in response.headers}
                if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
                    try:
                        self._h11.start_next_cycle()
                        self._prime()
                    except h11.LocalProtocolError:
                        pass  # the server said close: no next cycle
                return Answer(response.status_code, headers, body)
            elif isinstance(event, h11.ConnectionClosed):
                self.closed = True
                return None

    def closed_by_server(self, timeout: float) -> bool:
        """True if the server closes (EOF or reset) within `timeout` seconds without answering."""
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def exchange(url: str, raw: bytes) -> Answer:
    """Send `raw` on a new connection and return the first response. A server may refuse a
    request before it has all of it (413 on a Content-Length over the limit) and close; the
    rest of the send then fails, and the answer already sent is read, as a browser or curl does."""
    with RawClient(url) as client:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            client.send(raw)
        answer = client.read()
    assert answer is not None, f"no response to {raw[:60]!r}"
    return answer


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def server_stats(url: str) -> dict[str, Any]:
    """The server's own counters (GET /stats), on a connection of their own."""
    stats: dict[str, Any] = json.loads(exchange(url, get("/stats")).body)
    return stats
