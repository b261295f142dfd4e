"""Who keeps a place at the connection limit: the slowloris defence of stages 2-4, sans-IO.

A server that refuses new clients once its limit is full hands that limit to whoever holds it
longest: a thousand clients that send one header byte every two seconds then deny service to
everyone else until their request timeout. Instead, a new client displaces the connection that
has made the least progress: the one whose current request (or idle wait) began longest ago and
that is not being served by the server itself (a /delay answer being held). A real client's
request takes microseconds to arrive, so it is always among the newest; a slow one is always
among the oldest. Only when every connection is being served does a new client get 503.

The same order serves the second defence: once the limit is more than CROWDED_SHARE full, the
time a request may take to arrive shrinks towards CROWDED_REQUEST_TIMEOUT_S, and a server's
periodic sweep closes the connections that have been at it longer (`overdue`), so slow clients
are closed even when no newcomer needs their place.

The order is kept as the connections report it, so the choice costs O(1): `began` moves a
connection to the back when it starts a request or goes idle, `held` takes it out of the running
while the server holds its answer. Connections are any hashable objects (protocols, sockets,
stream writers); times are the caller's clock readings (the core reads no clock).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Generic, TypeVar

from .limits import CROWDED_REQUEST_TIMEOUT_S, CROWDED_SHARE

Connection = TypeVar("Connection", bound=Hashable)


class Admission(Generic[Connection]):
    __slots__ = ("_held", "_order")

    def __init__(self) -> None:
        self._order: dict[Connection, float] = {}  # displaceable connections → when they began, oldest first
        self._held: set[Connection] = set()  # connections whose answer the server is holding

    def __len__(self) -> int:
        return len(self._order) + len(self._held)

    def began(self, connection: Connection, now: float) -> None:
        """`connection` opened, started a request, or went idle: it is the newest now."""
        self._held.discard(connection)
        self._order.pop(connection, None)
        self._order[connection] = now

    def held(self, connection: Connection) -> None:
        """The server is holding `connection`'s answer (a timed wait of its own): not displaceable."""
        if self._order.pop(connection, None) is not None:
            self._held.add(connection)

    def closed(self, connection: Connection) -> None:
        self._order.pop(connection, None)
        self._held.discard(connection)

    def victim(self) -> Connection | None:
        """The connection to close for a newcomer, removed from the order; None: all are held."""
        for connection in self._order:
            del self._order[connection]
            return connection
        return None

    def overdue(self, now: float, allowed: float) -> list[Connection]:
        """The connections that began more than `allowed` seconds ago, removed from the order."""
        late = []
        for connection, began in self._order.items():
            if now - began <= allowed:
                break
            late.append(connection)
        for connection in late:
            del self._order[connection]
        return late

    def crowded_out(self, now: float, request_timeout: float, open_connections: int, limit: int) -> list[Connection]:
        """What a server's sweep closes when crowded: the connections slower than `allowed_time`
        (removed from the order); none while the limit is at most CROWDED_SHARE full."""
        allowed = allowed_time(request_timeout, open_connections, limit)
        return self.overdue(now, allowed) if allowed < request_timeout else []


def allowed_time(request_timeout: float, open_connections: int, limit: int) -> float:
    """Seconds a request may take to arrive with `open_connections` of `limit` in use: the full
    `request_timeout` up to CROWDED_SHARE of the limit, then linearly less, down to
    CROWDED_REQUEST_TIMEOUT_S when the limit is full."""
    share = open_connections / limit
    if share <= CROWDED_SHARE:
        return request_timeout
    room = max(0.0, 1.0 - share) / (1.0 - CROWDED_SHARE)
    return max(CROWDED_REQUEST_TIMEOUT_S, min(request_timeout, CROWDED_REQUEST_TIMEOUT_S
                                              + room * (request_timeout - CROWDED_REQUEST_TIMEOUT_S)))
