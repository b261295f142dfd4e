"""Answers a server holds back for a time (/delay/{ms}): one timer per delay length, not per answer.

A timer per held answer costs about 560 bytes while it waits (uvloop's TimerHandle and its libuv
timer, benchmarks/held_memory.py --trace), a fifth of what a held connection cost stage 4 in all.
Answers held for the same length of time fall due in the order they were held, so a FIFO per
length keeps them in due order, and one timer per FIFO, armed for its oldest, wakes them: what an
answer costs while held is one queue entry. A length's FIFO and timer go once it empties, so
at most MAX_DELAY_MS + 1 exist, and none while nothing is held.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

Owner = TypeVar("Owner")
Token = TypeVar("Token")


class Holds(Generic[Owner, Token]):
    """`hold(owner, token, delay)`; `delay` seconds later, `wake(owner, token)` on the loop.

    The token lets a woken owner tell whether the hold is still its own: an owner may have been
    closed and reused (pooled) while its hold was waiting, and there is nothing to cancel."""

    __slots__ = ("_queues", "_wake")

    def __init__(self, wake: Callable[[Owner, Token], object]) -> None:
        self._wake = wake
        self._queues: dict[float, deque[tuple[float, Owner, Token]]] = {}  # delay → (due, owner, token)

    def hold(self, owner: Owner, token: Token, delay: float) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + delay
        queue = self._queues.get(delay)
        if queue is None:
            queue = self._queues[delay] = deque()
            loop.call_at(due, self._fall_due, delay, loop)
        queue.append((due, owner, token))

    def _fall_due(self, delay: float, loop: asyncio.AbstractEventLoop) -> None:
        queue = self._queues[delay]
        now = loop.time()
        while queue and queue[0][0] <= now:
            _, owner, token = queue.popleft()
            self._wake(owner, token)
        if queue:
            loop.call_at(queue[0][0], self._fall_due, delay, loop)
        else:
            del self._queues[delay]
