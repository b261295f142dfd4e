"""A peer built from the repository's sources once per version of them, into the user's cache.

The compiled core (compiled.py) and the industry peers (native.py) build something the lab then
runs many times: built on first use, into a directory named by a digest of the sources (and
whatever else shapes the build), then reused until a source changes. A build runs in a scratch
directory beside its destination and is renamed into place only once it succeeded, so an
interrupted or failed build leaves nothing a later run would mistake for a finished one.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "qpslab"
_DONE = ".built"


class BuildError(ValueError):
    """The peer cannot be built here; the message says what is missing."""


def digest(sources: Path, salt: str) -> str:
    """Of every file under `sources` (names and bytes) and `salt`."""
    hashed = hashlib.sha256(salt.encode())
    for path in sorted(p for p in sources.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        hashed.update(str(path.relative_to(sources)).encode() + b"\0" + path.read_bytes())
    return hashed.hexdigest()[:16]


def built(name: str, sources: Path, salt: str, make: Callable[[Path], None]) -> Path:
    """The directory `make` fills from `sources`, made on first use for this version of them."""
    root = CACHE / f"{name}-{digest(sources, salt)}"
    if (root / _DONE).exists():
        return root
    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"building {name} into {root} (once for these sources)…", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(dir=CACHE, prefix="building-") as scratch:
        tree = Path(scratch) / "tree"
        tree.mkdir()
        make(tree)
        (tree / _DONE).touch()
        try:
            os.replace(tree, root)
        except OSError:  # another lab built it meanwhile
            if not (root / _DONE).exists():
                raise
    return root
