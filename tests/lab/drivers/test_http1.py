"""The raw client's response framing (lab/drivers/locust/http1.py), in memory: every way a response
can end, at every split, and every way it can be broken."""

from __future__ import annotations

import pytest

from lab.drivers.locust.http1 import MAX_HEAD_BYTES, Response, ResponseError, ResponseReader, encode_request

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello"
CHUNKED = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
           b"3;name=\"a;b\"\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX-Trailer: 1\r\nX-Other: 2\r\n\r\n")
CLOSE_DELIMITED = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end"


def read(data: bytes, piece: int, requests: int = 1, head_only: bool = False, eof: bool = False) -> list[Response]:
    reader = ResponseReader()
    for _ in range(requests):
        reader.sent(head_only)
    done = []
    for start in range(0, len(data), piece):
        done += reader.feed(data[start:start + piece])
    if eof:
        done += reader.eof()
    return done


@pytest.mark.parametrize("piece", [1, 2, 3, 7, 1000])
def test_content_length(piece: int) -> None:
    assert read(OK, piece) == [Response(200, 5, False)]


@pytest.mark.parametrize("piece", range(1, len(CHUNKED) + 1))
def test_chunked_with_extensions_and_trailers_at_every_split(piece: int) -> None:
    assert read(CHUNKED, piece) == [Response(200, 19, False)]


@pytest.mark.parametrize("piece", [1, 5, 1000])
def test_close_delimited_ends_at_eof(piece: int) -> None:
    assert read(CLOSE_DELIMITED, piece) == []  # not over until the server closes
    assert read(CLOSE_DELIMITED, piece, eof=True) == [Response(200, len(b"until the end"), True)]


def test_pipelined_responses_in_one_read() -> None:
    data = OK + CHUNKED + OK
    assert read(data, len(data), requests=3) == [Response(200, 5, False), Response(200, 19, False),
                                                 Response(200, 5, False)]


@pytest.mark.parametrize("piece", [1, 1000])
def test_interim_100_continue_is_skipped(piece: int) -> None:
    data = b"HTTP/1.1 100 Continue\r\n\r\n" + b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + OK
    assert read(data, piece) == [Response(200, 5, False)]


def test_head_response_has_no_body_whatever_its_length_says() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n"
    reader = ResponseReader()
    reader.sent(head_only=True)
    reader.sent()
    assert reader.feed(head + OK) == [Response(200, 0, False), Response(200, 5, False)]


@pytest.mark.parametrize("status", [204, 304])
def test_204_and_304_have_no_body(status: int) -> None:
    data = b"HTTP/1.1 %d X\r\nContent-Length: 10\r\nETag: \"a\"\r\n\r\n" % status
    assert read(data + OK, 1000, requests=2) == [Response(status, 0, False), Response(200, 5, False)]


