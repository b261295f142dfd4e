"""The drivers' tests share one fixture: a framer that has seen no head yet."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lab.drivers.locust import http1


@pytest.fixture(autouse=True)
def _no_head_remembered() -> Iterator[None]:
    """http1 remembers each distinct response head's parse for every reader of the process; a test
    that met a head only through that memory would never run the parse it means to check."""
    http1._parsed_heads.clear()
    yield
