"""One HTTP/1.1 server connection, sans-IO: bytes in, encoded replies out.

Every stage drives this class; what differs between stages is only how bytes reach it (the
I/O strategy) and which protocol options are on (stage 4's).
"""

from __future__ import annotations

from dataclasses import dataclass

from .app import App
from .cache import RepresentationPolicy, ResponseCache
from .errors import ProtocolError
from .fastparser import FastRequestParser
from .limits import REPLY_BUDGET_BYTES
from .parser import RequestParser
from .request import ContinueExpected, Request
from .response import (
    CLOSE_LINE,
    CONTINUE,
    KEEP_ALIVE_LINE,
    OVERLOADED,
    DateHeader,
    Reply,
    Response,
    encode_closing,
    encode_response,
    error_response,
)
from .stats import Stats


@dataclass(frozen=True)
class ProtocolOptions:
    """The roadmap's stage-4 protocol work, one switch each so its effect can be measured."""

    keep_alive: bool = False  # off: every response closes its connection (stages 0–3)
    fast_parser: bool = False  # llhttp via httptools instead of the pure-Python core parser
    gzip: bool = False  # compress bodies of GZIP_MIN_BYTES or more for clients that accept it
    cache: bool = False  # keep encoded responses of cacheable routes; ETag / If-None-Match → 304


STAGE_0_TO_3 = ProtocolOptions()


_CONTINUE = Reply(CONTINUE, b"", 0.0, False, 100)


class HttpConnection:
    """Parse requests from `receive(data, now)` and answer each; stops after a closing reply."""

    __slots__ = ("_app", "_date", "_keep_alive", "_parser", "_policy", "_stats", "_waiting", "closed", "idle")

    def __init__(self, app: App, options: ProtocolOptions, date: DateHeader,
                 cache: ResponseCache | None = None) -> None:
        self._app = app
        self._stats = app.stats
        # A plain attribute: it is read for every request.
        self._keep_alive = options.keep_alive
        self._parser: RequestParser | FastRequestParser = (
            FastRequestParser() if options.fast_parser else RequestParser()
        )
        self._date = date
        self._policy: RepresentationPolicy | None = None  # stages 0-3: the app's response as it is
        if options.gzip or options.cache:
            shared = (cache if cache is not None else ResponseCache()) if options.cache else None
            self._policy = RepresentationPolicy(gzip=options.gzip, cache=shared)
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
        return encode_closing(error_response(error.status, error.reason), date_line)

    def _answer(self, request: Request, date_line: bytes) -> Reply:
        keep_alive = request.keep_alive and self._keep_alive
        if keep_alive:
            connection_line = KEEP_ALIVE_LINE if request.version == b"1.0" else b""
        else:
            connection_line = CLOSE_LINE
        if self._policy is None:
            reply = encode_response(self._app.handle(request), date_line, connection_line, not keep_alive)
        else:
            reply = self._policy.answer(request, self._app.handle, date_line, connection_line, not keep_alive)
        self._stats.answered(reply.status)
        return reply


def overloaded(stats: Stats, date_line: bytes) -> bytes:
    """The 503 to a client over the connection limit, counted like any answer."""
    stats.answered(503)
    reply = encode_closing(OVERLOADED, date_line)
    return reply.head + reply.body


__all__ = ["STAGE_0_TO_3", "HttpConnection", "ProtocolOptions", "Reply", "Response", "overloaded"]
