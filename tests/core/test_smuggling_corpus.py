"""543 requests from public request-smuggling and parser-differential corpora (PortSwigger's
http-request-smuggler, defparam's smuggler, http-garden's known bugs, h11's and http-parser's
tests), read at test time from ../shared/corpora/smuggling/corpus.json (not kept here), fed to
the sans-IO core in memory under each parser and each stage's options: nothing crashes, and the
request each smuggling case hides (GET /bytes/7) is never answered unless the case frames it as
a request of its own."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from servers.core import STAGE_0_TO_3, App, DateHeader, HttpConnection, ProtocolOptions, Stats
from servers.core.app import PAYLOAD

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpora" / "smuggling" / "corpus.json"
MISSING = f"the smuggling corpus is not at {CORPUS} (../shared beside the checkout)"
CASES = json.loads(CORPUS.read_text())["cases"] if CORPUS.is_file() else []
# The answer to the probe a smuggling case hides: /bytes/7's seven bytes.
SMUGGLED = PAYLOAD[:7]
OPTIONS = {
    "stages 0-3": STAGE_0_TO_3,
    "stage 4": ProtocolOptions(keep_alive=True, fast_parser=True, gzip=True, cache=True),
    "stage 4 --parser core": ProtocolOptions(keep_alive=True, fast_parser=False, gzip=True, cache=True),
}


@pytest.fixture(autouse=True)
def _corpus() -> None:
    if not CASES:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(MISSING)


@pytest.mark.parametrize("stage", list(OPTIONS))
def test_no_case_crashes_the_core_or_smuggles_its_probe(stage: str) -> None:
    smuggled, crashed = [], []
    for case in CASES:
        stats = Stats()
        connection = HttpConnection(App(stats, "corpus"), OPTIONS[stage], DateHeader())
        try:
            replies = connection.receive(bytes.fromhex(case["raw_hex"]), 1e9)
        except Exception as error:  # any exception is the failure this test looks for
            crashed.append(f"{case['id']}: {error!r}")
            continue
        framed = {message["path"] for frames in ("strict_frames", "lenient_frames")
                  for message in case["expect"][frames]["messages"]}
        if any(reply.body == SMUGGLED for reply in replies) and "/bytes/7" not in framed:
            smuggled.append(case["id"])
    assert len(CASES) == 543
    assert (crashed, smuggled) == ([], [])


def _answer(raw: bytes, options: ProtocolOptions) -> tuple[int, bytes]:
    stats = Stats()
    (reply,) = HttpConnection(App(stats, "corpus"), options, DateHeader()).receive(raw, 1e9)
    return int(reply.head.split(b" ", 2)[1]), reply.body


@pytest.mark.parametrize("stage", list(OPTIONS))
def test_empty_list_elements_before_chunked_are_ignored_as_llhttp_ignores_them(stage: str) -> None:
    """RFC 9110 §5.6.1: a recipient ignores empty list elements (http-garden's transducer-9 allows
    only accepting it). After the coding both parsers refuse: chunked must be the last."""
    post = b"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: %s\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    for coding in (b",chunked", b", ,chunked", b"\tchunked"):
        assert _answer(post % coding, OPTIONS[stage]) == (200, b"abc"), coding
    assert _answer(post % b"chunked,", OPTIONS[stage])[0] == 400
