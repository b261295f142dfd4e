"""The counters behind /stats: requests by status, protocol errors, connections."""

from __future__ import annotations

import threading


class Stats:
    """Counters for a server that updates them from one thread (stage 0 and the event loops)."""

    __slots__ = ("_by_status", "_connections", "_open", "_peak_open", "_protocol_errors", "concurrency")

    def __init__(self, concurrency: int | None = None) -> None:
        # Requests the server can serve at once by its design (stage 0: one; stage 1: its threads),
        # None where only its connection limit bounds them: what tells a lab that a run which
        # saturated no CPU was held by the server's design rather than by its users.
        self.concurrency = concurrency
        self._by_status: dict[int, int] = {}
        self._protocol_errors = 0
        self._connections = 0
        self._open = 0
        self._peak_open = 0

    def answered(self, status: int) -> None:
        by_status = self._by_status
        by_status[status] = by_status.get(status, 0) + 1

    def protocol_error(self, status: int) -> None:
        self.answered(status)
        self._protocol_errors += 1

    def connection_opened(self) -> None:
        self._connections += 1
        self._open += 1
        self._peak_open = max(self._peak_open, self._open)

    def connection_closed(self) -> None:
        self._open -= 1

    @property
    def open_connections(self) -> int:
        return self._open

    def snapshot(self) -> dict[str, object]:
        return {
            "requests": sum(self._by_status.values()),
            "by_status": {str(code): count for code, count in sorted(self._by_status.items())},
            "protocol_errors": self._protocol_errors,
            "connections": self._connections,
            "open_connections": self._open,
            "peak_open_connections": self._peak_open,
            "concurrency": self.concurrency,
        }


class ThreadSafeStats(Stats):
    """The same counters for stage 1, whose worker threads update them concurrently. The event
    loop stages do without the lock: it is a quarter of a microsecond per request."""

    __slots__ = ("_lock",)

    def __init__(self, concurrency: int | None = None) -> None:
        super().__init__(concurrency)
        self._lock = threading.Lock()

    def answered(self, status: int) -> None:
        with self._lock:
            super().answered(status)

    def protocol_error(self, status: int) -> None:
        with self._lock:
            Stats.answered(self, status)
            self._protocol_errors += 1

    def connection_opened(self) -> None:
        with self._lock:
            super().connection_opened()

    def connection_closed(self) -> None:
        with self._lock:
            super().connection_closed()

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return super().snapshot()
