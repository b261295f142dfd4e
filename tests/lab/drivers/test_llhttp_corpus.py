"""The raw client's response framing against llhttp's own response tests (a corpus nobody here
wrote, read from ../shared at test time: tests/lab/drivers/llhttp_corpus.py), all at once and
byte by byte: the same responses completed, and an error where llhttp errs (llhttp's 101 "pause on
upgrade" included: the lab's client asked for no upgrade). A clone without ../shared skips them,
naming the path; CI, which has it, fails without it."""

from __future__ import annotations

import os
from typing import Any

import pytest

from lab.drivers.locust.http1 import ResponseError, ResponseReader
from tests.lab.drivers.llhttp_corpus import RESPONSES, cases

MISSING = f"llhttp's response tests are not at {RESPONSES} (../shared beside the checkout)"
CASES = cases() if RESPONSES.is_dir() else []


@pytest.fixture(autouse=True)
def _corpus() -> None:
    if not CASES:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(MISSING)
# Where the lab's client is stricter than llhttp, on purpose: it measures HTTP/1.x servers.
STRICTER = {
    "RTSP response": "not HTTP",
    "ICE response": "not HTTP",
    "HTTP version 0.9": "HTTP/1.0 and 1.1 only, as the servers answer",
}
# More requests sent than any test has responses: a response nobody asked for is an error.
SENT = 16


def _verdict(data: bytes, piece: int) -> tuple[list[int], bool]:
    """The statuses of the responses completed, and whether the bytes were refused."""
    reader = ResponseReader()
    for _ in range(SENT):
        reader.sent()
    statuses: list[int] = []
    try:
        for start in range(0, len(data), piece):
            statuses += [response.status for response in reader.feed(data[start:start + piece])]
    except ResponseError:
        return statuses, True
    return statuses, False


def test_the_corpus_is_llhttps_strict_response_tests() -> None:
    assert len((RESPONSES / "COMMIT").read_text().strip()) == 40 and len(CASES) >= 60
    assert set(STRICTER) <= {case["name"] for case in CASES}


@pytest.mark.parametrize("case", CASES or [None],
                         ids=lambda case: f"{case['file']}: {case['name']}" if case else "none")
@pytest.mark.parametrize("split", ["at-once", "byte-by-byte"])
def test_responses_are_read_as_llhttp_reads_them(case: dict[str, Any], split: str) -> None:
    data = case["input"].encode("latin-1")
    statuses, refused = _verdict(data, max(len(data), 1) if split == "at-once" else 1)
    if case["name"] in STRICTER:
        assert refused, STRICTER[case["name"]]
        return
    assert refused == (case["error"] is not None), case["error"]
    if not refused:  # interim 1xx responses are skipped, as a client must
        assert statuses == [status for status in case["statuses"] if status >= 200]
