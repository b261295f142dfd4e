"""Extract llhttp's own response tests into tests/lab/drivers/llhttp_responses.json.

llhttp (the parser stage 4 and the minimal server use, through httptools) documents its
behaviour as markdown tests: an `http` block of input and a `log` block of what the parser did.
The lab's response framer is held to the same verdicts (tests/lab/drivers/test_llhttp_corpus.py).
This reads a checkout of github.com/nodejs/llhttp (MIT licence) and keeps, for every strict
`response` test, its input bytes, the statuses of the messages llhttp completed and its error.
The input is unescaped as llhttp's test/md-test.ts does.

    git clone https://github.com/nodejs/llhttp /tmp/llhttp
    python tools/llhttp_corpus.py /tmp/llhttp
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "tests" / "lab" / "drivers" / "llhttp_responses.json"
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


def cases(checkout: Path) -> list[dict[str, object]]:
    found = []
    for path in sorted((checkout / "test" / "response").glob("*.md")):
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout", type=Path, help="a clone of github.com/nodejs/llhttp")
    args = parser.parse_args()
    commit = subprocess.run(["git", "-C", str(args.checkout), "describe", "--tags", "--always"],
                            capture_output=True, text=True, check=True).stdout.strip()
    corpus = {"source": "https://github.com/nodejs/llhttp test/response/*.md (MIT licence)", "version": commit,
              "cases": cases(args.checkout)}
    OUT.write_text(json.dumps(corpus, indent=1, ensure_ascii=False) + "\n")
    print(f"{len(corpus['cases'])} cases from llhttp {commit} → {OUT}")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
