"""Both request parsers (the core's and llhttp's adapter) against the same expectations."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from servers.core import ProtocolError, Request
from servers.core.fastparser import FastRequestParser
from servers.core.limits import MAX_BODY_BYTES
from servers.core.parser import RequestParser
from servers.core.request import KNOWN_METHODS, ContinueExpected
from tests.cases import BAD_REQUESTS, UPGRADE

Parser = RequestParser | FastRequestParser
PARSERS: list[Callable[[], Parser]] = [RequestParser, FastRequestParser]
ids = ["core", "llhttp"]

PIPELINE = (
    b"GET /plaintext?x=1 HTTP/1.1\r\nHost: t\r\nAccept: */*\r\n\r\n"
    b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello"
    b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n"
    b"GET /json HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    b"GET /after-close HTTP/1.1\r\nHost: t\r\n\r\n"
)
EXPECTED = [
    (b"GET", b"/plaintext?x=1", b"/plaintext", b"1.1", b"", True),
    (b"POST", b"/echo", b"/echo", b"1.1", b"hello", True),
    (b"POST", b"/echo", b"/echo", b"1.1", b"abcde", True),
    (b"GET", b"/json", b"/json", b"1.0", b"", True),
    (b"GET", b"/health", b"/health", b"1.1", b"", False),
]


def summary(event: Request | ProtocolError | ContinueExpected) -> object:
    if isinstance(event, ProtocolError):
        return event.status
    if isinstance(event, ContinueExpected):
        return "100-continue"
    return (event.method, event.target, event.path, event.version, event.body, event.keep_alive)


def feed_in_pieces(parser: Parser, data: bytes, size: int) -> list[object]:
    events = []
    for start in range(0, len(data), size):
        events += [summary(e) for e in parser.feed(data[start : start + size])]
    return events


@pytest.mark.parametrize("make", PARSERS, ids=ids)
@pytest.mark.parametrize("piece", [1, 2, 7, 64, len(PIPELINE)])
def test_pipeline_in_any_split(make: Callable[[], Parser], piece: int) -> None:
    # The request after `Connection: close` is ignored: the connection ends with that answer.
    assert feed_in_pieces(make(), PIPELINE, piece) == EXPECTED


@pytest.mark.parametrize("make", PARSERS, ids=ids)
@pytest.mark.parametrize("piece", [1, 7, 1000])
def test_expect_100_continue_is_an_event_before_the_body(make: Callable[[], Parser], piece: int) -> None:
    data = (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello"
        b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-Continue\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"2\r\nhi\r\n0\r\n\r\n"
        b"GET /json HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n\r\n"  # no body to wait for
        b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: other\r\nContent-Length: 1\r\n\r\nx"  # ignored
        b"POST /echo HTTP/1.0\r\nConnection: keep-alive\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\ny"
    )
    assert feed_in_pieces(make(), data, piece) == [
        "100-continue", (b"POST", b"/echo", b"/echo", b"1.1", b"hello", True),
        "100-continue", (b"POST", b"/echo", b"/echo", b"1.1", b"hi", True),
        (b"GET", b"/json", b"/json", b"1.1", b"", True),
        (b"POST", b"/echo", b"/echo", b"1.1", b"x", True),
        (b"POST", b"/echo", b"/echo", b"1.0", b"y", True),  # an HTTP/1.0 client cannot have meant it
    ]


@pytest.mark.parametrize("make", PARSERS, ids=ids)
def test_http10_closes_by_default(make: Callable[[], Parser]) -> None:
    events = make().feed(b"GET /json HTTP/1.0\r\n\r\nGET /json HTTP/1.0\r\n\r\n")
    assert [summary(e) for e in events] == [(b"GET", b"/json", b"/json", b"1.0", b"", False)]


@pytest.mark.parametrize("make", PARSERS, ids=ids)
def test_headers_are_lowercased_and_stripped(make: Callable[[], Parser]) -> None:
    (request,) = make().feed(b"GET / HTTP/1.1\r\nHOST:  t \r\nX-Thing:\tv\t\r\n\r\n")
    assert isinstance(request, Request)
    assert request.headers == [(b"host", b"t"), (b"x-thing", b"v")]
    assert request.header(b"x-thing") == b"v" and request.header(b"absent") is None


@pytest.mark.parametrize("make", PARSERS, ids=ids)
@pytest.mark.parametrize("name", list(BAD_REQUESTS))
def test_bad_request_status(make: Callable[[], Parser], name: str) -> None:
    raw, status = BAD_REQUESTS[name]
    events = make().feed(raw)
    assert [summary(e) for e in events] == [status]


@pytest.mark.parametrize("make", PARSERS, ids=ids)
def test_chunked_body_over_limit_is_413(make: Callable[[], Parser]) -> None:
    parser = make()
    head = b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunk = b"%x\r\n" % (64 * 1024) + b"a" * 64 * 1024 + b"\r\n"
    events: list[object] = feed_in_pieces(parser, head, len(head))
    for _ in range(MAX_BODY_BYTES // (64 * 1024) + 1):
        events += feed_in_pieces(parser, chunk, len(chunk))
    assert events == [413]


@pytest.mark.parametrize("make", PARSERS, ids=ids)
def test_valid_request_then_garbage(make: Callable[[], Parser]) -> None:
    events = make().feed(b"GET /plaintext?x=1 HTTP/1.1\r\nHost: t\r\n\r\n\x00\x01garbage\r\n\r\n")
    assert [summary(e) for e in events] == [EXPECTED[0], 400]


@pytest.mark.parametrize("make", PARSERS, ids=ids)
def test_dead_after_error(make: Callable[[], Parser]) -> None:
    parser = make()
    assert [summary(e) for e in parser.feed(b"G@T / HTTP/1.1\r\n\r\n")] == [400]
    assert parser.feed(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n") == []


@pytest.mark.parametrize("make", PARSERS, ids=ids)
def test_idle_tracks_request_boundaries(make: Callable[[], Parser]) -> None:
    parser = make()
    assert parser.idle
    parser.feed(b"GET / HT")
    assert not parser.idle
    parser.feed(b"TP/1.1\r\nHost: t\r\n\r\n")
    assert parser.idle


@pytest.mark.parametrize("make", PARSERS, ids=ids)
def test_reset_forgets_partial_request(make: Callable[[], Parser]) -> None:
    parser = make()
    parser.feed(b"GET /partial HTTP/1.1\r\nHo")
    parser.reset()
    assert [summary(e) for e in parser.feed(PIPELINE)] == EXPECTED


def _mutate(data: bytes, edits: list[tuple[int, int]]) -> bytes:
    out = bytearray(data)
    for position, value in edits:
        if out:
            out[position % len(out)] = value
    return bytes(out)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.integers(min_value=1, max_value=64))
def test_any_bytes_give_requests_or_a_clean_error(data: bytes, piece: int) -> None:
    for make in PARSERS:
        assert_clean(feed_in_pieces(make(), data, piece))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(PIPELINE)), st.integers(0, 255)), max_size=4),
       st.integers(min_value=1, max_value=64))
def test_mutated_requests_never_raise_and_only_end_in_errors(edits: list[tuple[int, int]], piece: int) -> None:
    data = _mutate(PIPELINE, edits)
    for make in PARSERS:
        assert_clean(feed_in_pieces(make(), data, piece))


def assert_clean(events: list[object]) -> None:
    """Requests, then at most one error status (4xx/5xx), and nothing after it."""
    errors = [i for i, e in enumerate(events) if isinstance(e, int)]
    assert errors in ([], [len(events) - 1])
    assert all(400 <= e < 600 for e in events if isinstance(e, int))


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(PIPELINE)), st.sampled_from(b" \t\r\n:;,-0aZ\x00\x7f\xff")),
                min_size=1, max_size=3))
def test_both_parsers_agree_on_mutated_requests(edits: list[tuple[int, int]]) -> None:
    """Differential: llhttp and the core parser accept and refuse alike, so no stage differs."""
    data = _mutate(PIPELINE, edits)
    core, fast = (feed_in_pieces(make(), data, len(data)) for make in PARSERS)
    assert core == fast


# Chunk-size lines and whether a chunked body with them is read: RFC 9112 §7.1.1 as llhttp reads it.
CHUNK_LINES: dict[bytes, bool] = {
    b"2;a": True,
    b"2;a=b;c": True,
    b'2;a=""': True,
    b'2;a="x\\"y"': True,  # a quoted-pair
    b'2;a="x\\\\"': True,
    b'2;a="\t\x80"': True,
    b'2;a="";b': True,
    b"02": True,
    b"2;": False,
    b"2;;": False,
    b"2;a;": False,
    b"2; a=b": False,  # no whitespace anywhere on a chunk line
    b"2 ;a": False,
    b"2;a =b": False,
    b"2;a=b ": False,
    b'2;a="x': False,
    b'2;a="x"y': False,
    b'2;a="\\\x01"': False,  # a quoted-pair of a control byte
    b"2;a==b": False,
    b"2;\x80": False,
}


@pytest.mark.parametrize("make", PARSERS, ids=ids)
@pytest.mark.parametrize("line", list(CHUNK_LINES), ids=repr)
def test_chunk_extensions_follow_the_grammar(make: Callable[[], Parser], line: bytes) -> None:
    data = b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n" + line + b"\r\nab\r\n0\r\n\r\n"
    for piece in (len(data), 1):
        events = feed_in_pieces(make(), data, piece)
        assert events == ([(b"POST", b"/echo", b"/echo", b"1.1", b"ab", True)] if CHUNK_LINES[line] else [400])


@pytest.mark.parametrize("make", PARSERS, ids=ids)
@pytest.mark.parametrize("piece", [1, 1000])
def test_an_upgrade_request_is_answered_and_nothing_after_it_read(make: Callable[[], Parser], piece: int) -> None:
    tunnel = b"\x81\x05hello" + b"GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n"
    assert feed_in_pieces(make(), UPGRADE + tunnel, piece) == [
        (b"GET", b"/plaintext", b"/plaintext", b"1.1", b"", False)]


@pytest.mark.parametrize("make", PARSERS, ids=ids)
@pytest.mark.parametrize("body", [b"Content-Length: 2\r\n\r\nab",
                                  b"Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"])
def test_an_upgrade_request_with_a_body_is_refused(make: Callable[[], Parser], body: bytes) -> None:
    """Where its body ends would depend on whether its reader upgrades."""
    (error,) = make().feed(b"GET /x HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" + body)
    assert isinstance(error, ProtocolError) and (error.status, error.reason) == (400, "a body on an Upgrade request")


@pytest.mark.parametrize("make", PARSERS, ids=ids)
@pytest.mark.parametrize("fields", [b"Connection: upgrade\r\n", b"Upgrade: websocket\r\n"])
def test_half_an_upgrade_is_an_ordinary_request(make: Callable[[], Parser], fields: bytes) -> None:
    data = b"GET /plaintext HTTP/1.1\r\nHost: t\r\n" + fields + b"\r\n"
    assert [e[-1] for e in feed_in_pieces(make(), data * 2, len(data))] == [True, True]  # type: ignore[index]


@pytest.mark.parametrize("make", PARSERS, ids=ids)
@pytest.mark.parametrize("method", sorted(KNOWN_METHODS - {b"CONNECT"}))
def test_every_registered_method_is_read(make: Callable[[], Parser], method: bytes) -> None:
    (request,) = make().feed(method + b" /x HTTP/1.1\r\nHost: t\r\n\r\n")
    assert isinstance(request, Request) and request.method == method


_TCHARS = b"!#$%&'*+-.^_`|~09azAZ"
_EXTENSION = st.tuples(st.binary(max_size=3).map(lambda b: bytes(_TCHARS[c % len(_TCHARS)] for c in b)),
                       st.sampled_from([b"", b"=", b"=v", b'=""', b'="a\\"b"', b'="a b"', b"=v ", b'="\\']))
_FIELDS = st.sampled_from([b"Connection: upgrade\r\n", b"Upgrade: h2c\r\n", b"Connection: close\r\n",
                           b"Connection: keep-alive, Upgrade\r\n", b"Expect: 100-continue\r\n", b""])


@st.composite
def shaped_requests(draw: st.DrawFn) -> bytes:
    """Requests built from the shapes where parsers have differed: registered and unknown
    methods, upgrade fields, chunk extensions with quoted strings."""
    method = draw(st.sampled_from([*sorted(KNOWN_METHODS), b"BREW", b"get", b"PRI"]))
    fields = b"".join(draw(st.lists(_FIELDS, max_size=3)))
    extensions = b"".join(b";" + name + value for name, value in draw(st.lists(_EXTENSION, max_size=3)))
    ending = draw(st.sampled_from([b"", b";"]))
    head = method + b" /x HTTP/1.1\r\nHost: t\r\n" + fields
    body = b"Transfer-Encoding: chunked\r\n\r\n2" + extensions + ending + b"\r\nab\r\n0\r\n\r\n"
    return head + body + b"GET /next HTTP/1.1\r\nHost: t\r\n\r\n"


@settings(max_examples=500, deadline=None)
@given(shaped_requests(), st.integers(min_value=1, max_value=64))
def test_both_parsers_agree_on_shaped_requests(data: bytes, piece: int) -> None:
    core, fast = (feed_in_pieces(make(), data, piece) for make in PARSERS)
    assert core == fast
    assert_clean(core)
