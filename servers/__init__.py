"""Five reference HTTP/1.1 servers, one per roadmap stage, on one sans-IO core (servers.core)."""

from __future__ import annotations

from typing import NamedTuple


class Stage(NamedTuple):
    number: int
    module: str  # run as `python -m <module>`
    title: str
    keeps_alive: bool  # a connection serves many requests; before stage 4 each answer closes it


STAGES = (
    Stage(0, "servers.stage0_serial", "serial blocking (baseline)", keeps_alive=False),
    Stage(1, "servers.stage1_threads", "thread pool, bounded queue, 503 backpressure", keeps_alive=False),
    Stage(2, "servers.stage2_async", "asyncio + uvloop streams, timeouts", keeps_alive=False),
    Stage(3, "servers.stage3_pooled", "pooled protocols, recv-into buffers", keeps_alive=False),
    Stage(4, "servers.stage4_protocol", "llhttp, keep-alive, pipelining, gzip, cache", keeps_alive=True),
)
