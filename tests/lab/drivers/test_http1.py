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
    with pytest.raises(ResponseError, match=r"^a response nobody asked for$"):
        reader.feed(OK)


@pytest.mark.parametrize("cut", [5, len(OK) - 3])
def test_closed_mid_response_is_an_error(cut: int) -> None:
    reader = ResponseReader()
    reader.sent()
    assert reader.feed(OK[:cut]) == []
    with pytest.raises(ResponseError, match=r"^the server closed the connection in the middle of a response$"):
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
    with pytest.raises(ResponseError, match=r"^bytes after a response that closes the connection$"):
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


_CUT = b"x" * 100  # longer than any message quotes: each quotes a fixed number of bytes


@pytest.mark.parametrize(("data", "message"), [
    (b"HTTP/1.1 2000 " + _CUT + b"\r\n\r\n", "bad status line " + repr(b"HTTP/1.1 2000 " + b"x" * 66)),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5" + _CUT + b"\r\n\r\n", "bad Content-Length " + repr(b"5" + b"x" * 39)),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", "two different Content-Length values"),
    (b"HTTP/1.1 200 OK\r\nBad" + _CUT + b"\r\n\r\n", "bad header line " + repr(b"Bad" + b"x" * 77)),
    (b"HTTP/1.1 200 OK\r\nX-A: \x01" + _CUT + b"\r\n\r\n", "bad byte in header line " + repr(b"X-A: \x01" + b"x" * 74)),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nz" + _CUT + b"\r\n",
     "bad chunk-size line " + repr(b"z" + b"x" * 39)),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n", "chunk data not followed by CRLF"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"0" * (MAX_HEAD_BYTES + 1),
     "chunk-size line too long"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + b"X" * (MAX_HEAD_BYTES + 1),
     "trailer section too long"),
    (b"HTTP/1.1 101 Switching Protocols\r\n\r\n", "101 Switching Protocols: the client asked for no upgrade"),
    (b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\nextra",
     "bytes after a response that closes the connection"),
    (b"HTTP/1.1 200 OK\nContent-Length: 0\n\n", "a line of the response head ends in LF without CR"),
])
def test_each_refusal_says_exactly_what_was_wrong(data: bytes, message: str) -> None:
    """The message is the run's error (its row's top_error): exact, with at most 80 bytes of a
    line (40 of a value or chunk line) quoted."""
    with pytest.raises(ResponseError) as raised:
        read(data, len(data))
    assert str(raised.value) == message


@pytest.mark.parametrize(("data", "piece", "message"), [
    (b"HTTP/1.1 2000 " + _CUT + b"\r\n", 1, "bad status line " + repr(b"HTTP/1.1 2000 " + b"x" * 66)),
    (b"HTTP/1.1 200 OK\r\nX-A\r\n", 1, "bad header line b'X-A'"),  # the CR of a line is not part of its name
    (b"HTTP/1.1 200 OK\r\n fold" + _CUT, 1000, "bad header line " + repr(b" fold" + b"x" * 75)),
])
def test_a_broken_head_is_refused_as_soon_as_it_breaks(data: bytes, piece: int, message: str) -> None:
    """Before the head's end arrives: byte by byte, each line as it ends; a folded line as it begins."""
    reader = ResponseReader()
    reader.sent()
    with pytest.raises(ResponseError) as raised:
        for at in range(0, len(data), piece):
            reader.feed(data[at:at + piece])
    assert str(raised.value) == message


def test_a_broken_header_line_is_refused_before_the_head_ends() -> None:
    reader = ResponseReader()
    reader.sent()
    with pytest.raises(ResponseError, match="bad header line"):
        reader.feed(b"HTTP/1.1 200 OK\r\nBad Name: x\r\n")


@pytest.mark.parametrize("field", [b"X-A: b:c", b"X-A: b c:"])
def test_a_colon_in_a_value_is_the_value_s(field: bytes) -> None:
    data = b"HTTP/1.1 200 OK\r\n" + field + b"\r\nContent-Length: 0\r\n\r\n"
    assert read(data, 1) == read(data, len(data)) == [Response(200, 0, False)]


@pytest.mark.parametrize(("value", "message"), [(b"5X", "bad Content-Length"), (b"5\x0b", "bad byte")])
def test_a_value_is_stripped_of_spaces_and_tabs_only(value: bytes, message: str) -> None:
    with pytest.raises(ResponseError, match=message):
        read(b"HTTP/1.1 200 OK\r\nContent-Length: " + value + b"\r\n\r\nhello", 1000)


def test_transfer_codings_are_split_at_commas_without_blanks() -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip,chunked\r\n\r\n"
    assert read(head + b"2\r\nok\r\n0\r\n\r\n", 1000) == [Response(200, 2, False)]


