"""The one error the core raises: a request the server must answer with an error status."""

from __future__ import annotations


class ProtocolError(Exception):
    """A request that cannot be served; `status` is the answer (400, 413, 414, 431, 501, 505)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason
