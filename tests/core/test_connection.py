"""The sans-IO core in memory: HttpConnection fed bytes with a fixed clock, replies read by h11.

No sockets and no processes: this is the fast tier (`pytest -m "not system"`). Every case runs
with both parsers (the core's and llhttp's adapter), and h11, an independent HTTP/1.1
implementation, reads what the connection wrote, so a malformed reply fails here too.
"""

from __future__ import annotations

import json
from dataclasses import replace

import h11
import pytest

from servers.core import STAGE_0_TO_3, App, DateHeader, HttpConnection, ProtocolOptions, Reply, Stats
from servers.core.app import PAYLOAD, PLAINTEXT_BODY
from servers.core.cache import ResponseCache
from servers.core.limits import (
    GZIP_MIN_BYTES,
    MAX_CACHE_ENTRIES,
    MAX_DELAY_MS,
    MAX_PAYLOAD_BYTES,
    REPLY_BUDGET_BYTES,
)
from tests.cases import BAD_REQUESTS

# A fixed clock: 2001-09-09T01:46:40Z. The core never reads time itself.
NOW = 1_000_000_000.0
DATE = b"Sun, 09 Sep 2001 01:46:40 GMT"
STAGE_4 = ProtocolOptions(keep_alive=True, fast_parser=True, gzip=True, cache=True)
PARSERS = {"core": False, "llhttp": True}


