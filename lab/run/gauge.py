"""A qpslab server's own count of open connections, read from its /stats once a second."""

from __future__ import annotations

import http.client
import json
import threading
import time

from lab.run.probe import ask

# Seconds between reads of a server's /stats gauge: one extra request a second is noise.
GAUGE_INTERVAL_S = 1.0


class GaugePoller:
    """The connections a server really holds, which no client-side count can tell."""

    def __init__(self, url: str) -> None:
        self._url = url
        self.samples: list[tuple[float, int]] = []  # (wall clock, open connections)
        self.concurrency: int | None = None  # requests it serves at once by design, as it says
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="stats-poller")

    def start(self) -> GaugePoller:
        self._thread.start()
        return self

    def stop(self) -> list[tuple[float, int]]:
        self._stop.set()
        self._thread.join()
        return self.samples

    def _run(self) -> None:
        while not self._stop.wait(GAUGE_INTERVAL_S):
            try:
                answer = ask(self._url, "/stats", GAUGE_INTERVAL_S)
                if answer.status == 200:
                    stats = json.loads(answer.body)
                    # minus this very request's connection
                    self.samples.append((time.time(), int(stats["open_connections"]) - 1))
                    self.concurrency = stats.get("concurrency")
            except (OSError, http.client.HTTPException, ValueError, KeyError):
                pass  # a saturated server (503, time-out) simply leaves a gap
