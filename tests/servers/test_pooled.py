"""Stages 3 and 4's I/O strategy (servers/io/pooled.py) driven in memory through a recording
transport: how many writes a read's answers take, and which clock a connection is on."""

from __future__ import annotations

import dataclasses
import time
import tracemalloc
from typing import Any

import pytest
import uvloop

from servers.core import STAGE_0_TO_3, ProtocolOptions
from servers.io.flags import ServerConfig
from servers.io.pooled import PooledProtocol, PooledServer

STAGE_4 = ProtocolOptions(keep_alive=True, fast_parser=True, gzip=True, cache=True)
CONFIG = ServerConfig(host="127.0.0.1", port=0, request_timeout=10.0, max_connections=100)
KEEPALIVE_S = 5.0
GET = b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n"


class RecordingTransport:
    """What the protocol wrote, call by call."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False

    def writelines(self, parts: Any) -> None:
        self.writes.append(b"".join(parts))

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def connected(options: ProtocolOptions, pipelining: bool = False) -> tuple[PooledProtocol, RecordingTransport]:
    server = PooledServer("test", CONFIG, options, keepalive_timeout=KEEPALIVE_S, pipelining=pipelining)
    protocol = server.protocol()
    transport = RecordingTransport()
    protocol.connection_made(transport)  # type: ignore[arg-type]
    return protocol, transport


def receive(protocol: PooledProtocol, data: bytes) -> None:
    buffer = protocol.get_buffer(len(data))
    buffer[: len(data)] = data
    protocol.buffer_updated(len(data))


@pytest.mark.parametrize(("pipelining", "writes"), [(True, 1), (False, 16)])
def test_a_pipeline_read_at_once_is_answered_in_one_write_when_pipelining(pipelining: bool, writes: int) -> None:
    protocol, transport = connected(STAGE_4, pipelining)
    receive(protocol, GET * 16)
    assert len(transport.writes) == writes
    answers = b"".join(transport.writes)
    assert answers.count(b"HTTP/1.1 200 OK\r\n") == 16 and answers.count(b"Hello, World!") == 16


def test_stage_3_answers_once_and_closes() -> None:
    protocol, transport = connected(STAGE_0_TO_3)
    receive(protocol, GET * 2)
    assert len(transport.writes) == 1 and transport.closed
    assert b"Connection: close" in transport.writes[0]


def test_an_idle_connection_is_on_the_keep_alive_clock_and_a_begun_request_on_the_request_clock() -> None:
    protocol, _ = connected(STAGE_4)
    receive(protocol, GET)
    left = protocol.deadline - time.monotonic()
    assert KEEPALIVE_S - 1 < left <= KEEPALIVE_S
    receive(protocol, GET[:10])
    left = protocol.deadline - time.monotonic()
    assert CONFIG.request_timeout - 1 < left <= CONFIG.request_timeout


def traced_bytes_per_connection(options: ProtocolOptions, request: bytes, count: int = 500) -> float:
    """Python memory that `count` connections, each sent `request` and left as it leaves them,
    hold in the strategy (a recording transport each; uvloop's own transport is not counted)."""
    server = PooledServer("test", dataclasses.replace(CONFIG, max_connections=2 * count), options,
                          keepalive_timeout=KEEPALIVE_S)
    transports = [RecordingTransport() for _ in range(count)]
    first = server.protocol()
    first.connection_made(RecordingTransport())  # type: ignore[arg-type]
    receive(first, GET)  # what is made once, made
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for transport in transports:
            protocol = server.protocol()
            protocol.connection_made(transport)  # type: ignore[arg-type]
            receive(protocol, request)
        return (tracemalloc.get_traced_memory()[0] - before) / count
    finally:
        tracemalloc.stop()


# What a connection between requests holds here: its protocol, flow control and deadline, its
# places in the admission order and the live set, and the recording transport's copy of the
# answer, about 580 bytes; with an HttpConnection and llhttp's parser of its own, 2.4 KB.
IDLE_BYTES = 800
# Held by /delay: also the reply, the list holding it back and its queue entry, about 740 bytes;
# a timer of its own would add 530 (uvloop's), its own state and a timer 2,000.
HELD_BYTES = 1_100


def test_a_connection_between_requests_holds_no_connection_state_of_its_own() -> None:
    assert traced_bytes_per_connection(STAGE_4, GET) < IDLE_BYTES


def test_a_connection_whose_answer_is_held_holds_neither_state_nor_timer() -> None:
    async def held() -> float:
        return traced_bytes_per_connection(STAGE_4, b"GET /delay/1000 HTTP/1.1\r\nHost: t\r\n\r\n")

    assert uvloop.run(held()) < HELD_BYTES  # the servers' loop, whose timers cost what they do there