@pytest.mark.parametrize(("head", "close"), [
    (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", True),
    (b"HTTP/1.1 200 OK\r\nConnection: Keep-Alive, Close\r\nContent-Length: 0\r\n\r\n", True),
    (b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", True),
    (b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", False),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", False),
])
def test_whether_the_connection_may_be_reused(head: bytes, close: bool) -> None:
    assert read(head, 1000)[0].close is close


@pytest.mark.parametrize("codings", [b"gzip", b"chunked, gzip", b"chunked\r\nTransfer-Encoding: identity",
                                     b"chunkedchunked"])
def test_a_transfer_coding_other_than_chunked_last_is_delimited_by_the_close(codings: bytes) -> None:
    """RFC 9112 §6.3: the body runs to the close, whatever Content-Length says."""
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: " + codings + b"\r\n\r\n5\r\nHello"
    assert read(data, 1000) == []
    assert read(data, 1, eof=True) == [Response(200, len(b"5\r\nHello"), True)]


def test_transfer_encoding_overrides_content_length() -> None:
    data = CHUNKED.replace(b"chunked\r\n", b"chunked\r\nContent-Length: 3\r\n", 1)
    assert read(data, 1000) == [Response(200, 19, False)]


@pytest.mark.parametrize(("data", "message"), [
    (b"HTTP/1.1 2000 OK\r\n\r\n", "bad status line"),
    (b"garbage\r\n\r\n", "bad status line"),
    (b"HTTP/2 200 OK\r\n\r\n", "bad status line"),
    (b"HTTP/1.1 099 Low\r\n\r\n", "bad status"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5x\r\n\r\nhello", "bad Content-Length"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", "two different Content-Length"),
    (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "bad header line"),
    (b"HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", "bad header line"),
    (b"HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n", "bad header line"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk-size line"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", "not followed by CRLF"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1" * 17 + b"\r\n", "bad chunk-size line"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nno colon\r\n\r\n", "bad trailer line"),
    (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", "101 Switching Protocols"),
    (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\nextra", "bytes after a response"),
    (b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * MAX_HEAD_BYTES, f"over {MAX_HEAD_BYTES} bytes"),
])
def test_malformed_responses_are_errors(data: bytes, message: str) -> None:
    with pytest.raises(ResponseError, match=message):
        read(data, len(data))


def test_a_response_nobody_asked_for_is_an_error() -> None:
    reader = ResponseReader()
    with pytest.raises(ResponseError, match="nobody asked for"):
        reader.feed(OK)


@pytest.mark.parametrize("cut", [5, len(OK) - 3])
def test_closed_mid_response_is_an_error(cut: int) -> None:
    reader = ResponseReader()
    reader.sent()
    assert reader.feed(OK[:cut]) == []
    with pytest.raises(ResponseError, match="in the middle of a response"):
        reader.eof()


def test_closed_between_responses_is_not_an_error() -> None:
    reader = ResponseReader()
    reader.sent()
    assert reader.feed(OK) == [Response(200, 5, False)]
    assert reader.eof() == [] and reader.awaiting == 0


def test_a_head_learned_once_is_not_trusted_for_other_bytes() -> None:
    assert read(OK, 1000) == [Response(200, 5, False)]
    bad = OK.replace(b"Content-Length: 5", b"Content-Length: x")
    with pytest.raises(ResponseError):
        read(bad, 1000)


def test_encode_request_adds_host_and_content_length() -> None:
    assert encode_request("GET", "/p", "h:1", (), b"") == b"GET /p HTTP/1.1\r\nHost: h:1\r\n\r\n"
    assert encode_request("POST", "/echo", "h", (("X-A", "1"),), b"abc") == (
        b"POST /echo HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nContent-Length: 3\r\n\r\nabc")
    assert encode_request("GET", "/", "h", (("Host", "other"),), b"") == b"GET / HTTP/1.1\r\nHost: other\r\n\r\n"
    assert encode_request("POST", "/echo", "h", (), b"") == (
        b"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")


@pytest.mark.parametrize(("data", "message"), [
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2  \r\nok\r\n0\r\n\r\n", "bad chunk-size line"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;\r\nok\r\n0\r\n\r\n", "bad chunk-size line"),
    (b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n", "bad byte in header line"),
    (b"HTTP/1.1 200 OK\nContent-Length: 0\n\n", "LF without CR"),
])
@pytest.mark.parametrize("piece", [1, 1000])
def test_what_llhttp_refuses_is_refused_at_any_split(data: bytes, message: str, piece: int) -> None:
    with pytest.raises(ResponseError, match=message):
        read(data, piece)


def test_bytes_after_a_closing_response_are_an_error_in_a_later_read_too() -> None:
    closing = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    reader = ResponseReader()
    reader.sent()
    reader.sent()
    assert reader.feed(closing) == [Response(200, 0, True)]
    with pytest.raises(ResponseError, match="bytes after a response that closes"):
        reader.feed(b"H")


def test_empty_lines_between_responses_are_skipped() -> None:
    assert read(b"\r\n" + OK + b"\r\n\r\n" + OK, 1, requests=2) == [Response(200, 5, False)] * 2


def test_a_repeated_read_is_framed_alike_only_in_the_same_state() -> None:
    """The same bytes after a HEAD and after a GET: a whole response, then a head awaiting its body."""
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
    reader = ResponseReader()
    reader.sent(head_only=True)
    assert reader.feed(head) == [Response(200, 0, False)]
    reader.sent(head_only=True)
    assert reader.feed(head) == [Response(200, 0, False)]  # the repeat, remembered
    reader.sent()
    assert reader.feed(head) == []
    assert reader.feed(b"hello") == [Response(200, 5, False)] and reader.idle


@pytest.mark.parametrize(("fields", "close"), [
    (b"Connection: keep-alive\r\nConnection: close", True),  # tokens from every Connection field
    (b"Connection: close\r\nConnection: keep-alive", True),
    (b"Connection: keep-alive ,\tclose", True),  # blanks around a token
    (b"Connection: keep-alive", False),
])
def test_connection_tokens_are_read_from_every_field(fields: bytes, close: bool) -> None:
    assert read(b"HTTP/1.1 200 OK\r\n" + fields + b"\r\nContent-Length: 0\r\n\r\n", 1000)[0].close is close


def test_transfer_codings_are_read_across_fields_and_blanks() -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip ,\tchunked\r\n\r\n"
    assert read(head + b"2\r\nok\r\n0\r\n\r\n", 1000) == [Response(200, 2, False)]


def test_a_head_is_parsed_once_for_every_reader_and_the_memory_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from lab.drivers.locust import http1

    calls: list[bytes] = []
    parse = http1._parse_head
    monkeypatch.setattr(http1, "_parse_head", lambda head: calls.append(head) or parse(head))
    assert read(OK, 1000) == read(OK, 1000) == [Response(200, 5, False)]
    assert len(calls) == 1  # the second reader met the head in memory
    for n in range(http1.HEAD_CACHE_SIZE):  # one more than it holds, with OK's
        read(OK.replace(b"text/plain", b"text/x-%d" % n), 1000)
    assert 0 < len(http1._parsed_heads) <= http1.HEAD_CACHE_SIZE