def test_a_chunked_response_can_close_the_connection() -> None:
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\nok\r\n0\r\n\r\n"
    reader = ResponseReader()
    reader.sent()
    assert reader.feed(data) == [Response(200, 2, True)] and reader.idle


def test_a_head_response_that_says_chunked_has_no_body() -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    assert read(head, 1000, head_only=True) == [Response(200, 0, False)]


def test_empty_lines_between_responses_in_one_read_are_skipped() -> None:
    assert read(OK + b"\r\n" + OK + b"\r\n\r\n" + OK, 1000, requests=3) == [Response(200, 5, False)] * 3


def test_a_head_or_chunk_line_of_exactly_the_limit_is_still_awaited() -> None:
    """The limits are on what is pending after the responses before it in the same read."""
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    for pending in (b"HTTP/1.1 200 OK\r\nX-A: " + b"a" * (MAX_HEAD_BYTES - 22),  # a head still arriving
                    chunked + b"0" * MAX_HEAD_BYTES,  # a chunk-size line
                    chunked + b"0\r\n" + b"X" * MAX_HEAD_BYTES):  # a trailer section
        reader = ResponseReader()
        reader.sent()
        reader.sent()
        assert reader.feed(OK + pending) == [Response(200, 5, False)]


def test_a_close_delimited_response_leaves_the_reader_idle() -> None:
    reader = ResponseReader()
    reader.sent()
    assert reader.feed(CLOSE_DELIMITED) == []
    assert reader.eof() == [Response(200, len(b"until the end"), True)]
    assert reader.idle and reader.awaiting == 0


def test_encode_request_gives_every_body_method_a_length_once() -> None:
    for method in ("PUT", "PATCH"):
        assert encode_request(method, "/x", "h", (), b"") == (
            method.encode() + b" /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n")
    assert encode_request("POST", "/x", "h", (("Content-Length", "3"),), b"abc") == (
        b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc")


def test_a_remembered_read_answers_only_the_same_bytes_in_the_same_state() -> None:
    """A server's answers repeat byte for byte, so the reader remembers the last read that began
    and ended between responses; different bytes, the same bytes in another state, or a read
    that began or ended inside a response, are framed afresh."""
    not_found = b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno!"
    reader = ResponseReader()
    for data, status, length in ((OK, 200, 5), (not_found, 404, 3), (OK, 200, 5), (OK, 200, 5)):
        reader.sent()
        assert reader.feed(data) == [Response(status, length, False)]


def _remembering(data: bytes = OK) -> ResponseReader:
    """A reader whose last read, `data`, began and ended between responses; one more request sent."""
    reader = ResponseReader()
    reader.sent()
    assert reader.feed(data) == [Response(200, 5, False)]
    reader.sent()
    return reader


def test_a_remembered_read_does_not_answer_after_part_of_a_head() -> None:
    reader = _remembering()
    assert reader.feed(b"HTTP/1.1 2") == []
    with pytest.raises(ResponseError, match="bad status line"):
        reader.feed(OK)


def test_a_remembered_read_does_not_answer_inside_a_body() -> None:
    reader = _remembering()
    assert reader.feed(OK[:-5]) == []  # the head: its body awaited
    with pytest.raises(ResponseError, match=r"^a response nobody asked for$"):
        reader.feed(OK)  # "HTTP/" ends the body; the rest answers nothing


@pytest.mark.parametrize("begun", [10, len(OK) - 5])  # inside the head; inside the body
def test_a_read_that_began_inside_a_response_is_not_remembered(begun: int) -> None:
    reader = _remembering()
    assert reader.feed(OK[:begun]) == []
    assert reader.feed(OK[begun:]) == [Response(200, 5, False)]
    reader.sent()
    if begun == 10:  # "00 OK…": a broken status line
        with pytest.raises(ResponseError, match="bad status line"):
            reader.feed(OK[begun:])
    else:  # "hello": the start of a head
        assert reader.feed(OK[begun:]) == []


@pytest.mark.parametrize("rest", [OK[:10], OK[:-5]])  # part of a head; a whole head, its body awaited
def test_a_read_that_ended_inside_a_response_is_not_remembered(rest: bytes) -> None:
    reader = ResponseReader()
    for _ in range(2):  # the second time, a remembered first read would leave `rest` out
        reader.sent()
        reader.sent()
        assert reader.feed(OK + rest) == [Response(200, 5, False)]
        assert reader.feed(OK[len(rest):]) == [Response(200, 5, False)]


def test_a_transfer_coding_is_stripped_of_blanks_only() -> None:
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunkedX\r\n\r\n"  # not chunked: delimited by the close
    assert read(head + b"2\r\nok\r\n0\r\n\r\n", 1000, eof=True) == [Response(200, 12, True)]
