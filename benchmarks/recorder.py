"""The lab's per-request bookkeeping in a locust process: Recorder.record, µs per request.

    .venv/bin/python benchmarks/recorder.py

Records 1,000,000 successes of loopback-like latencies (a few hundred distinct µs values) over
20 seconds of a 10-second window, flushes, and prints the best of 5 rounds in µs per request:
what the lab adds to each request the raw client makes (it makes one in ~15 µs of CPU).
"""

from __future__ import annotations

import random
import time

from lab.drivers.locust.recorder import Recorder

ROUNDS, REQUESTS = 5, 1_000_000


def one_round() -> float:
    rng = random.Random(1)
    latencies_ms = [rng.gauss(0.12, 0.03) for _ in range(REQUESTS)]
    recorder = Recorder(warmup=5.0, duration=10.0)
    recorder.start(0.0)
    step = 20.0 / REQUESTS
    started = time.perf_counter()
    for i, latency in enumerate(latencies_ms):
        recorder.record(i * step, latency, 13, None)
    recorder.result()
    return (time.perf_counter() - started) / REQUESTS * 1e6


def main() -> None:
    print(f"Recorder.record: {min(one_round() for _ in range(ROUNDS)):.2f} µs per request (best of {ROUNDS})")


if __name__ == "__main__":
    main()
