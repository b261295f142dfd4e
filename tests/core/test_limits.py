"""Every request-size limit in servers.core.limits drawn at the same byte by both parsers: a
request exactly at the limit is read, one byte (or field) past it is refused — fed whole and
byte by byte, since a partial line is checked before it ends."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from servers.core import ProtocolError, Request
from servers.core.fastparser import FastRequestParser
from servers.core.limits import (
    MAX_CHUNK_METADATA_BYTES,
    MAX_CHUNK_SIZE_DIGITS,
    MAX_HEADER_BYTES,
    MAX_REQUEST_LINE_BYTES,
)
from servers.core.parser import RequestParser
from tests.cases import LIMITS, POST

Parser = RequestParser | FastRequestParser
PARSERS: list[Callable[[], Parser]] = [RequestParser, FastRequestParser]


def feed(parser: Parser, data: bytes, piece: int) -> list[Request | ProtocolError]:
    events: list[Request | ProtocolError] = []
    for start in range(0, len(data), piece):
        events += [e for e in parser.feed(data[start : start + piece]) if isinstance(e, Request | ProtocolError)]
    return events


def pieces(data: bytes) -> list[int]:
    # Byte by byte where it is cheap; bodies of a MiB in 1000-byte reads.
    return [len(data), 1 if len(data) < 64 * 1024 else 1000]


@pytest.mark.parametrize("make", PARSERS, ids=["core", "llhttp"])
@pytest.mark.parametrize("name", list(LIMITS))
def test_at_the_limit_is_read_and_one_past_it_refused(make: Callable[[], Parser], name: str) -> None:
    at, past, status = LIMITS[name]
    for piece in pieces(at):
        events = feed(make(), at, piece)
        assert [type(e) for e in events] == [Request], (piece, events)
    for piece in pieces(past):
        events = feed(make(), past, piece)
        assert [getattr(e, "status", e) for e in events] == [status], piece


def chunked(size_line: bytes, trailers: bytes = b"") -> bytes:
    return POST + b"Transfer-Encoding: chunked\r\n\r\n" + size_line + b"\r\nab\r\n0\r\n" + trailers + b"\r\n"


@pytest.mark.parametrize("make", PARSERS, ids=["core", "llhttp"])
def test_leading_zeros_of_a_chunk_size_are_not_digits(make: Callable[[], Parser]) -> None:
    padded = b"0" * MAX_CHUNK_SIZE_DIGITS + b"2"
    assert [type(e) for e in feed(make(), chunked(padded), 1)] == [Request]


def test_a_chunk_size_of_more_significant_digits_than_the_limit_is_no_size() -> None:
    # Core parser only: llhttp bounds a size by 64-bit overflow, which is the same 16 digits.
    at = b"1" + b"0" * (MAX_CHUNK_SIZE_DIGITS - 1)  # a size, far over the body limit
    assert [getattr(e, "status", e) for e in RequestParser().feed(chunked(at))] == [413]
    assert [getattr(e, "status", e) for e in RequestParser().feed(chunked(at + b"0"))] == [400]


def test_chunk_metadata_at_the_limit_is_read_and_one_byte_past_it_refused() -> None:
    # Core parser only: llhttp streams extensions without keeping them, so it has nothing to bound.
    # Counted: the size line with its extension and CRLF, "0" CRLF and the final CRLF.
    framing = len(b"2;e=\r\n0\r\n\r\n")
    at = b"2;e=" + b"v" * (MAX_CHUNK_METADATA_BYTES - framing)
    assert [type(e) for e in feed(RequestParser(), chunked(at), 1)] == [Request]
    assert [getattr(e, "status", e) for e in feed(RequestParser(), chunked(at + b"v"), 1)] == [400]


@pytest.mark.parametrize("make", PARSERS, ids=["core", "llhttp"])
def test_trailers_are_bounded_and_never_become_headers(make: Callable[[], Parser]) -> None:
    (request,) = make().feed(chunked(b"2", b"X-Trailer: 1\r\n"))
    assert isinstance(request, Request) and request.header(b"x-trailer") is None
    too_many = b"X-T: " + b"t" * MAX_CHUNK_METADATA_BYTES + b"\r\n"
    assert [getattr(e, "status", e) for e in make().feed(chunked(b"2", too_many))] == [400]


def endless(parser: Parser, start: bytes, piece: int) -> tuple[list[int], int]:
    """Feed `start`, then a field value that never ends, `piece` bytes a read, until the parser
    answers (or four times the head's wire bound has gone in); the statuses and the bytes fed."""
    events = parser.feed(start)
    fed = 0
    while not events and fed < 4 * (MAX_REQUEST_LINE_BYTES + MAX_HEADER_BYTES):
        events = parser.feed(b"v" * piece)
        fed += piece
    return [getattr(e, "status", 0) for e in events], fed


@pytest.mark.parametrize("make", PARSERS, ids=["core", "llhttp"])
@pytest.mark.parametrize("piece", [1000, 5000, 64 * 1024])
def test_a_field_that_never_ends_is_refused_before_it_is_held_whole(make: Callable[[], Parser],
                                                                      piece: int) -> None:
    """llhttp hands over a field only when it ends: a value of endless bytes, read after read,
    must meet the header limit as it arrives (core: at the limit; llhttp: at what both limits
    allow on the wire), not after it has been kept whole."""
    statuses, fed = endless(make(), POST.replace(b"POST", b"GET") + b"X-Endless: ", piece)
    assert statuses == [431]
    assert fed <= MAX_REQUEST_LINE_BYTES + MAX_HEADER_BYTES + 4 + piece


def test_a_head_over_several_reads_is_measured_from_its_own_first_byte() -> None:
    """The wire bound counts a head's bytes from the read after the one it began in: the bytes
    of earlier pipelined requests in that read are not its own."""
    parser = FastRequestParser()
    earlier = (POST.replace(b"POST", b"GET") + b"\r\n") * 500  # more than a head may take, then a partial one
    events = parser.feed(earlier + b"GET /plaintext HTTP/1.1\r\nHost: x\r\nX-Big: ")
    assert len(events) == 500
    value = b"v" * (MAX_HEADER_BYTES - 200)
    events = parser.feed(value[:4000])
    events += parser.feed(value[4000:] + b"\r\n\r\n")
    assert [type(e) for e in events] == [Request]


@pytest.mark.parametrize("make", PARSERS, ids=["core", "llhttp"])
@pytest.mark.parametrize("piece", [1000, 64 * 1024])
def test_a_trailer_that_never_ends_is_refused_before_it_is_held_whole(make: Callable[[], Parser],
                                                                       piece: int) -> None:
    statuses, fed = endless(make(), POST + b"Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\nX-Endless: ", piece)
    assert statuses == [400]
    assert fed <= MAX_REQUEST_LINE_BYTES + MAX_HEADER_BYTES + 4 + piece


@pytest.mark.parametrize("piece", [7, 1000])
def test_chunk_data_over_many_reads_is_not_counted_as_fields(piece: int) -> None:
    """Only trailers are measured against the wire bound: chunks larger than it, fed in reads of
    every size, are a body, whatever falls between a size line and its data."""
    size = 2 * (MAX_REQUEST_LINE_BYTES + MAX_HEADER_BYTES)
    data = b"".join(b"%x\r\n" % size + b"d" * size + b"\r\n" for _ in range(4))
    request = POST + b"Transfer-Encoding: chunked\r\n\r\n" + data + b"0\r\n\r\n"
    parser = FastRequestParser()
    events = [e for start in range(0, len(request), piece) for e in parser.feed(request[start:start + piece])]
    assert [type(e) for e in events] == [Request] and len(events[0].body) == 4 * size


def test_the_wire_bound_is_drawn_at_its_byte() -> None:
    """llhttp only: bytes of an unfinished head after the read it began in count against what
    both limits allow on the wire (request line, header section, four bytes of CRLF)."""
    bound = MAX_REQUEST_LINE_BYTES + MAX_HEADER_BYTES + 4
    parser = FastRequestParser()
    assert parser.feed(b"GET / HTTP/1.1\r\nX-Endless: ") == []  # the read the head began in
    assert parser.feed(b"v" * (bound - 1)) == []
    assert parser.feed(b"v") == []  # exactly at the bound
    assert [getattr(e, "status", e) for e in parser.feed(b"v")] == [431]
