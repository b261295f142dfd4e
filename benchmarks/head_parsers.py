"""Would a whole-head regex beat llhttp's callbacks? Three ways to parse one head, in-process.

    .venv/bin/python benchmarks/head_parsers.py [CHECKOUT]

For the one-header GET and the browser's 11 fields of buffer_updated.py: the llhttp adapter's
`feed` (stage 4's parser); one regex matching the whole head (the core parser's grammar in one
pattern, h11's approach) followed by the same field list, frame and Request; and the same regex
with no field list at all (the head lowered once, the framing fields found by substring
search, the Request holding the lowered head): the least a regex-based parser could do. Only
the adapter is a full parser: the other two skip every error path, so they are lower bounds.
Best of 5 rounds of 200,000 calls, µs per call; pin it (`taskset -c 0`).
"""

from __future__ import annotations

import re
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

from buffer_updated import BROWSER, REQUEST

ROUNDS, CALLS = 5, 200_000
_TCHAR = rb"!#$%&'*+\-.^_`|~0-9A-Za-z"
_VALUE = rb"[\t\x20-\x7e\x80-\xff]*"
HEAD = re.compile(rb"([" + _TCHAR + rb"]+) ((?:/|\*|https?://)[\x21-\x7e]*) HTTP/(\d\.\d)\r\n((?:["
                  + _TCHAR + rb"]+:" + _VALUE + rb"\r\n)*)\r\n")
_new_tuple = tuple.__new__


def best(call: Callable[[], object]) -> float:
    return min(timeit.repeat(call, number=CALLS, repeat=ROUNDS)) / CALLS * 1e6


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
    sys.path.insert(0, str(root))
    from servers.core.fastparser import FastRequestParser
    from servers.core.request import Request, frame

    def with_fields(data: bytes) -> object:
        match = HEAD.match(data)
        assert match is not None
        method, target, version, block = match.groups()
        headers = []
        for line in block.split(b"\r\n")[:-1]:
            name, _, value = line.partition(b":")
            headers.append((name.lower(), value.strip(b" \t")))
        framing = frame(method, version, headers)
        return _new_tuple(Request, (method, target, version, headers, b"", framing.keep_alive))

    def without_fields(data: bytes) -> object:
        match = HEAD.match(data)
        assert match is not None
        method, target, version, block = match.groups()
        lowered = b"\r\n" + block.lower()
        plain = lowered.count(b"\r\nhost:") == 1 and not (
            b"\r\ncontent-length:" in lowered or b"\r\ntransfer-encoding:" in lowered
            or b"\r\nconnection:" in lowered or b"\r\nexpect:" in lowered)
        return _new_tuple(Request, (method, target, version, lowered, b"", plain))

    for name, data in (("one header", REQUEST), ("browser", BROWSER)):
        parser = FastRequestParser()
        (request,) = parser.feed(data)
        assert with_fields(data) == request
        print(f"{name}: llhttp adapter {best(lambda: parser.feed(data)):.2f}"  # noqa: B023  # timed before the next loop
              f"  regex + field list {best(lambda: with_fields(data)):.2f}"  # noqa: B023
              f"  regex, no field list {best(lambda: without_fields(data)):.2f} µs")  # noqa: B023


if __name__ == "__main__":
    main()
