"""One HTTP/1.1 server connection, sans-IO: bytes in, encoded replies out.

Every stage drives this class; what differs between stages is only how bytes reach it (the
I/O strategy) and which protocol options are on (stage 4's).
"""

from __future__ import annotations

from dataclasses import dataclass

from .app import READ_METHODS, App
from .cache import (
    Representation,
    ResponseCache,
    accepts_gzip,
    etag_matches,
    not_modified_fields,
    represent,
    should_gzip,
)
from .errors import ProtocolError
from .fastparser import FastRequestParser
from .limits import REPLY_BUDGET_BYTES
from .parser import RequestParser
from .request import ContinueExpected, Request
from .response import (
    CLOSE_LINE,
    CONTINUE,
    KEEP_ALIVE_LINE,
    DateHeader,
    Reply,
    Response,
    assemble_head,
    closing_head,
    content_fields,
    error_response,
)


@dataclass(frozen=True)
class ProtocolOptions:
    """The roadmap's stage-4 protocol work, one switch each so its effect can be measured."""

    keep_alive: bool = False  # off: every response closes its connection (stages 0–3)
    pipelining: bool = False  # the strategy sends all replies to one read in one write
    fast_parser: bool = False  # llhttp via httptools instead of the pure-Python core parser
    gzip: bool = False  # compress bodies of GZIP_MIN_BYTES or more for clients that accept it
    cache: bool = False  # keep encoded responses of cacheable routes; ETag / If-None-Match → 304


STAGE_0_TO_3 = ProtocolOptions()


_CONTINUE = Reply(CONTINUE, b"", 0.0, False)


class HttpConnection:
    """Parse requests from `receive(data, now)` and answer each; stops after a closing reply."""

    __slots__ = ("_app", "_cache", "_date", "_gzip", "_keep_alive", "_parser", "_stats", "_use_cache",
                 "_waiting", "closed", "idle")

    def __init__(self, app: App, options: ProtocolOptions, date: DateHeader,
                 cache: ResponseCache | None = None) -> None:
        self._app = app
        self._stats = app.stats
        # The switches again as plain attributes: they are read for every request.
        self._keep_alive = options.keep_alive
        self._gzip = options.gzip
        self._use_cache = options.cache
        self._parser: RequestParser | FastRequestParser = (
            FastRequestParser() if options.fast_parser else RequestParser()
        )
        self._date = date
        self._cache = cache if cache is not None else ResponseCache()
        # A list, not a deque: an empty deque holds a 600-byte block, per connection.
        self._waiting: list[Request | ProtocolError | ContinueExpected] = []
        self.closed = False
        # No request in progress or waiting: the strategy applies its keep-alive timeout, not its
        # request timeout. An attribute kept by every method that parses or answers, not a property:
        # the strategy reads it twice per read.
        self.idle = True

    def reset(self) -> None:
        """Ready for a new client (pooled connections reuse this object)."""
        self._parser.reset()
        self._waiting.clear()
        self.closed = False
        self.idle = True

    @property
    def has_pending(self) -> bool:
        """Parsed requests not answered yet, held back by the reply budget (see `replies`)."""
        return bool(self._waiting)

    def parse(self, data: bytes | bytearray | memoryview) -> bool:
        """Parse `data` without answering; True once something waits for an answer (`replies`).
        Stage 1's acceptor gathers a request this way before a worker thread answers it."""
        if not self.closed:
            self._waiting.extend(self._parser.feed(data))
            self.idle = self._parser.idle and not self._waiting
        return bool(self._waiting)

    def receive(self, data: bytes | bytearray | memoryview, now: float) -> list[Reply]:
        """Parse `data` and answer what it completes, up to the reply budget."""
        if self.closed:
            return []
        self._waiting.extend(self._parser.feed(data))
        return self.replies(now)

    def replies(self, now: float) -> list[Reply]:
        """Answer waiting requests in order until REPLY_BUDGET_BYTES are encoded (at least one).

        A few dozen bytes of pipelined requests can ask for megabytes of answers; the budget lets
        the strategy stop reading and send what it has before answering more."""
        replies: list[Reply] = []
        waiting = self._waiting
        if not waiting:
            self.idle = self._parser.idle
            return replies
        budget = REPLY_BUDGET_BYTES
        date_line = self._date.at(now)  # once for all the answers to one read
        for event in waiting:
            if isinstance(event, Request):
                reply = self._answer(event, date_line)
                if event.method == b"HEAD":  # GET's head, Content-Length included, without the body
                    reply = reply._replace(body=b"")
            elif isinstance(event, ProtocolError):
                reply = self._error(event, date_line)
            else:
                reply = _CONTINUE
            replies.append(reply)
            budget -= len(reply.head) + len(reply.body)
            if reply.close:
                self.closed = True
                waiting.clear()
                break
            if budget <= 0:
                break
        del waiting[:len(replies)]
        self.idle = self._parser.idle and not waiting
        return replies

    def _error(self, error: ProtocolError, date_line: bytes) -> Reply:
        self._stats.protocol_error(error.status)
        response = error_response(error.status, error.reason)
        return Reply(closing_head(response, date_line), response.body, 0.0, True)

    def _answer(self, request: Request, date_line: bytes) -> Reply:
        keep_alive = request.keep_alive and self._keep_alive
        if keep_alive:
            connection_line = KEEP_ALIVE_LINE if request.version == b"1.0" else b""
        else:
            connection_line = CLOSE_LINE
        # A field's test is skipped when the field is absent, as it mostly is: each is a call.
        accept_encoding = request.header(b"accept-encoding")
        use_gzip = accept_encoding is not None and self._gzip and accepts_gzip(accept_encoding)
        if self._use_cache and request.method in READ_METHODS:
            cached = self._cache.get(request.target, use_gzip)
            if cached is not None:  # cached representations have an ETag
                if_none_match = request.header(b"if-none-match")
                if if_none_match is not None and etag_matches(if_none_match, cached.etag):
                    return self._not_modified(cached, date_line, connection_line, not keep_alive)
                self._stats.answered(200)
                return self._cache.reply(cached, date_line, connection_line, not keep_alive)
        response = self._app.handle(request)
        eligible = self._gzip and should_gzip(response)
        cacheable = self._use_cache and response.cacheable
        if response.status == 200 and (eligible or cacheable):
            representation = represent(response, use_gzip and eligible, eligible, cacheable)
            if representation.etag:
                self._cache.put(request.target, use_gzip, representation)
                if etag_matches(request.header(b"if-none-match"), representation.etag):
                    return self._not_modified(representation, date_line, connection_line, not keep_alive)
            self._stats.answered(200)
            head = assemble_head(200, date_line, representation.fields, connection_line)
            return Reply(head, representation.body, 0.0, not keep_alive)
        self._stats.answered(response.status)
        fields = content_fields(response.content_type, len(response.body)) + response.headers
        head = assemble_head(response.status, date_line, fields, connection_line)
        return Reply(head, response.body, response.delay, not keep_alive)

    def _not_modified(self, representation: Representation, date_line: bytes, connection_line: bytes,
                      close: bool) -> Reply:
        self._stats.answered(304)
        head = assemble_head(304, date_line, not_modified_fields(representation), connection_line)
        return Reply(head, b"", 0.0, close)


__all__ = ["STAGE_0_TO_3", "HttpConnection", "ProtocolOptions", "Reply", "Response"]
