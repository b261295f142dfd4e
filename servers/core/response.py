"""Responses and their encoding: precomputed status lines, a once-a-second Date, Content-Length."""

from __future__ import annotations

from email.utils import formatdate
from typing import NamedTuple

REASONS = {
    200: "OK",
    304: "Not Modified",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    414: "URI Too Long",
    431: "Request Header Fields Too Large",
    501: "Not Implemented",
    503: "Service Unavailable",
    505: "HTTP Version Not Supported",
}
STATUS_LINES = {code: b"HTTP/1.1 %d %s\r\n" % (code, reason.encode()) for code, reason in REASONS.items()}
SERVER_LINE = b"Server: qpslab\r\n"
CLOSE_LINE = b"Connection: close\r\n"
# The interim response to `Expect: 100-continue`: send the body now.
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
KEEP_ALIVE_LINE = b"Connection: keep-alive\r\n"  # only HTTP/1.0 clients need to be told
TEXT = b"text/plain; charset=utf-8"
JSON = b"application/json"
OCTETS = b"application/octet-stream"  # /echo without a Content-Type of its own


class Response(NamedTuple):
    """What the app answers; the connection turns it into bytes."""

    status: int
    content_type: bytes
    body: bytes
    headers: bytes = b""  # extra header lines, each ending in CRLF (Allow, Retry-After)
    delay: float = 0.0  # seconds the I/O strategy waits before sending (the /delay route)
    cacheable: bool = False  # the same request always gets the same body (stage 4 may cache it)


class Reply(NamedTuple):
    """An encoded response. The strategy waits `delay` seconds, sends head and body, and closes
    the connection after it if `close`; the connection counts it by `status`."""

    head: bytes
    body: bytes
    delay: float
    close: bool
    status: int


class DateHeader:
    """The `Date` line, recomputed only when the second of the clock reading it is given changes.

    The core never reads a clock: the I/O strategy passes `now`, which keeps the core testable.
    """

    __slots__ = ("_line", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._line = b""

    def at(self, now: float) -> bytes:
        second = int(now)
        if second != self._second:
            self._second = second
            self._line = b"Date: " + formatdate(second, usegmt=True).encode() + b"\r\n"
        return self._line


def content_fields(content_type: bytes, length: int) -> bytes:
    return b"Content-Type: " + content_type + b"\r\nContent-Length: " + str(length).encode() + b"\r\n"


def encode(status: int, fields: bytes, body: bytes, date_line: bytes, connection_line: bytes, *, close: bool,
           delay: float = 0.0) -> Reply:
    """The one place a response becomes bytes: status line, Server, Date, the response's own
    `fields`, Connection and the blank line, then `body`."""
    head = b"".join((STATUS_LINES[status], SERVER_LINE, date_line, fields, connection_line, b"\r\n"))
    return Reply(head, body, delay, close, status)


def encode_response(response: Response, date_line: bytes, connection_line: bytes, close: bool) -> Reply:
    """An app's response as it is: its content fields from its body, then its own headers."""
    fields = content_fields(response.content_type, len(response.body)) + response.headers
    return encode(response.status, fields, response.body, date_line, connection_line, close=close,
                  delay=response.delay)


def error_response(status: int, reason: str, headers: bytes = b"") -> Response:
    return Response(status, TEXT, reason.encode() + b"\n", headers)


OVERLOADED = error_response(503, "server at its connection limit", b"Retry-After: 1\r\n")


def encode_closing(response: Response, date_line: bytes) -> Reply:
    """A response that ends its connection (protocol errors, an overloaded server)."""
    return encode_response(response, date_line, CLOSE_LINE, True)
