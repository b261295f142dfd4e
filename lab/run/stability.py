"""Whether a server held steady through a run: its memory, descriptors, connections and tail
latency second by second, and how they drifted after the warm-up (what a soak is judged on)."""

from __future__ import annotations

import bisect
import statistics
from typing import Any

from lab.model.record import Drift
from lab.processes.sampler import Sample

# Share of the measured seconds compared at each end of the window: medians of the first and the
# last tenth, so that one noisy second cannot make (or hide) a drift.
STABILITY_SLICE = 0.1
# A soak passes only if its resident memory grew less than this after the warm-up (the issue's
# "RSS drift < 2%"): a leak of one object per request shows well before ten minutes.
SOAK_MAX_RSS_GROWTH = 0.02
# ...or by no more than this many bytes: two of CPython's 1 MiB pymalloc arenas. Memory grows in
# arenas, so one more live object at a new high-water mark can add a whole one (3.4% of stage 2's
# 30 MB, seen once a run in its 60-second soaks, then flat); a leak of one 16-byte object per
# request passes this in a minute at 2,400 req/s.
SOAK_RSS_GRANULE_BYTES = 2 * 1024 * 1024


def attach_server_seconds(seconds: list[dict[str, Any]], samples: list[Sample],
                          held: list[tuple[float, int]], origin: float) -> None:
    """Give each second of the series (second 0 begins at wall-clock `origin`) the server's RSS,
    open descriptors and, where it reports them, open connections at that second's end."""
    times = [s.at for s in samples]
    held_times = [at for at, _ in held]
    for entry in seconds:
        end = origin + entry["second"] + 1
        i = bisect.bisect_right(times, end) - 1
        entry["server_rss_bytes"] = samples[i].rss if i >= 0 else None
        entry["server_fds"] = samples[i].fds if i >= 0 else None
        j = bisect.bisect_right(held_times, end) - 1
        entry["server_open_connections"] = held[j][1] if j >= 0 else None


def _ends(seconds: list[dict[str, Any]], key: str) -> tuple[float, float] | None:
    """Medians of `key` over the first and the last STABILITY_SLICE of the measured seconds."""
    values = [s[key] for s in seconds if s.get("phase") == "measure" and s.get(key) is not None]
    if len(values) < 2:
        return None
    width = max(1, int(len(values) * STABILITY_SLICE))
    return statistics.median(values[:width]), statistics.median(values[-width:])


def drift(seconds: list[dict[str, Any]]) -> Drift:
    """How the server changed between the start and the end of the measured window."""
    rss, fds, p99 = (_ends(seconds, key) for key in ("server_rss_bytes", "server_fds", "latency_p99_us"))
    return Drift(
        server_rss_growth=(rss[1] - rss[0]) / rss[0] if rss and rss[0] else None,
        server_rss_growth_bytes=round(rss[1] - rss[0]) if rss else None,
        server_fds_growth=fds[1] - fds[0] if fds else None,
        latency_p99_drift=p99[1] / p99[0] - 1 if p99 and p99[0] else None,
    )


def soak_verdict(row: dict[str, Any]) -> str:
    """pass, or fail with every reason: real-load errors, memory growth (beyond both limits),
    descriptors not back to their idle count once the load and the hostile clients were gone."""
    reasons = []
    if row.get("error"):
        return f"fail: {row['error']}"
    if row.get("failures"):
        reasons.append(f"{row['failures']} failed requests of the real load")
    growth, grown = row.get("server_rss_growth"), row.get("server_rss_growth_bytes")
    if growth is None or grown is None:
        reasons.append("RSS growth not measured")
    elif growth >= SOAK_MAX_RSS_GROWTH and grown > SOAK_RSS_GRANULE_BYTES:
        reasons.append(f"RSS grew {growth:.1%} ({grown / 2**20:.1f} MiB) after the warm-up "
                       f"(limit {SOAK_MAX_RSS_GROWTH:.0%} and {SOAK_RSS_GRANULE_BYTES / 2**20:.0f} MiB)")
    idle, after = row.get("server_fds_idle"), row.get("server_fds_after")
    if idle is None or after is None:
        reasons.append("descriptors not measured")
    elif after > idle:
        reasons.append(f"{after - idle} descriptors still open after the run ({after} vs {idle} idle)")
    return "fail: " + "; ".join(reasons) if reasons else "pass"
