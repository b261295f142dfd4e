"""Where the checkout's folders are, and how a file is replaced so that no reader sees it torn."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCENARIO_DIR = REPO / "scenarios"
TARGET_DIR = REPO / "targets"
NOTEBOOKS = REPO / "notebooks"
SERVERS = REPO / "servers"
# Relative on purpose: results land under the directory the lab is run from, as `make` does.
DEFAULT_RESULTS = Path("results")


@contextmanager
def replacing(path: Path) -> Iterator[Path]:
    """A temporary path beside `path` to write; renamed over `path` when the block ends without
    an error (a rename within one directory is atomic), removed when it raises."""
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_atomically(path: Path, text: str) -> None:
    with replacing(path) as temporary:
        temporary.write_text(text)
