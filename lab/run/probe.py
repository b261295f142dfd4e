"""One short HTTP/1.1 exchange with a server under test: /health, /stats, the pre-run check."""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def ask(url: str, path: str, timeout: float, method: str = "GET", *, body: bytes | None = None,
        headers: dict[str, str] | None = None) -> Answer:
    """Send one request on a fresh connection and read the whole answer; OSError or
    http.client.HTTPException when there is none."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return Answer(response.status, response.headers, response.read())
    finally:
        conn.close()
