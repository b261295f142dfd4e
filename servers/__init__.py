"""Five reference HTTP/1.1 servers, one per roadmap stage, on one sans-IO core (servers.core)."""

from __future__ import annotations

from typing import NamedTuple


class Stage(NamedTuple):
    number: int
    module: str  # run as `python -m <module>`
    title: str


STAGES = (
    Stage(0, "servers.stage0_serial", "serial blocking (baseline)"),
    Stage(1, "servers.stage1_threads", "thread pool, bounded queue, 503 backpressure"),
    Stage(2, "servers.stage2_async", "asyncio + uvloop streams, timeouts"),
    Stage(3, "servers.stage3_pooled", "pooled protocols, recv-into buffers"),
    Stage(4, "servers.stage4_protocol", "llhttp, keep-alive, pipelining, gzip, cache"),
)
