"""The app and the bytes the core puts on the wire, in memory: exact heads, the routes' answers,
content negotiation, and the counters — every stage sends these bytes."""

from __future__ import annotations

import gzip
import hashlib
import json
import os

import pytest

from servers.core import (
    STAGE_0_TO_3,
    App,
    DateHeader,
    HttpConnection,
    ProtocolOptions,
    Reply,
    Stats,
    overloaded,
)
from servers.core.app import PAYLOAD
from servers.core.cache import ResponseCache, accepts_gzip, etag_matches
from servers.core.limits import GZIP_LEVEL
from servers.core.stats import ThreadSafeStats

NOW = 1_000_000_000.0  # Sun, 09 Sep 2001 01:46:40 GMT
STAGE_4 = ProtocolOptions(keep_alive=True, fast_parser=True, gzip=True, cache=True)
START = b"HTTP/1.1 %s\r\nServer: qpslab\r\nDate: Sun, 09 Sep 2001 01:46:40 GMT\r\n"
PLAIN = b"Content-Type: text/plain; charset=utf-8\r\n"


def replies(options: ProtocolOptions, data: bytes, app: App | None = None) -> list[Reply]:
    conn = HttpConnection(app or App(Stats(), "test"), options, DateHeader())
    return conn.receive(data, NOW)


# (options, request) → the exact head: field names, order, and which fields each answer carries.
HEADS = {
    "plaintext, stages 0-3": (STAGE_0_TO_3, b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n",
                              START % b"200 OK" + PLAIN + b"Content-Length: 13\r\nConnection: close\r\n\r\n"),
    "plaintext, stage 4": (STAGE_4, b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n",
                           START % b"200 OK" + PLAIN + b'Content-Length: 13\r\nETag: "7a0f6a1e78e4be06"\r\n\r\n'),
    "gzip, stage 4": (STAGE_4, b"GET /bytes/2000 HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n",
                      START % b"200 OK" + PLAIN + b"Content-Length: 595\r\nContent-Encoding: gzip\r\n"
                      b'Vary: Accept-Encoding\r\nETag: "3f3f33853c818f7a"\r\n\r\n'),
    # each of stage 4's representation switches alone: gzip without tags, tags without gzip
    "gzip alone": (ProtocolOptions(keep_alive=True, gzip=True),
                   b"GET /bytes/2000 HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n",
                   START % b"200 OK" + PLAIN + b"Content-Length: 595\r\nContent-Encoding: gzip\r\n"
                   b"Vary: Accept-Encoding\r\n\r\n"),
    "cache alone": (ProtocolOptions(keep_alive=True, cache=True),
                    b"GET /bytes/2000 HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n",
                    START % b"200 OK" + PLAIN + b'Content-Length: 2000\r\nETag: "4af4317a45c19862"\r\n\r\n'),
    "405, stage 4": (STAGE_4, b"POST /plaintext HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n",
                     START % b"405 Method Not Allowed" + PLAIN + b"Content-Length: 19\r\nAllow: GET, HEAD\r\n\r\n"),
    "505 closes": (STAGE_4, b"GET /x HTTP/2.0\r\n\r\n",
                   START % b"505 HTTP Version Not Supported" + PLAIN
                   + b"Content-Length: 27\r\nConnection: close\r\n\r\n"),
    "HTTP/1.0 keep-alive": (STAGE_4, b"GET /json HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
                            START % b"200 OK" + b"Content-Type: application/json\r\nContent-Length: 27\r\n"
                            b"Connection: keep-alive\r\n\r\n"),
}


@pytest.mark.parametrize("name", list(HEADS))
def test_the_exact_head(name: str) -> None:
    options, request, head = HEADS[name]
    (reply,) = replies(options, request)
    assert reply.head == head
    assert len(reply.body) == int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])