def get(path: str, *headers: str, version: str = "1.1", method: str = "GET") -> bytes:
    lines = [f"{method} {path} HTTP/{version}", *(["Host: t"] if version == "1.1" else []), *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


class Answered:
    """One reply as h11 reads it."""

    def __init__(self, reply: Reply, method: bytes = b"GET") -> None:
        client = h11.Connection(h11.CLIENT)
        # h11 must know the request to frame the answer (HEAD has no body); any request will do.
        client.send(h11.Request(method=method, target="/", headers=[("Host", "t")]))
        client.send(h11.EndOfMessage())
        client.receive_data(reply.head + reply.body)
        events = []
        while True:
            event = client.next_event()
            if event is h11.NEED_DATA or isinstance(event, h11.EndOfMessage):
                break
            events.append(event)
        response = events[0]
        assert isinstance(response, h11.Response), events
        self.status = response.status_code
        self.headers = {name.decode(): value.decode() for name, value in response.headers}
        self.body = b"".join(e.data for e in events[1:] if isinstance(e, h11.Data))
        self.close = reply.close


def connection(fast_parser: bool, options: ProtocolOptions = STAGE_0_TO_3) -> tuple[HttpConnection, Stats]:
    stats = Stats()
    options = ProtocolOptions(**{**options.__dict__, "fast_parser": fast_parser})
    return HttpConnection(App(stats, "test"), options, DateHeader()), stats


@pytest.fixture(params=list(PARSERS), ids=list(PARSERS))
def fast(request: pytest.FixtureRequest) -> bool:
    return PARSERS[request.param]


def answer(fast: bool, data: bytes, options: ProtocolOptions = STAGE_0_TO_3) -> list[Reply]:
    conn, _ = connection(fast, options)
    return conn.receive(data, NOW)


def test_plaintext_with_every_required_field(fast: bool) -> None:
    (reply,) = answer(fast, get("/plaintext"))
    seen = Answered(reply)
    assert (seen.status, seen.body) == (200, PLAINTEXT_BODY)
    assert seen.headers["server"] == "qpslab"
    assert seen.headers["date"] == DATE.decode()
    assert seen.headers["content-length"] == str(len(PLAINTEXT_BODY))
    assert seen.headers["content-type"] == "text/plain; charset=utf-8"


def test_the_date_comes_from_the_clock_it_is_given(fast: bool) -> None:
    conn, _ = connection(fast, STAGE_4)
    first = Answered(conn.receive(get("/plaintext"), NOW)[0])
    later = Answered(conn.receive(get("/plaintext"), NOW + 86_400)[0])
    assert first.headers["date"] == DATE.decode()
    assert later.headers["date"] == "Mon, 10 Sep 2001 01:46:40 GMT"


def test_json_is_serialized_per_request(fast: bool) -> None:
    (reply,) = answer(fast, get("/json"))
    assert json.loads(Answered(reply).body) == {"message": "Hello, World!"}


def test_stages_0_to_3_close_after_every_answer(fast: bool) -> None:
    conn, _ = connection(fast)
    (reply,) = conn.receive(get("/plaintext") + get("/json"), NOW)
    seen = Answered(reply)
    assert seen.close and seen.headers["connection"] == "close"
    assert conn.closed
    assert conn.receive(get("/plaintext"), NOW) == []  # nothing is answered after a closing reply


def test_keep_alive_on_http11_needs_no_header(fast: bool) -> None:
    conn, _ = connection(fast, STAGE_4)
    for _ in range(3):
        (reply,) = conn.receive(get("/plaintext"), NOW)
        seen = Answered(reply)
        assert not seen.close and "connection" not in seen.headers
    assert not conn.closed and conn.idle


def test_http11_client_asking_to_close_is_closed(fast: bool) -> None:
    (reply,) = answer(fast, get("/plaintext", "Connection: close"), STAGE_4)
    assert reply.close and Answered(reply).headers["connection"] == "close"


def test_http10_keep_alive_only_when_asked(fast: bool) -> None:
    conn, _ = connection(fast, STAGE_4)
    (asked,) = conn.receive(get("/plaintext", "Connection: keep-alive", version="1.0"), NOW)
    assert not asked.close and Answered(asked).headers["connection"] == "keep-alive"
    (plain,) = conn.receive(get("/plaintext", version="1.0"), NOW)  # the same connection, reused
    assert plain.close and Answered(plain).headers["connection"] == "close"


def test_pipelined_requests_are_answered_in_order(fast: bool) -> None:
    data = get("/json") + get("/plaintext") + get("/health") + get("/bytes/5")
    replies = answer(fast, data, STAGE_4)
    bodies = [Answered(r).body for r in replies]
    assert bodies == [b'{"message":"Hello, World!"}', PLAINTEXT_BODY, b"ok\n", PAYLOAD[:5]]


@pytest.mark.parametrize("piece", [1, 3, 17])
def test_any_split_gives_the_same_answers(fast: bool, piece: int) -> None:
    data = get("/json") + b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello" + get("/plaintext")
    whole = answer(fast, data, STAGE_4)
    conn, _ = connection(fast, STAGE_4)
    split = [r for start in range(0, len(data), piece) for r in conn.receive(data[start:start + piece], NOW)]
    assert split == whole and len(whole) == 3


def test_head_is_gets_head_without_the_body(fast: bool) -> None:
    for options in (STAGE_0_TO_3, STAGE_4):
        (got,) = answer(fast, get("/bytes/100"), options)
        (head,) = answer(fast, get("/bytes/100", method="HEAD"), options)
        assert head.body == b"" and got.body
        assert Answered(head, b"HEAD").headers == Answered(got).headers


def test_etag_and_if_none_match_give_304_with_vary(fast: bool) -> None:
    conn, stats = connection(fast, STAGE_4)
    first = Answered(conn.receive(get("/bytes/2000"), NOW)[0])
    tag = first.headers["etag"]
    for header in (tag, f'W/"other", {tag}', "*"):
        reply = conn.receive(get("/bytes/2000", f"If-None-Match: {header}"), NOW)[0]
        seen = Answered(reply)
        assert (seen.status, seen.body) == (304, b""), header
        assert seen.headers["etag"] == tag and seen.headers["vary"] == "Accept-Encoding"
        assert "content-length" not in seen.headers
    other = Answered(conn.receive(get("/bytes/2000", 'If-None-Match: "nope"'), NOW)[0])
    assert other.status == 200 and len(other.body) == 2000
    assert stats.snapshot()["by_status"] == {"200": 2, "304": 3}


def test_gzip_only_for_clients_that_accept_it_and_large_bodies(fast: bool) -> None:
    import gzip

    zipped = Answered(answer(fast, get("/bytes/5000", "Accept-Encoding: gzip, br"), STAGE_4)[0])
    assert zipped.headers["content-encoding"] == "gzip"
    assert gzip.decompress(zipped.body) == answer(fast, get("/bytes/5000"))[0].body
    small = Answered(answer(fast, get("/plaintext", "Accept-Encoding: gzip"), STAGE_4)[0])
    assert "content-encoding" not in small.headers
    refused = Answered(answer(fast, get("/bytes/5000", "Accept-Encoding: gzip;q=0"), STAGE_4)[0])
    assert "content-encoding" not in refused.headers


@pytest.mark.parametrize("name", list(BAD_REQUESTS))
def test_a_bad_request_is_answered_once_and_closes(fast: bool, name: str) -> None:
    data, status = BAD_REQUESTS[name]
    conn, stats = connection(fast, STAGE_4)
    replies = conn.receive(data + get("/plaintext"), NOW)
    assert [r.close for r in replies] == [True]
    seen = Answered(replies[0])
    assert seen.status == status and seen.headers["connection"] == "close"
    assert conn.closed and conn.receive(get("/plaintext"), NOW) == []
    assert stats.snapshot()["protocol_errors"] == 1


def test_a_good_request_before_a_bad_one_is_answered_first(fast: bool) -> None:
    replies = answer(fast, get("/plaintext") + b"G@T / HTTP/1.1\r\n\r\n", STAGE_4)
    assert [Answered(r).status for r in replies] == [200, 400]
    assert [r.close for r in replies] == [False, True]


def test_100_continue_before_the_body(fast: bool) -> None:
    conn, _ = connection(fast, STAGE_4)
    head = b"POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"
    (interim,) = conn.receive(head, NOW)
    assert interim.head == b"HTTP/1.1 100 Continue\r\n\r\n" and not interim.close
    (echo,) = conn.receive(b"hello", NOW)
    assert Answered(echo).body == b"hello"


def test_reply_budget_holds_back_what_a_pipeline_asks_beyond_it(fast: bool) -> None:
    count = 2 * REPLY_BUDGET_BYTES // MAX_PAYLOAD_BYTES + 3
    conn, _ = connection(fast, STAGE_4)
    first = conn.receive(get(f"/bytes/{MAX_PAYLOAD_BYTES}") * count, NOW)
    assert len(first) == 1 and conn.has_pending  # one 1 MiB answer is over the 256 KiB budget
    rest: list[Reply] = []
    while conn.has_pending:
        rest += conn.replies(NOW)
    assert len(first) + len(rest) == count
    assert all(len(r.body) == MAX_PAYLOAD_BYTES for r in first + rest)


def test_small_answers_share_one_budget(fast: bool) -> None:
    size = REPLY_BUDGET_BYTES // 4
    conn, _ = connection(fast, STAGE_4)
    replies = conn.receive(get(f"/bytes/{size}") * 8, NOW)
    # answers are encoded until the budget is spent: four bodies fill it, the fourth goes over
    assert len(replies) == 4 and conn.has_pending


def test_idle_is_kept_by_every_way_in(fast: bool) -> None:
    """`idle` is an attribute each method that parses or answers keeps: parse (stage 1),
    receive, replies, reset."""
    conn, _ = connection(fast, STAGE_4)
    assert conn.receive(b"", NOW) == [] and conn.idle is True
    conn.parse(b"GET /plaintext HTTP/1.1\r\nHo")
    assert conn.idle is False
    conn.parse(b"st: t\r\n\r\n")
    assert conn.idle is False  # a request waits for its answer
    assert len(conn.replies(NOW)) == 1 and conn.idle is True
    assert len(conn.receive(get("/plaintext") + b"GET /pla", NOW)) == 1  # answered, and the next one begun
    assert conn.idle is False
    conn.reset()
    assert conn.idle is True


def test_idle_only_between_requests(fast: bool) -> None:
    conn, _ = connection(fast, STAGE_4)
    assert conn.idle
    conn.receive(b"GET /plaintext HTTP/1.1\r\nHo", NOW)
    assert not conn.idle
    conn.receive(b"st: t\r\n\r\n", NOW)
    assert conn.idle


def test_reset_forgets_the_previous_client(fast: bool) -> None:
    conn, _ = connection(fast, STAGE_4)
    conn.receive(b"G@T / HTTP/1.1\r\n\r\n", NOW)
    assert conn.closed
    conn.reset()
    (reply,) = conn.receive(get("/plaintext"), NOW)
    assert Answered(reply).status == 200


@pytest.mark.parametrize(("path", "status"), [("/nope", 404), ("/bytes/x", 404), ("/delay/1001", 400),
                                              ("/bytes/1048577", 400)])
def test_route_errors_keep_the_connection(fast: bool, path: str, status: int) -> None:
    (reply,) = answer(fast, get(path), STAGE_4)
    assert Answered(reply).status == status and not reply.close


def test_wrong_method_is_405_with_allow(fast: bool) -> None:
    (reply,) = answer(fast, b"POST /plaintext HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", STAGE_4)
    seen = Answered(reply, b"POST")
    assert seen.status == 405 and seen.headers["allow"] == "GET, HEAD"


def test_delay_is_left_to_the_strategy(fast: bool) -> None:
    (reply,) = answer(fast, get("/delay/250"))
    assert reply.delay == 0.25  # the core never sleeps: the I/O strategy waits


def test_stats_count_answers_by_status(fast: bool) -> None:
    conn, stats = connection(fast, STAGE_4)
    conn.receive(get("/plaintext") + get("/nope") + get("/json"), NOW)
    snapshot = stats.snapshot()
    assert snapshot["requests"] == 3 and snapshot["by_status"] == {"200": 2, "404": 1}




def test_delay_at_its_limit_is_waited_one_past_it_refused(fast: bool) -> None:
    at, past = answer(fast, get(f"/delay/{MAX_DELAY_MS}") + get(f"/delay/{MAX_DELAY_MS + 1}"), STAGE_4)
    assert (Answered(at).status, at.delay) == (200, MAX_DELAY_MS / 1000)
    assert (Answered(past).status, past.delay) == (400, 0)


def test_payload_at_its_limit_is_served_one_past_it_refused(fast: bool) -> None:
    (at,) = answer(fast, get(f"/bytes/{MAX_PAYLOAD_BYTES}"), STAGE_4)
    (past,) = answer(fast, get(f"/bytes/{MAX_PAYLOAD_BYTES + 1}"), STAGE_4)
    assert (Answered(at).status, len(at.body)) == (200, MAX_PAYLOAD_BYTES)
    assert Answered(past).status == 400


def test_gzip_from_its_minimum_size(fast: bool) -> None:
    def encoding(size: int) -> str | None:
        (reply,) = answer(fast, get(f"/bytes/{size}", "Accept-Encoding: gzip"), STAGE_4)
        return Answered(reply).headers.get("content-encoding")

    assert (encoding(GZIP_MIN_BYTES - 1), encoding(GZIP_MIN_BYTES)) == (None, "gzip")


def test_the_cache_keeps_at_most_its_limit_and_still_answers_past_it(fast: bool) -> None:
    cache = ResponseCache()
    conn = HttpConnection(App(Stats(), "test"), replace(STAGE_4, fast_parser=fast), DateHeader(), cache)
    for n in range(MAX_CACHE_ENTRIES + 1):
        conn.receive(get(f"/bytes/{n}"), NOW)
    assert len(cache) == MAX_CACHE_ENTRIES
    (reply,) = conn.receive(get(f"/bytes/{MAX_CACHE_ENTRIES}"), NOW)
    assert len(Answered(reply).body) == MAX_CACHE_ENTRIES


def test_a_cached_reply_is_assembled_once_a_second(fast: bool) -> None:
    conn, _ = connection(fast, STAGE_4)
    conn.receive(get("/plaintext"), NOW)  # the first answer puts /plaintext in the cache
    first = conn.receive(get("/plaintext"), NOW)[0]
    assert conn.receive(get("/plaintext"), NOW + 0.5)[0] is first  # the same reply, not made again
    later = Answered(conn.receive(get("/plaintext"), NOW + 1)[0])
    assert later.headers["date"] == "Sun, 09 Sep 2001 01:46:41 GMT" and later.body == PLAINTEXT_BODY


def test_a_conditional_request_gets_304_from_a_fresh_cache_too(fast: bool) -> None:
    """A client keeps an ETag across a server's restart: the request that fills an empty cache
    is checked against If-None-Match like the ones the cache answers."""
    (first,) = answer(fast, get("/plaintext"), STAGE_4)
    etag = Answered(first).headers["etag"]
    for closing in (False, True):
        fields = [f"If-None-Match: {etag}", *(["Connection: close"] if closing else [])]
        (reply,) = answer(fast, get("/plaintext", *fields), STAGE_4)  # a new connection and cache each time
        seen = Answered(reply)
        assert (seen.status, seen.body, seen.headers["etag"]) == (304, b"", etag)
        assert (reply.close, seen.headers.get("connection")) == ((True, "close") if closing else (False, None))


def test_a_cached_answer_says_what_each_request_asked_of_its_connection(fast: bool) -> None:
    """The cache keeps each representation's reply per Connection line within a second: a
    keep-alive answer must never be handed to a client that asked to close, nor the reverse."""
    cache = ResponseCache()

    def ask(request: bytes) -> Answered:
        conn = HttpConnection(App(Stats(), "test"), replace(STAGE_4, fast_parser=fast), DateHeader(), cache)
        return Answered(conn.receive(request, NOW)[0])

    asked = [ask(get("/plaintext")), ask(get("/plaintext", "Connection: close")),
             ask(get("/plaintext", "Connection: keep-alive", version="1.0")), ask(get("/plaintext", version="1.0")),
             ask(get("/plaintext"))]
    assert len(cache) == 1  # one representation answered all five
    assert [(seen.headers.get("connection"), seen.close) for seen in asked] == [
        (None, False), ("close", True), ("keep-alive", False), ("close", True), (None, False)]
    assert {seen.body for seen in asked} == {PLAINTEXT_BODY}


@pytest.mark.parametrize(("method", "path", "status"), [("REPORT", "/nope", 501), ("PURGE", "/plaintext", 405),
                                                        ("SEARCH", "/bytes/10", 405), ("GET", "/nope", 404)])
def test_a_method_no_route_implements_is_501_off_the_routes_and_405_on_them(
        fast: bool, method: str, path: str, status: int) -> None:
    (reply,) = answer(fast, get(path, method=method), STAGE_4)
    assert Answered(reply, method.encode()).status == status and not reply.close


def _sized(fast: bool, total: int) -> bytes:
    """A GET whose stage-4 answer (head and body) is exactly `total` bytes."""
    size = total
    for _ in range(3):  # the head's length depends on the digits of the size
        (reply,) = answer(fast, get(f"/bytes/{size}"), STAGE_4)
        size = total - len(reply.head)
    (reply,) = answer(fast, get(f"/bytes/{size}"), STAGE_4)
    assert len(reply.head) + len(reply.body) == total
    return get(f"/bytes/{size}")


@pytest.mark.parametrize(("parts", "answered"), [(2, 2), (3, 4)])
def test_the_reply_budget_stops_once_spent_exactly(fast: bool, parts: int, answered: int) -> None:
    # Two answers of half the budget spend it exactly; three of a third leave a byte, so a fourth goes.
    request = _sized(fast, REPLY_BUDGET_BYTES // parts)
    conn, _ = connection(fast, STAGE_4)
    assert len(conn.receive(request * 5, NOW)) == answered


def test_parse_gathers_without_answering(fast: bool) -> None:
    conn, stats = connection(fast)
    assert conn.parse(b"GET /plaintext HTTP/1.1\r\nHo") is False
    assert conn.parse(b"st: t\r\n\r\n") is True and stats.snapshot()["requests"] == 0
    (reply,) = conn.replies(NOW)
    assert Answered(reply).status == 200 and reply.close  # stages 0-3
    assert conn.parse(get("/plaintext")) is False  # closed: nothing more is read


@pytest.mark.parametrize("status_path", ["/nope", "/echo"])
def test_an_answer_the_policy_passes_through_still_closes_when_asked(fast: bool, status_path: str) -> None:
    """A 404, or a 200 neither gzipped nor cached (echo), goes out as the app made it, and still
    ends a connection whose request said close."""
    method = "GET" if status_path == "/nope" else "POST"
    request = get(status_path, "Connection: close", "Content-Length: 0", method=method)
    (reply,) = answer(fast, request, STAGE_4)
    assert reply.close is True and Answered(reply, method.encode()).headers["connection"] == "close"
