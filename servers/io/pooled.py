"""Pooled protocols that receive into one preallocated buffer: the I/O of stages 3 and 4.

asyncio's BufferedProtocol lets the loop recv_into a buffer we own, and since every read is
parsed before the next one happens, one buffer serves all connections: the parsers copy only
what they keep. Protocol objects are pooled across clients, and so are connection states: a
connection holds an HttpConnection (and its parser, 1.5 KB with llhttp's) only while a request
is being read or answered; between requests, kept alive or with its answer held by /delay, it
holds none, and the state serves whichever connection reads next. Responses go out as (head,
body) without joining them, except small ones: uvloop allocates more to write two buffers than
joining a few hundred bytes costs (COPY_BELOW_BYTES). Deadlines are kept as numbers and checked
by one sweep a second, instead of a timer armed and cancelled per request, and answers held by
/delay wait in holds.py's queues, not on a timer each.

Slow clients (slowloris): at the connection limit a new client displaces the connection that has
made the least progress (core/admission.py) rather than being refused, so clients that trickle
their request, or stop reading their answers, cannot hold the limit until their timeout; once
the limit is half full the time a request (or an idle wait) may take shrinks, to 1 s when full.
"""

from __future__ import annotations

import asyncio
import time
from typing import cast

from ..core import (
    App,
    DateHeader,
    HttpConnection,
    ProtocolOptions,
    Reply,
    ResponseCache,
    Stats,
    overloaded,
)
from ..core.admission import Admission
from ..core.limits import KEEPALIVE_TIMEOUT_S, RECV_BYTES, SWEEP_INTERVAL_S
from .flags import ServerConfig
from .flow import FlowControl
from .holds import Holds

# A reply whose body is shorter is sent as one joined buffer: uvloop writes a single buffer
# with one write(2) but several through a writev context it allocates (0.17 µs more per
# reply, benchmarks/uvloop_write.py); copying the body costs less below this size.
COPY_BELOW_BYTES = 4096


class PooledServer:
    """What all connections share: app, date, cache, the pools of idle protocols and connection
    states, the held answers, deadlines."""

    def __init__(self, name: str, config: ServerConfig, options: ProtocolOptions,
                 keepalive_timeout: float = KEEPALIVE_TIMEOUT_S, reuse_port: bool = False, *,
                 pipelining: bool = False) -> None:
        self.stats = Stats()
        self.app = App(self.stats, name)
        self.date = DateHeader()
        self.cache = ResponseCache()
        self.config = config
        self.options = options
        self.keepalive_timeout = keepalive_timeout
        self.reuse_port = reuse_port  # one of several worker processes on the same port
        self.pipelining = pipelining  # stage 4: all replies to one read leave in one write
        self.idle: list[PooledProtocol] = []
        # Connection states between requests, for whichever connection reads next. A state is made
        # only when none is spare, so there are never more than were ever in use at once: no bound.
        self.spare: list[HttpConnection] = []
        self.holds: Holds[PooledProtocol, list[Reply]] = Holds(PooledProtocol.held_over)
        self.live: set[PooledProtocol] = set()
        self.admission: Admission[PooledProtocol] = Admission()
        # The one receive buffer (see the module's docstring): a per-connection 16 KiB buffer made
        # stage 3 hold more memory per connection than stage 2's StreamReader (18.9 vs 7.2 KB).
        self.buffer = memoryview(bytearray(RECV_BYTES))

    def protocol(self) -> PooledProtocol:
        return self.idle.pop() if self.idle else PooledProtocol(self)

    def release(self, protocol: PooledProtocol) -> None:
        self.live.discard(protocol)
        self.admission.closed(protocol)
        # Keep as many idle protocols as may ever be live; beyond that they are garbage.
        if len(self.idle) < self.config.max_connections:
            self.idle.append(protocol)

    def new_connection(self) -> HttpConnection:
        """A connection state for a read that begins a request while none is spare."""
        return HttpConnection(self.app, self.options, self.date, self.cache)

    async def start(self) -> asyncio.Server:
        loop = asyncio.get_running_loop()
        loop.call_later(SWEEP_INTERVAL_S, self._sweep, loop)
        return await loop.create_server(self.protocol, self.config.host, self.config.port,
                                        reuse_port=self.reuse_port or None)

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        now = time.monotonic()
        for protocol in [p for p in self.live if p.deadline <= now]:
            protocol.expire()
        config = self.config
        for protocol in self.admission.crowded_out(now, config.request_timeout, self.stats.open_connections,
                                                   config.max_connections):
            protocol.expire()
        loop.call_later(SWEEP_INTERVAL_S, self._sweep, loop)


