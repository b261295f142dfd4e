"""The counted load: a scenario's requests in a fixed order, on one connection, one request (or
one pipelined batch) in flight at a time.

A count per request should depend on the server's code and nothing else. Concurrency would make
it depend on timing (how many requests one wake-up of an event loop finds waiting), and a random
pick of the mix on the draw, so the requests cycle through the scenario's weighted list in order
and each waits for its answer. The scenario's users, waits and rate do not apply here; its
pipeline depth does, since pipelining is a server's optimization that counts should see.
"""

from __future__ import annotations

import socket
import time
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

from lab.drivers.locust.http1 import ResponseError, ResponseReader, encode_request
from lab.model.scenario import Scenario

# Failures in a row after which the server is taken for dead, not merely refusing one request.
MAX_FAILURES_IN_A_ROW = 20
# Bytes asked of one recv: a few responses of the shipped routes.
_RECV_BYTES = 256 * 1024


@dataclass(frozen=True)
class _Request:
    data: bytes
    head_only: bool
    expect_status: int


@dataclass(frozen=True)
class Exchanged:
    """What one stretch of the sequence did."""

    answered: int  # answers with the expected status
    failures: int
    top_error: str | None
    seconds: float


class SequenceFailed(Exception):
    """The server stopped answering: the count of a window it did not finish means nothing."""


class Sequence:
    """The scenario's requests in weighted order against `url`; successive `run` calls continue
    the order (the warm-up, then the counted window)."""

    def __init__(self, scenario: Scenario, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"a counted run speaks plain http://, not {url!r}")
        self._address = (parts.hostname, parts.port or 80)
        self._requests = [
            _Request(encode_request(spec.method, spec.path, parts.netloc, spec.headers, spec.body),
                     spec.method == "HEAD", spec.expect_status)
            for spec in scenario.requests for _ in range(spec.weight)
        ]
        self._pipeline = scenario.load.pipeline
        self._timeout = scenario.load.timeout
        self._next = 0
        self._socket: socket.socket | None = None
        self._reader = ResponseReader()

    def run(self, count: int) -> Exchanged:
        """Send `count` requests (the last batch may be shorter than the pipeline) and read their
        answers; SequenceFailed once MAX_FAILURES_IN_A_ROW fail one after another."""
        answered = failures = in_a_row = 0
        errors: Counter[str] = Counter()
        started = time.monotonic()
        while answered + failures < count:
            batch = self._take(min(self._pipeline, count - answered - failures))
            try:
                statuses = self._exchange(batch)
            except (OSError, ResponseError) as error:
                self.close()
                errors[f"{type(error).__name__}: {error}"] += len(batch)
                failures += len(batch)
                in_a_row += len(batch)
            else:
                for request, status in zip(batch, statuses, strict=True):
                    if status == request.expect_status:
                        answered += 1
                        in_a_row = 0
                    else:
                        errors[f"status {status}, expected {request.expect_status}"] += 1
                        failures += 1
                        in_a_row += 1
            if in_a_row >= MAX_FAILURES_IN_A_ROW:
                raise SequenceFailed(f"{in_a_row} requests failed in a row: {errors.most_common(1)[0][0]}")
        top = errors.most_common(1)[0][0] if errors else None
        return Exchanged(answered, failures, top, time.monotonic() - started)

    def _take(self, size: int) -> list[_Request]:
        batch = [self._requests[(self._next + k) % len(self._requests)] for k in range(size)]
        self._next = (self._next + size) % len(self._requests)
        return batch

    def _exchange(self, batch: list[_Request]) -> list[int]:
        """Write the batch at once and read its answers; a connection the server ends after an
        answer is closed here, and the next batch opens another."""
        if self._socket is None:
            self._socket = socket.create_connection(self._address, timeout=self._timeout)
            self._socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._reader = ResponseReader()
        connection = self._socket
        for request in batch:
            self._reader.sent(request.head_only)
        connection.sendall(b"".join(request.data for request in batch))
        statuses: list[int] = []
        close = False
        while len(statuses) < len(batch):
            data = connection.recv(_RECV_BYTES)
            responses = self._reader.feed(data) if data else self._reader.eof()
            statuses += [response.status for response in responses]
            close = close or any(response.close for response in responses)
            if not data and len(statuses) < len(batch):
                raise ResponseError("the server closed the connection before answering")
        if close:
            self.close()
        return statuses

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
