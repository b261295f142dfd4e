"""llhttp (via httptools) behind the core parser's interface: stage 4's fast parser.

llhttp tokenizes in C; the limits and framing rules stay the core's (request.frame), applied from
llhttp's callbacks, so both parsers accept and refuse the same requests.
"""

from __future__ import annotations

import httptools

from .errors import ProtocolError
from .limits import (
    MAX_BODY_BYTES,
    MAX_CHUNK_METADATA_BYTES,
    MAX_HEADER_BYTES,
    MAX_HEADER_COUNT,
    MAX_REQUEST_LINE_BYTES,
)
from .request import CONTINUE_EXPECTED, KNOWN_METHODS, ContinueExpected, Request, frame, refuse_version

Event = Request | ProtocolError | ContinueExpected
# llhttp's version string → the core's; a dict lookup instead of an encode per request.
_VERSIONS = {"1.1": b"1.1", "1.0": b"1.0"}

_LINE_FRAME_BYTES = len(b"  HTTP/1.1")
# Targets up to this long make a request line within the limit whatever the method.
_SHORT_URL_BYTES = MAX_REQUEST_LINE_BYTES - _LINE_FRAME_BYTES - max(map(len, KNOWN_METHODS))
# The most a head within both limits takes on the wire (request line, header section, CRLFs):
# llhttp hands over a field only once it ends, so while a head or trailers arrive their bytes are
# measured as they come (a value of 1 GiB would otherwise be held whole before any limit saw it).
_HEAD_WIRE_BYTES = MAX_REQUEST_LINE_BYTES + MAX_HEADER_BYTES + 4
# `_fields_bytes_fed` while the fields began in the read being parsed (its earlier bytes are not
# theirs); None while no head or trailers are arriving.
_BEGUN_THIS_READ = -1
_new_tuple = tuple.__new__


class _Closed(Exception):
    """Raised from a callback to stop llhttp after a request that closes the connection."""


