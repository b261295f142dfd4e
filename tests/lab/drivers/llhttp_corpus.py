"""llhttp's own response tests, read at test time from the corpus beside the checkout
(../shared/corpora/llhttp/response/*.md, llhttp at the commit in its COMMIT file; not kept in this
repository). llhttp documents its behaviour as markdown tests: an `http` block of input and a
`log` block of what the parser did; this keeps, for every strict `response` test, its input bytes,
the statuses of the messages llhttp completed and its error."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.conftest import REPO

RESPONSES = REPO.parent / "shared" / "corpora" / "llhttp" / "response"

_CASE = re.compile(r"^#{2,4} (?P<name>.+?)\n(?P<body>.*?)(?=^#{2,4} |\Z)", re.S | re.M)  # a test per heading
_META = re.compile(r"<!-- meta=(\{.*?\}) -->")
_BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)
_HEADERS = re.compile(r"headers complete status=(\d+)")


def unescape(text: str) -> bytes:
    """An `http` block as the bytes llhttp's tests feed (test/md-test.ts, in its order)."""
    text = re.sub(r"\n\Z", "", text)  # JavaScript's /\n$/: the very end only
    text = re.sub(r"\\(\r\n|\r|\n)", "", text)
    text = re.sub(r"\r\n|\r|\n", "\r\n", text)
    text = text.replace("\\r", "\r").replace("\\n", "\n").replace("\\t", "\t").replace("\\f", "\f")
    text = re.sub(r"\\x([0-9a-fA-F]+)", lambda m: chr(int(m.group(1), 16)), text)
    text = re.sub(r"\\([0-7]{1,3})", lambda m: chr(int(m.group(1), 8)), text)
    if "${" in text:
        raise ValueError("inline JavaScript")
    return text.encode("latin-1")


def outcome(log: str) -> tuple[list[int], str | None]:
    """The statuses of the messages llhttp completed, in order, and its error's reason (or None)."""
    statuses: list[int] = []
    head: int | None = None
    error = None
    for line in log.splitlines():
        found = _HEADERS.search(line)
        if found:
            head = int(found.group(1))
        elif line.endswith("message complete") and head is not None:
            statuses.append(head)
        elif " error code=" in line:
            error = line.split("reason=", 1)[1].strip('"')
    return statuses, error


def cases(folder: Path = RESPONSES) -> list[dict[str, object]]:
    found = []
    for path in sorted(folder.glob("*.md")):
        for case in _CASE.finditer(path.read_text()):
            meta = _META.search(case.group("body"))
            if meta is None or json.loads(meta.group(1)) != {"type": "response"}:
                continue  # lenient modes, pauses, skipped bodies: not how the servers run llhttp
            blocks = dict((kind, text) for kind, text in _BLOCK.findall(case.group("body")))
            try:
                data = unescape(blocks["http"])
            except ValueError:
                continue
            statuses, error = outcome(blocks["log"])
            found.append({"file": path.name, "name": case.group("name").strip(), "input": data.decode("latin-1"),
                          "statuses": statuses, "error": error})
    return found
