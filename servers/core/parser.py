"""The core's incremental HTTP/1.1 request parser: any split of bytes in, Requests out.

Pure Python and strict: it accepts only CRLF line ends and the methods in KNOWN_METHODS, and
refuses anything ambiguous (see request.frame). Stage 4 can swap it for llhttp (fastparser.py);
both return the same events, so the rest of the core cannot tell them apart.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from typing import Literal

from .errors import ProtocolError
from .grammar import BAD_VALUE_BYTE, TOKEN, chunk_size
from .limits import (
    MAX_BODY_BYTES,
    MAX_CHUNK_METADATA_BYTES,
    MAX_HEADER_BYTES,
    MAX_HEADER_COUNT,
    MAX_REQUEST_LINE_BYTES,
)
from .request import CONTINUE_EXPECTED, KNOWN_METHODS, ContinueExpected, Request, check_version, frame

Event = Request | ProtocolError | ContinueExpected

# origin-form (/path?query), asterisk-form (*) and absolute-form (http://host/path); no controls.
_TARGET = re.compile(rb"(?:/|\*|https?://)[\x21-\x7e]*")
_CONNECT_TARGET = re.compile(rb"[\x21-\x7e]+")
_VERSION = re.compile(rb"HTTP/(\d)\.(\d)")

class _Step(enum.Enum):
    AGAIN = "the reader moved the parser to another state: read on"


Step = Event | None | Literal[_Step.AGAIN]  # what a reader returns; None: it needs more bytes
# The parser's state is the reader of what it expects next, so a state and its reader cannot be
# paired wrongly (h11 pairs them by name in a table; here there is no table to keep in step).
Reader = Callable[["RequestParser"], Step]


class RequestParser:
    """Feed bytes with `feed`; it returns the requests completed so far.

    A malformed request ends the list with a ProtocolError, after which the parser is dead: the
    connection answers the error and closes, as any byte after a framing error is suspect.
    """

    __slots__ = (
        "_body", "_buf", "_continue_expected", "_framing_keep_alive", "_head", "_header_bytes", "_headers",
        "_metadata", "_remaining", "_request_line", "_scan", "_state",
    )

    def __init__(self) -> None:
        self._buf = bytearray()
        self._body = bytearray()
        self._headers: list[tuple[bytes, bytes]] = []
        self.reset()

    def reset(self) -> None:
        """Forget everything, so a pooled connection can reuse this parser."""
        self._buf.clear()
        self._body.clear()
        self._state: Reader = RequestParser._read_request_head
        self._scan = 0  # where the head's next unread line starts in _buf
        self._request_line: tuple[bytes, bytes, bytes] | None = None
        self._headers = []
        self._header_bytes = 0
        self._head: tuple[bytes, bytes, bytes, list[tuple[bytes, bytes]]] | None = None
        self._remaining = 0
        self._metadata = 0
        self._framing_keep_alive = False
        self._continue_expected = False

    @property
    def idle(self) -> bool:
        """True between requests: no byte of a next request has arrived yet."""
        return self._state is RequestParser._read_request_head and not self._buf

    def feed(self, data: bytes | bytearray | memoryview) -> list[Event]:
        if self._state is RequestParser._read_nothing_more:
            return []
        self._buf += data
        events: list[Event] = []
        try:
            while (request := self._next()) is not None:
                events.append(request)
        except ProtocolError as error:
            self._state = RequestParser._read_nothing_more
            self._buf.clear()
            events.append(error)
        return events

    def _next(self) -> Event | None:
        while (step := self._state(self)) is _Step.AGAIN:
            pass
        return step

    def _read_request_head(self) -> Step:
        if not self._read_head():
            return None
        if self._continue_expected:
            self._continue_expected = False
            return CONTINUE_EXPECTED
        return _Step.AGAIN

    # -- head ---------------------------------------------------------------------------------

    def _read_head(self) -> bool:
        """Consume head lines as they complete, checking each at once (so a bad byte is refused
        when its line ends, not when the head does) and scanning every byte once."""
        buf = self._buf
        while True:
            start = self._scan
            newline = buf.find(b"\n", start)
            if newline < 0:
                carriage_return = buf.find(b"\r", start)
                if 0 <= carriage_return < len(buf) - 1:  # a CR with no LF after it
                    raise ProtocolError(400, "bare CR in head")
                # A CR just arrived ends the line's content: it is not counted against the limits.
                self._check_partial_line(len(buf) - start - (carriage_return == len(buf) - 1))
                return False
            if newline == start or buf[newline - 1] != 13:
                raise ProtocolError(400, "line ends must be CRLF")
            line = bytes(buf[start : newline - 1])
            self._scan = newline + 1
            if b"\r" in line:
                raise ProtocolError(400, "bare CR in head")
            if self._request_line is None:
                if line:
                    if len(line) > MAX_REQUEST_LINE_BYTES:
                        raise ProtocolError(414, "request line too long")
                    self._request_line = _parse_request_line(line)
                # else: an empty line before the request line, ignored (RFC 9112 §2.2)
                continue
            if line:
                self._header_bytes += len(line) + 2
                if self._header_bytes > MAX_HEADER_BYTES:
                    raise ProtocolError(431, "header section too large")
                if len(self._headers) >= MAX_HEADER_COUNT:
                    raise ProtocolError(431, "too many header fields")
                self._headers.append(_parse_header_line(line))
                continue
            del buf[: self._scan]
            self._scan = 0
            return self._begin_body()

    def _check_partial_line(self, length: int) -> None:
        if self._request_line is None:
            if length > MAX_REQUEST_LINE_BYTES:
                raise ProtocolError(414, "request line too long")
        elif self._header_bytes + length > MAX_HEADER_BYTES:
            raise ProtocolError(431, "header section too large")

    def _begin_body(self) -> bool:
        assert self._request_line is not None
        method, target, version = self._request_line
        headers = self._headers
        framing = frame(method, version, headers)
        self._head = (method, target, version, headers)
        self._request_line = None
        self._headers = []
        self._header_bytes = 0
        self._framing_keep_alive = framing.keep_alive
        self._continue_expected = framing.expects_continue
        if framing.chunked:
            self._metadata = 0
            self._state = RequestParser._read_chunk_size
        else:
            self._remaining = framing.content_length
            self._state = RequestParser._read_body
        return True

    # -- bodies -------------------------------------------------------------------------------

    def _read_body(self) -> Request | None:
        buf = self._buf
        remaining = self._remaining
        if remaining == 0:
            return self._finish(b"")
        if len(buf) < remaining:
            return None
        body = bytes(buf[:remaining])
        del buf[:remaining]
        return self._finish(body)

    def _read_chunk_size(self) -> Step:
        line = self._take_line()
        if line is None:
            return None
        size = chunk_size(line)
        if size is None:
            raise ProtocolError(400, "invalid chunk size")
        if len(self._body) + size > MAX_BODY_BYTES:
            raise ProtocolError(413, "request body too large")
        self._remaining = size
        self._state = RequestParser._read_chunk_data if size else RequestParser._read_trailers
        return _Step.AGAIN

    def _read_chunk_data(self) -> Step:
        buf = self._buf
        take = min(self._remaining, len(buf))
        self._body += buf[:take]
        del buf[:take]
        self._remaining -= take
        if self._remaining:
            return None
        self._state = RequestParser._read_chunk_data_end
        return _Step.AGAIN

    def _read_chunk_data_end(self) -> Step:
        if len(self._buf) < 2:
            return None
        if self._buf[:2] != b"\r\n":
            raise ProtocolError(400, "chunk data not followed by CRLF")
        del self._buf[:2]
        self._state = RequestParser._read_chunk_size
        return _Step.AGAIN

    def _read_trailers(self) -> Request | None:
        while (line := self._take_line()) is not None:
            if line:
                _parse_header_line(line)  # trailers are ignored, but must be well-formed
            else:
                body = bytes(self._body)
                self._body.clear()
                return self._finish(body)
        return None

    def _take_line(self) -> bytes | None:
        """One CRLF-terminated line of chunk framing, bounded by MAX_CHUNK_METADATA_BYTES."""
        buf = self._buf
        end = buf.find(b"\r\n")
        if end < 0:
            if self._metadata + len(buf) > MAX_CHUNK_METADATA_BYTES:
                raise ProtocolError(400, "chunk metadata too long")
            return None
        self._metadata += end + 2
        if self._metadata > MAX_CHUNK_METADATA_BYTES:
            raise ProtocolError(400, "chunk metadata too long")
        line = bytes(buf[:end])
        del buf[: end + 2]
        return line

    def _finish(self, body: bytes) -> Request:
        assert self._head is not None
        method, target, version, headers = self._head
        self._head = None
        # After a request that ends its connection nothing more is read, as in llhttp.
        keep_alive = self._framing_keep_alive
        self._state = RequestParser._read_request_head if keep_alive else RequestParser._read_nothing_more
        return Request(method, target, version, headers, body, keep_alive)

    def _read_nothing_more(self) -> None:
        """The state after a framing error or a request that ends the connection."""
        return None


def _parse_request_line(line: bytes) -> tuple[bytes, bytes, bytes]:
    parts = [part for part in line.split(b" ") if part]  # llhttp allows runs of spaces too
    if len(parts) != 3:
        raise ProtocolError(400, "malformed request line")
    method, target, version_token = parts
    if method not in KNOWN_METHODS:
        raise ProtocolError(400, "unknown method")
    # CONNECT's authority-form is read as llhttp reads any CONNECT target, to refuse it whole.
    if (_CONNECT_TARGET if method == b"CONNECT" else _TARGET).fullmatch(target) is None:
        raise ProtocolError(400, "malformed request target")
    version = _VERSION.fullmatch(version_token)
    if version is None:
        raise ProtocolError(400, "malformed HTTP version")
    numbers = version.group(1) + b"." + version.group(2)
    check_version(numbers)
    return method, target, numbers


def _parse_header_line(line: bytes) -> tuple[bytes, bytes]:
    name, colon, value = line.partition(b":")
    if not colon or TOKEN.fullmatch(name) is None:
        # A leading space or tab is obsolete line folding (RFC 9112 §5.2): refused as well.
        raise ProtocolError(400, "malformed header field")
    value = value.strip(b" \t")
    if BAD_VALUE_BYTE.search(value) is not None:
        raise ProtocolError(400, "invalid byte in header value")
    return name.lower(), value
