"""A TechEmpower-style check of a server's answers before it is timed."""

from __future__ import annotations

import http.client

from lab.model.scenario import Scenario
from lab.run.probe import ask

# Seconds one verification request may take.
VERIFY_TIMEOUT_S = 5.0
REQUIRED_HEADERS = ("server", "date", "content-type", "content-length")


def verify(url: str, scenario: Scenario) -> list[str]:
    """Send each of the scenario's requests once; return the problems found (none: verified).

    Checked, as TechEmpower does: the expected status, the Server, Date, Content-Type and
    Content-Length headers, and a body as long as Content-Length says.
    """
    problems = []
    for spec in scenario.requests:
        try:
            answer = ask(url, spec.path, VERIFY_TIMEOUT_S, spec.method, body=spec.body or None,
                         headers=dict(spec.headers))
        except (OSError, http.client.HTTPException) as error:
            problems.append(f"{spec.name}: {type(error).__name__}: {error}")
            continue
        if answer.status != spec.expect_status:
            problems.append(f"{spec.name}: status {answer.status}, expected {spec.expect_status}")
        missing = [h for h in REQUIRED_HEADERS if answer.headers.get(h) is None]
        if missing:
            problems.append(f"{spec.name}: missing headers {', '.join(missing)}")
        length = answer.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) != len(answer.body):
            problems.append(f"{spec.name}: Content-Length {length} but {len(answer.body)} body bytes")
        if scenario.load.pipeline > 1 and (answer.headers.get("connection") or "").lower() == "close":
            problems.append(f"{spec.name}: the server closes after each answer, so of each "
                            f"{scenario.load.pipeline} pipelined requests only the first is answered")
    return problems