class FastRequestParser:
    """Same contract as parser.RequestParser: `feed` returns requests, a ProtocolError ends them."""

    __slots__ = (
        "_body",
        "_body_bytes",
        "_dead",
        "_events",
        "_fields",
        "_fields_bytes_fed",
        "_header_bytes",
        "_headers",
        "_in_body",
        "_keep_alive",
        "_method",
        "_parser",
        "_url",
        "_version",
        "idle",
    )

    def __init__(self) -> None:
        self._events: list[Event] = []
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._fields_bytes_fed: int | None = None
        self.reset()

    def reset(self) -> None:
        """Start afresh; httptools has no reset, so this takes a new llhttp parser."""
        self._parser = httptools.HttpRequestParser(self)
        self._events = []
        self._url = b""
        self._headers = []
        self._fields = self._headers
        self._header_bytes = 0
        self._fields_bytes_fed = None
        self._in_body = False
        self._body = []
        self._body_bytes = 0
        self._keep_alive = False
        self._method = b""
        self._version = b""
        self._dead = False
        self.idle = True  # between requests: no byte of a next request has arrived yet

    def feed(self, data: bytes | bytearray | memoryview) -> list[Event]:
        if self._dead:
            return []
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserCallbackError as error:
            cause = error.__context__  # what our callback raised
            if not isinstance(cause, _Closed):
                self._fail(cause if isinstance(cause, ProtocolError) else ProtocolError(400, str(error)))
        except httptools.HttpParserUpgrade:
            # Unreachable while request.frame ends every upgrade request's connection (llhttp
            # stops at the request's end); kept so a disagreement cannot read tunnel bytes as HTTP.
            self._fail(ProtocolError(400, "protocol upgrade not supported"))
        except httptools.HttpParserError as error:
            self._fail(ProtocolError(400, str(error)))
        fed = self._fields_bytes_fed
        if fed is not None and not self._dead:  # a head or trailers still incomplete after this read
            fed = self._fields_bytes_fed = 0 if fed == _BEGUN_THIS_READ else fed + len(data)
            if fed > _HEAD_WIRE_BYTES:
                self._fail(ProtocolError(400, "chunk metadata too long") if self._in_body
                           else ProtocolError(431, "header section too large"))
        events = self._events
        self._events = []
        return events

    def _fail(self, error: ProtocolError) -> None:
        self._dead = True
        self._events.append(error)

    # -- llhttp callbacks ---------------------------------------------------------------------

    def on_message_begin(self) -> None:
        self.idle = False
        self._fields_bytes_fed = _BEGUN_THIS_READ

    def on_url(self, url: bytes) -> None:
        url = self._url = self._url + url if self._url else url
        # The request line as the core parser measures it: method, target, "HTTP/1.x", two spaces
        # (the method is asked for only when a long target makes it matter).
        if len(url) > _SHORT_URL_BYTES and (
                len(self._parser.get_method()) + len(url) + _LINE_FRAME_BYTES > MAX_REQUEST_LINE_BYTES):
            raise ProtocolError(414, "request line too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        # The count is checked once the head is complete: the byte bound already bounds memory.
        # After a chunked head, llhttp's fields are trailers: checked by llhttp, bounded by the
        # budget on_headers_complete leaves them, collected apart and ignored, as in the core parser.
        self._header_bytes += len(name) + len(value) + 4
        if self._header_bytes > MAX_HEADER_BYTES:
            if self._in_body:
                raise ProtocolError(400, "chunk metadata too long")
            raise ProtocolError(431, "header section too large")
        self._headers.append((name.lower(), value.rstrip(b" \t")))  # llhttp keeps trailing OWS

    def on_headers_complete(self) -> None:
        parser = self._parser
        method = self._method = parser.get_method()
        if method not in KNOWN_METHODS:
            raise ProtocolError(400, "unknown method")
        http_version = parser.get_http_version()
        version = _VERSIONS.get(http_version)
        if version is None:
            if http_version == "0.9":  # llhttp's reading of a request line without a version
                raise ProtocolError(400, "malformed request line")
            refuse_version(http_version.encode())
        self._version = version
        if len(self._headers) > MAX_HEADER_COUNT:
            raise ProtocolError(431, "too many header fields")
        self._fields = self._headers
        self._fields_bytes_fed = None
        framing = frame(method, version, self._fields)
        if framing.chunked:
            self._in_body = True
            self._headers = []
            self._header_bytes = MAX_HEADER_BYTES - MAX_CHUNK_METADATA_BYTES
        self._keep_alive = framing.keep_alive
        if framing.expects_continue:
            self._events.append(CONTINUE_EXPECTED)

    def on_chunk_header(self) -> None:
        # A chunk's size line is read: its data follows, or, after the last, the trailers.
        self._fields_bytes_fed = _BEGUN_THIS_READ

    def on_chunk_complete(self) -> None:
        self._fields_bytes_fed = None

    def on_body(self, body: bytes) -> None:
        self._fields_bytes_fed = None  # a chunk's data, not trailers
        self._body.append(body)
        self._body_bytes += len(body)
        if self._body_bytes > MAX_BODY_BYTES:
            raise ProtocolError(413, "request body too large")

    def on_message_complete(self) -> None:
        body = self._body
        # tuple.__new__ rather than Request(...), whose generated __new__ is a Python frame.
        self._events.append(_new_tuple(Request, (
            self._method,
            self._url,
            self._version,
            self._fields,
            b"".join(body),  # returns a lone chunk itself, copies nothing
            self._keep_alive,
        )))
        # Ready for the next request here rather than in on_message_begin: one callback less.
        self._url = b""
        self._headers = []
        self._header_bytes = 0
        self._in_body = False
        if body:
            self._body = []
            self._body_bytes = 0
        self.idle = True
        if not self._keep_alive:
            # llhttp refuses bytes after a closing request; they are ignored, not an error.
            self._dead = True
            raise _Closed