def test_a_304_carries_the_tag_and_vary_and_no_body() -> None:
    conn = HttpConnection(App(Stats(), "test"), STAGE_4, DateHeader())
    conn.receive(b"GET /bytes/2000 HTTP/1.1\r\nHost: t\r\n\r\n", NOW)
    (reply,) = conn.receive(b'GET /bytes/2000 HTTP/1.1\r\nHost: t\r\nIf-None-Match: "4af4317a45c19862"\r\n\r\n', NOW)
    assert reply.head == START % b"304 Not Modified" + b'ETag: "4af4317a45c19862"\r\nVary: Accept-Encoding\r\n\r\n'
    assert reply.body == b""


@pytest.mark.parametrize("options", [STAGE_0_TO_3, STAGE_4], ids=["stages 0-3", "stage 4"])
def test_error_bodies_name_the_problem(options: ProtocolOptions) -> None:
    cases = {b"GET /x HTTP/2.0\r\n\r\n": b"HTTP version not supported\n",
             b"GET /bytes/1048577 HTTP/1.1\r\nHost: t\r\n\r\n": b"/bytes/{n} serves at most 1048576\n",
             b"GET /delay/1001 HTTP/1.1\r\nHost: t\r\n\r\n": b"/delay/{ms} waits at most 1000\n",
             b"GET /bytes/1234567890 HTTP/1.1\r\nHost: t\r\n\r\n": b"/bytes/{n} serves at most 1048576\n",
             b"GET /bytes/123456789 HTTP/1.1\r\nHost: t\r\n\r\n": b"/bytes/{n} serves at most 1048576\n",
             b"PUT /json HTTP/1.1\r\nHost: t\r\n\r\n": b"method not allowed\n",
             b"REPORT /x HTTP/1.1\r\nHost: t\r\n\r\n": b"method not implemented\n",
             b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n": b"CONNECT is not supported\n"}
    for request, body in cases.items():
        (reply,) = replies(options, request)
        assert reply.body == body, request


def test_the_core_parser_names_a_malformed_version() -> None:
    # (llhttp words it its own way: "Invalid HTTP version"; the status, 400, is the same.)
    (reply,) = replies(STAGE_0_TO_3, b"GET /x HTTP/3.7\r\nHost: t\r\n\r\n")
    assert reply.head.startswith(START % b"400 Bad Request") and reply.body == b"malformed HTTP version\n"


def test_echo_keeps_the_content_type_or_says_octets() -> None:
    typed, untyped = replies(STAGE_4, b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: text/csv\r\n"
                             b"Content-Length: 3\r\n\r\na,b"
                             b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi")
    assert b"Content-Type: text/csv\r\n" in typed.head and typed.body == b"a,b"
    assert b"Content-Type: application/octet-stream\r\n" in untyped.head and untyped.body == b"hi"


def test_stats_answer_with_the_server_s_name_pid_and_counters() -> None:
    stats = Stats()
    app = App(stats, "stage9")
    stats.connection_opened()
    stats.answered(200)
    stats.protocol_error(400)
    (reply,) = replies(STAGE_4, b"GET /stats HTTP/1.1\r\nHost: t\r\n\r\n", app)
    assert reply.head.startswith(START % b"200 OK" + b"Content-Type: application/json\r\n")
    assert json.loads(reply.body) == {"server": "stage9", "pid": os.getpid(), "requests": 2,
                                      "by_status": {"200": 1, "400": 1}, "protocol_errors": 1, "connections": 1,
                                      "open_connections": 1, "peak_open_connections": 1, "concurrency": None}
    (refused,) = replies(STAGE_4, b"POST /stats HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", app)
    assert refused.head.startswith(START % b"405 Method Not Allowed")


def test_health_answers_reads_only() -> None:
    ok, refused = replies(STAGE_4, b"HEAD /health HTTP/1.1\r\nHost: t\r\n\r\n"
                                   b"DELETE /health HTTP/1.1\r\nHost: t\r\n\r\n")
    assert ok.head.startswith(START % b"200 OK") and b"Content-Length: 3\r\n" in ok.head and ok.body == b""
    assert refused.head.startswith(START % b"405 Method Not Allowed")


def test_the_counters_follow_connections_and_answers() -> None:
    stats = Stats()
    for _ in range(3):
        stats.connection_opened()
    stats.connection_closed()
    stats.connection_opened()
    stats.answered(200)
    stats.answered(200)
    stats.protocol_error(431)
    stats.protocol_error(400)
    assert stats.open_connections == 3
    assert stats.snapshot() == {"requests": 4, "by_status": {"200": 2, "400": 1, "431": 1}, "protocol_errors": 2,
                                "connections": 4, "open_connections": 3, "peak_open_connections": 3,
                                "concurrency": None}
    assert Stats().snapshot()["peak_open_connections"] == 0


def test_a_server_s_design_concurrency_is_in_its_stats() -> None:
    assert Stats(concurrency=1).snapshot()["concurrency"] == 1
    assert ThreadSafeStats(concurrency=10).snapshot()["concurrency"] == 10


def test_the_date_line_is_made_once_a_second() -> None:
    date = DateHeader()
    assert date.at(1.5) == b"Date: Thu, 01 Jan 1970 00:00:01 GMT\r\n"  # even the first second
    assert date.at(NOW) is date.at(NOW + 0.99)  # the same bytes, not made again
    assert date.at(NOW + 1.0) == b"Date: Sun, 09 Sep 2001 01:46:41 GMT\r\n"


def test_the_payload_is_the_same_bytes_in_every_batch() -> None:
    """/bytes/{n} and payload-64k results compare across batches only if the bytes (and so gzip's
    work on them) never change; they compress like text: 3-6:1, not 100:1, not 1:1."""
    assert hashlib.blake2b(PAYLOAD, digest_size=16).hexdigest() == "bd67a6ba285f266866ed4c53c03f5164"
    for size in (2000, 65536, len(PAYLOAD)):
        assert 3 < size / len(gzip.compress(PAYLOAD[:size], GZIP_LEVEL)) < 6


@pytest.mark.parametrize(("header", "gzip_ok"), [
    (None, False), (b"", False), (b"gzip", True), (b"GZIP", True), (b"br, gzip", True), (b"*", True),
    (b"gzip;q=0", False), (b"gzip; q=0.0", False), (b"gzip;q=0.00", False), (b"gzip;q = 0.000", False),
    (b"gzip;q=0.5", True), (b"gzip;q=0.01", True), (b"br", False), (b"deflate, br;q=1", False),
    (b"*;q=0", False), (b"x-gzip", False),
])
def test_accept_encoding(header: bytes | None, gzip_ok: bool) -> None:
    assert accepts_gzip(header) is gzip_ok


@pytest.mark.parametrize(("header", "matches"), [
    (None, False), (b"", False), (b'"abc"', True), (b'W/"abc"', True), (b"*", True), (b'"x","abc"', True),
    (b'"x", W/"abc"', True), (b'"abcd"', False), (b'w/"abc"', False), (b'"x"', False), (b"abc", False),
])
def test_if_none_match(header: bytes | None, matches: bool) -> None:
    assert etag_matches(header, b'"abc"') is matches


def test_gzip_bytes_are_the_same_on_every_run() -> None:
    """mtime=0: the gzip header carries no time, so the bytes and the ETag never change."""
    (first,) = replies(STAGE_4, b"GET /bytes/4000 HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n")
    assert first.body[4:8] == b"\0\0\0\0" and gzip.decompress(first.body) == PAYLOAD[:4000]


@pytest.mark.parametrize(("options", "reused"), [(STAGE_0_TO_3, False), (STAGE_4, True)], ids=["stages 0-3", "stage 4"])
def test_only_stage_4_answers_from_its_cache(options: ProtocolOptions, reused: bool) -> None:
    """The same representation object twice is an answer from the cache; plain and gzipped are
    kept apart, and a POST never reads it."""
    cache, app = ResponseCache(), App(Stats(), "test")
    plain = b"GET /bytes/3000 HTTP/1.1\r\nHost: t\r\n\r\n"
    zipped = b"GET /bytes/3000 HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n"
    post = b"POST /bytes/3000 HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n"

    def ask(request: bytes) -> Reply:  # each on a connection of its own, sharing the server's cache
        return HttpConnection(app, options, DateHeader(), cache).receive(request, NOW)[0]

    first, again = ask(plain), ask(plain)
    assert (first.body is again.body) is reused and first.body == again.body == PAYLOAD[:3000]
    gzipped = [ask(zipped), ask(zipped)]
    assert (gzipped[0].body is gzipped[1].body) is reused
    assert (gzipped[0].body != first.body) is reused  # stages 0-3 never gzip
    assert len(cache) == (2 if reused else 0)
    assert ask(post).head.startswith(START % b"405 Method Not Allowed") and len(cache) == (2 if reused else 0)


def test_a_gzipped_answer_that_may_not_be_cached_is_not() -> None:
    """/echo's answer is large enough to gzip but no route's to keep: a GET of /echo after it is
    still refused, not answered from the cache."""
    cache, app = ResponseCache(), App(Stats(), "test")
    body = PAYLOAD[:2000]
    post = (b"POST /echo HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(body)
            + body)
    (echoed,) = HttpConnection(app, STAGE_4, DateHeader(), cache).receive(post, NOW)
    assert b"Content-Encoding: gzip" in echoed.head and gzip.decompress(echoed.body) == body
    assert b"ETag" not in echoed.head and len(cache) == 0
    get = b"GET /echo HTTP/1.1\r\nHost: t\r\nAccept-Encoding: gzip\r\n\r\n"
    (refused,) = HttpConnection(app, STAGE_4, DateHeader(), cache).receive(get, NOW)
    assert refused.head.startswith(START % b"405 Method Not Allowed")


def test_error_and_304_replies_are_sent_at_once_and_say_whether_they_close() -> None:
    stats = Stats()
    conn = HttpConnection(App(stats, "test"), STAGE_4, DateHeader())
    tag = conn.receive(b"GET /bytes/2000 HTTP/1.1\r\nHost: t\r\n\r\n", NOW)[0].head.split(b'ETag: ')[1][:18]
    (not_modified,) = conn.receive(b"GET /bytes/2000 HTTP/1.1\r\nHost: t\r\nIf-None-Match: " + tag + b"\r\n\r\n", NOW)
    assert (not_modified.delay, not_modified.close) == (0.0, False) and not_modified.close is False
    (refused,) = conn.receive(b"G@T / HTTP/1.1\r\n\r\n", NOW)
    assert (refused.delay, refused.close) == (0.0, True)
    assert stats.snapshot()["by_status"] == {"200": 1, "304": 1, "400": 1}


def test_a_path_argument_of_nine_digits_is_still_a_number() -> None:
    (reply,) = replies(STAGE_4, b"GET /delay/000000500 HTTP/1.1\r\nHost: t\r\n\r\n")
    assert reply.head.startswith(START % b"200 OK") and reply.delay == 0.5


def test_json_is_compact() -> None:
    (reply,) = replies(STAGE_4, b"GET /json HTTP/1.1\r\nHost: t\r\n\r\n")
    assert reply.body == b'{"message":"Hello, World!"}'


def test_an_overloaded_server_s_one_answer_is_counted() -> None:
    date = DateHeader().at(NOW)
    stats = Stats()
    assert overloaded(stats, date) == (
        START % b"503 Service Unavailable" + PLAIN
        + b"Content-Length: 31\r\nRetry-After: 1\r\nConnection: close\r\n\r\nserver at its connection limit\n")
    assert stats.snapshot()["by_status"] == {"503": 1}
