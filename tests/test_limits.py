"""Every request-size limit in servers.core.limits drawn at the same byte by both parsers: a
request exactly at the limit is read, one byte (or field) past it is refused — fed whole and
byte by byte, since a partial line is checked before it ends."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from servers.core import ProtocolError, Request
from servers.core.fastparser import FastRequestParser
from servers.core.limits import MAX_CHUNK_METADATA_BYTES, MAX_CHUNK_SIZE_DIGITS
from servers.core.parser import RequestParser

from .cases import LIMITS, POST

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