class PooledProtocol(asyncio.BufferedProtocol):
    __slots__ = ("_answering_soon", "_buffer", "_conn", "_delayed", "_eof", "_flow", "_server", "_transport",
                 "deadline")

    def __init__(self, server: PooledServer) -> None:
        self._server = server
        self._buffer = server.buffer
        self._conn: HttpConnection | None = None  # while a request is being read or answered
        self._transport: asyncio.Transport | None = None
        self._flow: FlowControl | None = None  # while connected
        self._delayed: list[Reply] | None = None  # replies held back behind a /delay reply
        self._eof = False
        self._answering_soon = False
        self.deadline = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        server = self._server
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        server.stats.connection_opened()
        if server.stats.open_connections > server.config.max_connections:
            victim = server.admission.victim()
            if victim is None:  # every connection is being served: refuse this one
                self._transport.write(overloaded(server.stats, server.date.at(time.time())))
                self._transport.close()
                return
            victim.expire()
        self._flow = FlowControl(self._transport)
        self._delayed = None
        self._eof = False
        self._answering_soon = False
        now = time.monotonic()
        self.deadline = now + server.config.request_timeout
        server.live.add(self)
        server.admission.began(self, now)

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._buffer

    def buffer_updated(self, nbytes: int) -> None:
        server = self._server
        conn = self._conn
        was_idle = conn is None
        if conn is None:  # inline, not a method: once per request on keep-alive connections
            spare = server.spare
            conn = self._conn = spare.pop() if spare else server.new_connection()
        replies = conn.receive(self._buffer[:nbytes], time.time())
        idle = conn.idle
        if idle or was_idle or replies:  # idle again, or a new request has begun: its time starts now
            now = time.monotonic()
            self.deadline = now + (server.keepalive_timeout if idle else server.config.request_timeout)
            server.admission.began(self, now)
        if replies:
            self._send(replies)
            if not idle and conn.has_pending:  # rare: a pipeline asked for more than one reply budget
                self._pace()
        if idle and not conn.closed:  # between requests: the state can serve another connection
            self._conn = None
            server.spare.append(conn)

    def _pending(self) -> bool:
        return self._conn is not None and self._conn.has_pending

    def _pace(self) -> None:
        """Requests left unanswered by the connection's reply budget are answered once what was
        sent has left: meanwhile no more requests are read, so memory stays bounded."""
        flow = self._flow
        if flow is None or not self._pending():
            return
        flow.hold()
        if not (flow.writing_paused or self._answering_soon or self._delayed is not None):
            self._answering_soon = True
            asyncio.get_running_loop().call_soon(self._answer_pending)

    def _answer_pending(self) -> None:
        self._answering_soon = False
        transport, conn = self._transport, self._conn
        if transport is None or transport.is_closing() or conn is None:
            return
        replies = conn.replies(time.time())
        if replies:
            self._send(replies)
        if conn.has_pending:
            self._pace()
            return
        if self._flow is not None:
            self._flow.release()
        if conn.idle and not conn.closed:
            self._conn = None
            self._server.spare.append(conn)

    def _send(self, replies: list[Reply]) -> None:
        if self._delayed is not None:
            self._delayed.extend(replies)
            return
        transport = self._transport
        assert transport is not None
        if len(replies) == 1 and not replies[0].delay:  # the common case, without the loop
            head, body, _, _, _ = replies[0]
            if len(body) < COPY_BELOW_BYTES:
                transport.write(head + body)
            else:
                transport.writelines((head, body))
        else:
            self._write_all(replies, transport)
        if self._delayed is None and (replies[-1].close or (self._eof and (self._conn is None or self._conn.idle))):
            transport.close()

    def _write_all(self, replies: list[Reply], transport: asyncio.Transport) -> None:
        """Write replies in order, in one write when pipelining is on; from a /delay reply on,
        hold them back until its time has passed."""
        batch = self._server.pipelining
        out: list[bytes] = []
        for index, reply in enumerate(replies):
            if reply.delay:
                held = self._delayed = replies[index:]
                self._server.admission.held(self)
                self._server.holds.hold(self, held, reply.delay)
                break
            if batch:
                out += (reply.head, reply.body)
            else:
                transport.writelines((reply.head, reply.body))
            if reply.close:
                break
        if out:
            transport.writelines(out)

    def held_over(self, waiting: list[Reply]) -> None:
        """The hold of `waiting` has ended: send them, unless their connection is gone (this
        protocol may serve another client by now, whose own replies may be held)."""
        if waiting is not self._delayed or self._transport is None or self._transport.is_closing():
            return
        self._delayed = None
        self._server.admission.began(self, time.monotonic())
        self._send([waiting[0]._replace(delay=0.0), *waiting[1:]])
        self._pace()

    def eof_received(self) -> bool:
        # The client has finished sending; answer what it sent, then close.
        self._eof = True
        return self._delayed is not None or self._pending()

    def pause_writing(self) -> None:
        if self._flow is not None:
            self._flow.pause_writing()

    def resume_writing(self) -> None:
        if self._flow is None:
            return
        self._flow.resume_writing()
        if self._pending():
            self._pace()
        else:
            self._flow.release()

    def expire(self) -> None:
        # abort, not close: close would wait for a client that stopped reading to drain our buffer.
        if self._transport is not None:
            self._transport.abort()
        self._server.live.discard(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self._server.stats.connection_closed()
        self._transport = None
        self._flow = None
        self._delayed = None
        if self._conn is not None:  # closed mid-request or after a closing reply
            self._conn.reset()
            self._server.spare.append(self._conn)
            self._conn = None
        self._server.release(self)
