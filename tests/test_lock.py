"""The measuring stack is installed from constraints.txt: the versions a batch records are the pinned ones."""

from __future__ import annotations

import re
from importlib import metadata

import pytest

from tests.conftest import REPO

# What shapes a measurement: the load generator's stack, the servers' event loop, parser and serializer.
MEASURING = ("locust", "gevent", "greenlet", "uvloop", "httptools", "orjson", "pandas", "pyarrow", "hdrhistogram")
PINS = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)$", (REPO / "constraints.txt").read_text(), re.M))


@pytest.mark.parametrize("package", MEASURING)
def test_every_measuring_package_is_pinned_and_installed_as_pinned(package: str) -> None:
    assert package in PINS, f"constraints.txt does not pin {package}: run `make lock`"
    assert metadata.version(package) == PINS[package], (
        f"{package} {metadata.version(package)} is installed, constraints.txt pins {PINS[package]}: "
        "`make` reinstalls from it")


def test_the_makefile_installs_through_the_constraints() -> None:
    makefile = (REPO / "Makefile").read_text()
    installs = [line for line in re.findall(r"^\t(.*-e '\..*)$", makefile, re.M) if "LOCK_VENV" not in line]
    assert len(installs) >= 3 and all(line.startswith("$(INSTALL) ") for line in installs), installs
    assert "INSTALL := $(BIN)/python -m pip install --quiet -c constraints.txt" in makefile
