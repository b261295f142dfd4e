"""HTTP/1.1 for a load generator, sans-IO: requests encoded once, responses framed from bytes.

The raw locust client (drivers/locust/raw.py) sends and receives; this module decides where
each response ends (RFC 9112 §6.3), with no socket and no clock, so it is tested in memory.
It keeps only what a benchmark needs of a response (status, body size, whether the
connection may be reused) and is strict where a lenient reader would hide a server's bug: a
malformed or truncated response is a ResponseError, never a guess. Its grammar is the servers'
(servers/core/grammar.py, as llhttp reads it), and its verdict on a response does not depend on
how the bytes arrive: tests/lab/drivers/test_llhttp_corpus.py holds it to llhttp's own response
tests, all at once and byte by byte.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from servers.core.grammar import BAD_VALUE_BYTE, TOKEN, chunk_size

# Largest response head accepted; a server sending more is broken or hostile, not slow.
MAX_HEAD_BYTES = 64 * 1024
# Distinct response heads remembered with their parse: a server repeats its heads byte for byte
# (Date changes once a second), and parsing one costs more than the rest of a request here.
HEAD_CACHE_SIZE = 256
# A reason phrase is tabs, spaces and visible bytes (RFC 9112 §4): no bare CR, no other control.
_STATUS_LINE = re.compile(rb"HTTP/1\.([01]) (\d{3})(?: [\t \x21-\x7e\x80-\xff]*)?")
_BARE_LF = re.compile(rb"(?<!\r)\n")


class ResponseError(Exception):
    """A response that breaks HTTP/1.1; the connection it came on cannot be trusted further."""


class Response(NamedTuple):
    status: int
    body_length: int
    close: bool  # the server ends the connection after it


def encode_request(method: str, target: str, host: str, headers: tuple[tuple[str, str], ...], body: bytes) -> bytes:
    """One request as bytes: Host unless the headers give one, Content-Length for a body."""
    names = {name.lower() for name, _ in headers}
    lines = [f"{method} {target} HTTP/1.1"]
    if "host" not in names:
        lines.append(f"Host: {host}")
    lines += [f"{name}: {value}" for name, value in headers]
    if (body or method in ("POST", "PUT", "PATCH")) and "content-length" not in names:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _Head(NamedTuple):
    status: int
    close: bool
    length: int | None  # Content-Length; None: chunked or until close
    chunked: bool


def _parse_head(head: bytes) -> _Head:
    lines = head.split(b"\r\n")
    match = _STATUS_LINE.fullmatch(lines[0])
    if match is None:
        raise ResponseError(f"bad status line {lines[0][:80]!r}")
    minor, status = match.group(1), int(match.group(2))
    if status < 100:
        raise ResponseError(f"bad status {status}")
    length: int | None = None
    codings: list[bytes] | None = None  # every Transfer-Encoding field's, in order
    connection = b""
    for line in lines[1:]:
        name, value = _field(line)
        if name == b"content-length":
            if not value.isdigit():
                raise ResponseError(f"bad Content-Length {value[:40]!r}")
            if length is not None and int(value) != length:
                raise ResponseError("two different Content-Length values")
            length = int(value)
        elif name == b"transfer-encoding":
            codings = (codings or []) + [c.strip(b" \t").lower() for c in value.split(b",")]
        elif name == b"connection":
            connection += b"," + value.lower()
    tokens = {t.strip(b" \t") for t in connection.split(b",")}
    close = b"close" in tokens or (minor == b"0" and b"keep-alive" not in tokens)
    if codings is None:
        return _Head(status, close, length, False)
    # RFC 9112 §6.3: Transfer-Encoding overrides Content-Length; a response whose last coding is
    # not chunked is delimited by the close.
    chunked = codings[-1] == b"chunked"
    return _Head(status, close or not chunked, None, chunked)


def _field(line: bytes, kind: str = "header") -> tuple[bytes, bytes]:
    """A header or trailer line's lower-cased name and its value without surrounding blanks."""
    name, colon, value = line.partition(b":")
    if not colon or TOKEN.fullmatch(name) is None:
        raise ResponseError(f"bad {kind} line {line[:80]!r}")
    value = value.strip(b" \t")
    if BAD_VALUE_BYTE.search(value) is not None:
        raise ResponseError(f"bad byte in {kind} line {line[:80]!r}")
    return name.lower(), value


def _check_partial_head(partial: bytes) -> None:
    """Refuse a head still arriving as soon as it is broken, as llhttp does, rather than when
    (or if) its end comes: so that how the bytes arrive does not decide the verdict."""
    if _BARE_LF.search(partial) is not None:  # an end that will never come
        raise ResponseError("a line of the response head ends in LF without CR")
    *lines, rest = partial.split(b"\r\n")  # the lines received whole, and the start of the next
    if lines:
        if _STATUS_LINE.fullmatch(lines[0]) is None:
            raise ResponseError(f"bad status line {lines[0][:80]!r}")
        for line in lines[1:]:
            _field(line)
        name = rest.removesuffix(b"\r").partition(b":")[0]  # a CR may be half of the next CRLF
        if name and TOKEN.fullmatch(name) is None:  # a folded line (leading space) among them
            raise ResponseError(f"bad header line {rest[:80]!r}")


_parsed_heads: dict[bytes, _Head] = {}


def _head_of(head: bytes) -> _Head:
    parsed = _parsed_heads.get(head)
    if parsed is None:
        parsed = _parse_head(head)  # raises for a bad head, which is then never remembered
        if len(_parsed_heads) >= HEAD_CACHE_SIZE:
            _parsed_heads.clear()
        _parsed_heads[head] = parsed
    return parsed


