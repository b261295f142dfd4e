"""Every limit the servers enforce, each with the reason for its value."""

from __future__ import annotations

# Request line longer than this → 414; 8 KiB is nginx's default per-line buffer.
MAX_REQUEST_LINE_BYTES = 8 * 1024
# Header section (after the request line) larger than this → 431; same 8 KiB budget as nginx.
MAX_HEADER_BYTES = 8 * 1024
# More header fields than this → 431; browsers send ~15, 100 is Go's and h2o's order of magnitude.
MAX_HEADER_COUNT = 100
# Request body larger than this → 413; /echo is the only route with a body, 1 MiB is plenty.
MAX_BODY_BYTES = 1024 * 1024
# Hex digits in a chunk-size line; 16 covers any 64-bit size, more is an attack on int().
MAX_CHUNK_SIZE_DIGITS = 16
# Bytes of chunk extensions and trailers kept per request; both are ignored, so keep them small.
MAX_CHUNK_METADATA_BYTES = 4 * 1024
# Largest /bytes/{n}; payload scenarios go to 64 KiB, 1 MiB bounds the server's memory per request.
MAX_PAYLOAD_BYTES = 1024 * 1024
# Longest /delay/{ms}; enough to show why concurrency matters, short enough that Date stays fresh.
MAX_DELAY_MS = 1000
# Bytes asked of the socket per read; one read holds a 16-deep pipeline of typical requests.
RECV_BYTES = 64 * 1024
# Response bytes encoded for one connection before its strategy must send them; bounds the memory
# a client can claim by pipelining many requests for large answers and reading none of them.
REPLY_BUDGET_BYTES = 256 * 1024
# Seconds a client may take to send one whole request (slowloris bound), stages 1–4.
REQUEST_TIMEOUT_S = 10.0
# Share of the connection limit in use beyond which that time shrinks, down to the next value
# when the limit is full: a crowded server keeps no place for a client that sends slowly.
CROWDED_SHARE = 0.5
# Seconds a request (or an idle keep-alive wait) may take when the limit is full; a real
# client's request arrives in well under a millisecond here, and over the internet in one RTT.
CROWDED_REQUEST_TIMEOUT_S = 1.0
# How often the event-loop stages check deadlines; a slow client is closed within this much of
# its time.
SWEEP_INTERVAL_S = 0.5
# Seconds an idle keep-alive connection is kept (stage 4); uvicorn and nginx use 5 s and 75 s.
KEEPALIVE_TIMEOUT_S = 5.0
# Connections held at once; past it a new client displaces the one that has made the least progress
# (admission.py) and gets 503 only when every one is being served. The roadmap's stage-1 figure.
MAX_CONNECTIONS = 1000
# Stage 4's limit: the roadmap asks it to hold more than 5,000; this leaves headroom.
MAX_CONNECTIONS_STAGE_4 = 10_000
# Seconds a server waits for open connections on shutdown before dropping them.
SHUTDOWN_GRACE_S = 1.5
# Bodies smaller than this are sent uncompressed: gzip's 18-byte frame would outweigh the gain.
GZIP_MIN_BYTES = 1024
# zlib level for gzip; 6 is zlib's default trade-off and what nginx users commonly set.
GZIP_LEVEL = 6
# Distinct responses the stage-4 cache keeps; /bytes/{n} could otherwise grow it without bound.
MAX_CACHE_ENTRIES = 1024
