"""A TechEmpower-style check of a server's answers before it is timed."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

from .scenario import Scenario

# Seconds one verification request may take.
VERIFY_TIMEOUT_S = 5.0
REQUIRED_HEADERS = ("server", "date", "content-type", "content-length")


def get_status(url: str, path: str, timeout: float = VERIFY_TIMEOUT_S) -> int:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def verify(url: str, scenario: Scenario) -> list[str]:
    """Send each of the scenario's requests once; return the problems found (none: verified).

    Checked, as TechEmpower does: the expected status, the Server, Date, Content-Type and
    Content-Length headers, and a body as long as Content-Length says.
    """
    parts = urlsplit(url)
    problems = []
    for spec in scenario.requests:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=VERIFY_TIMEOUT_S)
        try:
            conn.request(spec.method, spec.path, body=spec.body or None, headers=dict(spec.headers))
            response = conn.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as error:
            problems.append(f"{spec.name}: {type(error).__name__}: {error}")
            continue
        finally:
            conn.close()
        if response.status != spec.expect_status:
            problems.append(f"{spec.name}: status {response.status}, expected {spec.expect_status}")
        missing = [h for h in REQUIRED_HEADERS if response.getheader(h) is None]
        if missing:
            problems.append(f"{spec.name}: missing headers {', '.join(missing)}")
        length = response.getheader("content-length")
        if length is not None and length.isdigit() and int(length) != len(body):
            problems.append(f"{spec.name}: Content-Length {length} but {len(body)} body bytes")
        if scenario.load.pipeline > 1 and (response.getheader("connection") or "").lower() == "close":
            problems.append(f"{spec.name}: the server closes after each answer, so of each "
                            f"{scenario.load.pipeline} pipelined requests only the first is answered")
    return problems
