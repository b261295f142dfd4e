"""The routes every stage serves, as a pure function from Request to Response.

Their bytes (bodies, content types, the 404) are the ones lab/peers serve too: imported from
here, never written again, so a peer is judged on the same answers."""

from __future__ import annotations

import os
import random

import orjson

from .limits import MAX_DELAY_MS, MAX_PAYLOAD_BYTES
from .request import Request
from .response import JSON, OCTETS, TEXT, Response, error_response
from .stats import Stats

PLAINTEXT_BODY = b"Hello, World!"


def json_body() -> bytes:
    """/json's body, serialized on every call as TechEmpower's rules ask (the lab's ASGI and
    socketify peers call it too, so peers are judged on the same bytes and the same serializer)."""
    return orjson.dumps({"message": "Hello, World!"})
HEALTH_BODY = b"ok\n"


def _make_payload() -> bytes:
    """Deterministic English-like text for /bytes/{n}: it compresses like real text (3:1 at 2 KB,
    5:1 at 64 KB), so gzip's gain is neither a repeated byte's 100:1 nor random data's nothing."""
    words = [
        "the", "server", "answers", "each", "request", "with", "bytes", "that", "load", "generators",
        "count", "while", "latency", "percentiles", "and", "memory", "tell", "which", "optimization",
        "paid", "for", "what",
    ]
    rng = random.Random(0)
    text = bytearray()
    while len(text) < MAX_PAYLOAD_BYTES:
        text += rng.choice(words).encode() + rng.choice((b" ", b" ", b" ", b", ", b".\n"))
    return bytes(text[:MAX_PAYLOAD_BYTES])


PAYLOAD = _make_payload()
# Digits read from a path argument; more is over every bound, and int() of a huge string is slow.
_MAX_ARG_DIGITS = 9
NOT_FOUND = error_response(404, "no such route")


def _method_not_allowed(allowed: bytes) -> Response:
    return error_response(405, "method not allowed", b"Allow: " + allowed + b"\r\n")


# GET routes answer HEAD too (RFC 9110 §9.3.2): the connection sends GET's head without its body.
READ_METHODS = (b"GET", b"HEAD")
# A method no route implements is 501 (RFC 9110 §15.6.2) off the routes, 405 on them.
IMPLEMENTED_METHODS = (*READ_METHODS, b"POST")
NOT_IMPLEMENTED = error_response(501, "method not implemented")
GET_ONLY = _method_not_allowed(b"GET, HEAD")
POST_ONLY = _method_not_allowed(b"POST")


class App:
    """Route table: /plaintext /json /echo /bytes/{n} /delay/{ms} /health /stats."""

    __slots__ = ("name", "stats")

    def __init__(self, stats: Stats, name: str) -> None:
        self.stats = stats
        self.name = name

    def handle(self, request: Request) -> Response:
        path = request.path
        method = request.method
        if path == b"/plaintext":
            if method not in READ_METHODS:
                return GET_ONLY
            return Response(200, TEXT, PLAINTEXT_BODY, cacheable=True)
        if path == b"/json":
            if method not in READ_METHODS:
                return GET_ONLY
            # Serialized per request, as TechEmpower's json test requires.
            return Response(200, JSON, json_body())
        if path == b"/echo":
            if method != b"POST":
                return POST_ONLY
            return Response(200, request.header(b"content-type") or OCTETS, request.body)
        if path.startswith(b"/bytes/"):
            size = _bounded_argument(method, path[7:], MAX_PAYLOAD_BYTES, "/bytes/{n} serves at most")
            if isinstance(size, Response):
                return size
            return Response(200, TEXT, PAYLOAD[:size], cacheable=True)
        if path.startswith(b"/delay/"):
            ms = _bounded_argument(method, path[7:], MAX_DELAY_MS, "/delay/{ms} waits at most")
            if isinstance(ms, Response):
                return ms
            return Response(200, TEXT, PLAINTEXT_BODY, delay=ms / 1000)
        if path == b"/health":
            return GET_ONLY if method not in READ_METHODS else Response(200, TEXT, HEALTH_BODY)
        if path == b"/stats":
            if method not in READ_METHODS:
                return GET_ONLY
            # The pid tells stage 4's --workers apart: each worker counts for itself.
            snapshot = {"server": self.name, "pid": os.getpid(), **self.stats.snapshot()}
            return Response(200, JSON, orjson.dumps(snapshot))
        return NOT_FOUND if method in IMPLEMENTED_METHODS else NOT_IMPLEMENTED


def _bounded_argument(method: bytes, arg: bytes, limit: int, refusal: str) -> int | Response:
    """The number at the end of a GET route's path, or the response that refuses it."""
    if not arg.isdigit():
        return NOT_FOUND
    if method not in READ_METHODS:
        return GET_ONLY
    if len(arg) > _MAX_ARG_DIGITS or int(arg) > limit:
        return error_response(400, f"{refusal} {limit}")
    return int(arg)
