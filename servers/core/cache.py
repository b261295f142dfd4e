"""Stage 4's response cache: encoded header fields, body and ETag of cacheable routes."""

from __future__ import annotations

import gzip
import hashlib
from typing import NamedTuple

from .limits import GZIP_LEVEL, GZIP_MIN_BYTES, MAX_CACHE_ENTRIES
from .response import Reply, Response, assemble_head, content_fields

VARY_LINE = b"Vary: Accept-Encoding\r\n"


class Representation(NamedTuple):
    """A 200 body ready to send: its header fields (all but status, Server, Date, Connection)."""

    fields: bytes
    body: bytes
    etag: bytes  # b"" when the representation was not built by the cache


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


def represent(response: Response, use_gzip: bool, vary: bool, with_etag: bool) -> Representation:
    """Encode a 200 body (gzipped if asked) with its content fields and, if asked, Vary and a
    strong ETag (of the bytes sent, so the gzipped and plain representations differ)."""
    body = response.body
    extra = response.headers
    if use_gzip:
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
            head = assemble_head(200, date_line, representation.fields, connection_line)
            reply = self._replies[key] = Reply(head, representation.body, 0.0, close)
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
