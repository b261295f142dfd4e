"""Back-pressure of one connection of the pooled protocols (pooled.py): whether it may read."""

from __future__ import annotations

import asyncio


class FlowControl:
    """When a connection reads requests: not while the client reads our answers slower than we
    write them (the transport paused our writing), nor while answers wait to be sent (the reply
    budget held them back): memory stays bounded by what one read can ask for."""

    __slots__ = ("_transport", "writing_paused")

    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport
        self.writing_paused = False

    def hold(self) -> None:
        """Answers wait: read no more requests until they have been sent."""
        self._transport.pause_reading()

    def release(self) -> None:
        """Nothing waits: read again, unless the client is still behind on reading."""
        if not self.writing_paused:
            self._transport.resume_reading()

    def pause_writing(self) -> None:
        self.writing_paused = True
        self._transport.pause_reading()

    def resume_writing(self) -> None:
        self.writing_paused = False