class ResponseReader:
    """Frames the responses of one connection, in the order their requests were sent.

    Call `sent(head_only)` for each request written (True for HEAD: its response has no body),
    `feed(data)` with what arrives, and `eof()` when the server closes."""

    __slots__ = ("_buffer", "_closed", "_expected", "_head", "_last", "_received")

    def __init__(self) -> None:
        self._buffer = b""
        self._expected: list[bool] = []  # per request awaiting its response: HEAD?
        self._head: _Head | None = None  # the head of the response whose body is awaited
        self._received = 0  # body bytes of a close-delimited response so far
        self._closed = False  # a response said the connection ends after it
        # The last read that began and ended between responses: (its bytes, what was awaited
        # before it, its responses). A server answers the same request with the same bytes, and
        # the same bytes in the same state frame alike, so a repeat needs no parse.
        self._last: tuple[bytes, list[bool], list[Response]] | None = None

    @property
    def awaiting(self) -> int:
        """Requests sent whose final response has not arrived."""
        return len(self._expected)

    @property
    def idle(self) -> bool:
        """No byte of a response is pending: the server has sent nothing since the last one."""
        return not self._buffer and self._head is None

    def sent(self, head_only: bool = False) -> None:
        self._expected.append(head_only)

    def feed(self, data: bytes) -> list[Response]:
        """Add received bytes; return the responses they complete (interim 1xx ones skipped).
        The list returned may be one returned before: do not change it."""
        if self._closed and data:
            raise ResponseError("bytes after a response that closes the connection")
        last = self._last
        if last is not None and data == last[0] and not self._buffer and self._head is None \
                and self._expected == last[1]:
            del self._expected[:len(last[2])]
            return last[2]
        expected = self._expected[:] if not self._buffer and self._head is None else None
        done = self._feed(data)
        if expected is not None and not self._buffer and self._head is None and not self._closed:
            self._last = (data, expected, done)
        return done

    def _feed(self, data: bytes) -> list[Response]:
        buffer = self._buffer + data if self._buffer else data
        done: list[Response] = []
        position = 0
        while True:
            head = self._head
            if head is None:
                while buffer.startswith(b"\r\n", position):  # empty lines between responses, as llhttp skips
                    position += 2
                end = buffer.find(b"\r\n\r\n", position)
                if end < 0:
                    if len(buffer) - position > MAX_HEAD_BYTES:
                        raise ResponseError(f"response head over {MAX_HEAD_BYTES} bytes")
                    _check_partial_head(buffer[position:])
                    break
                if not self._expected:
                    raise ResponseError("a response nobody asked for")
                head = _head_of(buffer[position:end])
                position = end + 4
                if head.status < 200:
                    if head.status == 101:
                        raise ResponseError("101 Switching Protocols: the client asked for no upgrade")
                    continue  # 100 Continue, 103 Early Hints: the final response follows
                if self._expected[0] or head.status in (204, 304):
                    head = head._replace(length=0, chunked=False)
                elif head.length is None and not head.chunked:
                    self._head = head  # delimited by the close: everything until eof()
                    self._received += len(buffer) - position
                    position = len(buffer)
                    break
                self._head = head
            if head.chunked:
                body, position = self._chunked(buffer, position)
                if body is None:
                    break
            elif head.length is not None:
                if len(buffer) - position < head.length:
                    break
                body = head.length
                position += head.length
            else:  # close-delimited, still open
                self._received += len(buffer) - position
                position = len(buffer)
                break
            self._expected.pop(0)
            self._head = None
            done.append(Response(head.status, body, head.close))
            if head.close:
                if position < len(buffer):
                    raise ResponseError("bytes after a response that closes the connection")
                self._closed = True
                break
        self._buffer = buffer[position:]
        return done

    def _chunked(self, buffer: bytes, position: int) -> tuple[int | None, int]:
        """A whole chunked body from `position`: (its decoded size, the position after its
        trailers), or (None, position) while incomplete."""
        size_total = 0
        at = position
        while True:
            line_end = buffer.find(b"\r\n", at)
            if line_end < 0:
                if len(buffer) - at > MAX_HEAD_BYTES:
                    raise ResponseError("chunk-size line too long")
                return None, position
            size = chunk_size(buffer[at:line_end])
            if size is None:
                raise ResponseError(f"bad chunk-size line {buffer[at:line_end][:40]!r}")
            at = line_end + 2
            if size == 0:
                break
            if len(buffer) - at < size + 2:
                return None, position
            if buffer[at + size:at + size + 2] != b"\r\n":
                raise ResponseError("chunk data not followed by CRLF")
            size_total += size
            at += size + 2
        while True:  # trailer fields, then the empty line
            line_end = buffer.find(b"\r\n", at)
            if line_end < 0:
                if len(buffer) - at > MAX_HEAD_BYTES:
                    raise ResponseError("trailer section too long")
                return None, position
            if line_end == at:
                return size_total, at + 2
            _field(buffer[at:line_end], "trailer")  # trailers are ignored, but must be well-formed
            at = line_end + 2

    def eof(self) -> list[Response]:
        """The server closed: completes a close-delimited response; anything else cut short is
        a ResponseError."""
        head = self._head
        if head is not None and head.length is None and not head.chunked:
            self._expected.pop(0)
            self._head = None
            received, self._received = self._received, 0
            return [Response(head.status, received, True)]
        if head is not None or self._buffer:
            raise ResponseError("the server closed the connection in the middle of a response")
        return []
