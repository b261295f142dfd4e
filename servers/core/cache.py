"""Stage 4's representations: which bytes a 200 goes out as (gzipped for a client that accepts it,
kept in the response cache with an ETag, a 304 for a matching If-None-Match), chosen in one place,
RepresentationPolicy.answer."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable
from typing import NamedTuple

from .app import READ_METHODS
from .limits import GZIP_LEVEL, GZIP_MIN_BYTES, MAX_CACHE_ENTRIES
from .request import Request
from .response import Reply, Response, content_fields, encode, encode_response

VARY_LINE = b"Vary: Accept-Encoding\r\n"


class Representation(NamedTuple):
    """A 200 body ready to send: its header fields (all but status, Server, Date, Connection)."""

    fields: bytes
    body: bytes
    etag: bytes  # b"" when the representation was not built by the cache

    def encode(self, date_line: bytes, connection_line: bytes, close: bool) -> Reply:
        return encode(200, self.fields, self.body, date_line, connection_line, close=close)


def accepts_gzip(accept_encoding: bytes | None) -> bool:
    """True when the client lists gzip without refusing it (q=0)."""
    if not accept_encoding:
        return False
    for item in accept_encoding.lower().split(b","):
        coding, _, params = item.partition(b";")
        if coding.strip() in (b"gzip", b"*"):
            return params.replace(b" ", b"") not in (b"q=0", b"q=0.0", b"q=0.00", b"q=0.000")
    return False


def should_gzip(response: Response) -> bool:
    return len(response.body) >= GZIP_MIN_BYTES


def represent(response: Response, *, gzipped: bool, vary: bool, with_etag: bool) -> Representation:
    """Encode a 200 body (gzipped if asked) with its content fields and, if asked, Vary and a
    strong ETag (of the bytes sent, so the gzipped and plain representations differ)."""
    body = response.body
    extra = response.headers
    if gzipped:
        # mtime=0 keeps the bytes, and so the ETag, the same on every run.
        body = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
        extra += b"Content-Encoding: gzip\r\n"
    if vary:
        extra += VARY_LINE
    etag = b""
    if with_etag:
        etag = b'"' + hashlib.blake2b(body, digest_size=8).hexdigest().encode() + b'"'
        extra += b"ETag: " + etag + b"\r\n"
    return Representation(content_fields(response.content_type, len(body)) + extra, body, etag)


class ResponseCache:
    """Representations by (target, gzipped); bounded, first come first kept. Their 200 replies
    are kept too, for the Date line they were assembled with: within a second a representation's
    reply is the same bytes for every request, so it is assembled once a second, not per request."""

    __slots__ = ("_entries", "_replies", "_replies_date")

    def __init__(self) -> None:
        self._entries: dict[tuple[bytes, bool], Representation] = {}
        self._replies: dict[tuple[bytes, bytes], Reply] = {}
        self._replies_date = b""

    def get(self, target: bytes, gzipped: bool) -> Representation | None:
        return self._entries.get((target, gzipped))

    def put(self, target: bytes, gzipped: bool, representation: Representation) -> None:
        if len(self._entries) < MAX_CACHE_ENTRIES:
            self._entries[(target, gzipped)] = representation

    def reply(self, representation: Representation, date_line: bytes, connection_line: bytes,
              close: bool) -> Reply:
        """The 200 reply of a representation this cache holds."""
        if date_line != self._replies_date:
            self._replies.clear()
            self._replies_date = date_line
        # The fields hold the ETag, which names the body; the Connection line decides `close`.
        key = (representation.fields, connection_line)
        reply = self._replies.get(key)
        if reply is None:
            reply = self._replies[key] = representation.encode(date_line, connection_line, close)
        return reply

    def __len__(self) -> int:
        return len(self._entries)


def not_modified_fields(representation: Representation) -> bytes:
    """A 304 carries the ETag and Vary of the 200 it stands for, and no body or Content-Length."""
    fields = b"ETag: " + representation.etag + b"\r\n"
    if VARY_LINE in representation.fields:
        fields += VARY_LINE
    return fields


def etag_matches(if_none_match: bytes | None, etag: bytes) -> bool:
    if not if_none_match:
        return False
    candidates = [tag.strip() for tag in if_none_match.split(b",")]
    return b"*" in candidates or etag in candidates or b"W/" + etag in candidates


class RepresentationPolicy:
    """gzip and the cache as the options ask (one policy per connection, the cache shared)."""

    __slots__ = ("_cache", "_gzip")

    def __init__(self, *, gzip: bool, cache: ResponseCache | None) -> None:
        self._gzip = gzip
        self._cache = cache  # None: no caching, no ETags

    def answer(self, request: Request, handle: Callable[[Request], Response], date_line: bytes,
               connection_line: bytes, close: bool) -> Reply:
        """A cached or represented 200, a 304, or else the app's response as it is."""
        # A field's test is skipped when the field is absent, as it mostly is: each is a call.
        accept_encoding = request.header(b"accept-encoding")
        use_gzip = accept_encoding is not None and self._gzip and accepts_gzip(accept_encoding)
        cache = self._cache
        if cache is not None and request.method in READ_METHODS:
            cached = cache.get(request.target, use_gzip)
            if cached is not None:  # cached representations have an ETag
                if_none_match = request.header(b"if-none-match")
                if if_none_match is not None and etag_matches(if_none_match, cached.etag):
                    return _not_modified(cached, date_line, connection_line, close)
                return cache.reply(cached, date_line, connection_line, close)
        response = handle(request)
        eligible = self._gzip and should_gzip(response)
        cacheable = cache is not None and response.cacheable
        if response.status != 200 or not (eligible or cacheable):
            return encode_response(response, date_line, connection_line, close)
        representation = represent(response, gzipped=use_gzip and eligible, vary=eligible, with_etag=cacheable)
        if cache is not None and cacheable:
            cache.put(request.target, use_gzip, representation)
            if etag_matches(request.header(b"if-none-match"), representation.etag):
                return _not_modified(representation, date_line, connection_line, close)
        return representation.encode(date_line, connection_line, close)


def _not_modified(representation: Representation, date_line: bytes, connection_line: bytes, close: bool) -> Reply:
    return encode(304, not_modified_fields(representation), b"", date_line, connection_line, close=close)
