"""The one module that asks the OS for what not every OS has, with those things taken away."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest

import oscalls


class FakeLibc:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def prctl(self, *args: Any) -> int:
        self.calls.append(args)
        return 0


@pytest.fixture
def libc(monkeypatch: pytest.MonkeyPatch) -> FakeLibc:
    fake = FakeLibc()
    monkeypatch.setattr(oscalls.ctypes, "CDLL", lambda name: fake)
    return fake


def test_the_death_signal_is_asked_for_on_linux(libc: FakeLibc, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(oscalls.sys, "platform", "linux")
    oscalls.die_with_parent(signal.SIGKILL)
    assert libc.calls == [(1, signal.SIGKILL)]  # PR_SET_PDEATHSIG


@pytest.mark.parametrize("platform", ["darwin", "freebsd14"])
def test_no_prctl_where_there_is_none(libc: FakeLibc, monkeypatch: pytest.MonkeyPatch, platform: str) -> None:
    monkeypatch.setattr(oscalls.sys, "platform", platform)
    oscalls.die_with_parent(signal.SIGKILL)
    assert libc.calls == []


def test_affinity_where_the_os_has_it() -> None:
    assert oscalls.can_pin()
    assert oscalls.allowed_cpus() == frozenset(os.sched_getaffinity(0)) == oscalls.all_cpus()


def test_without_affinity_nothing_is_pinned_and_every_cpu_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "sched_setaffinity")
    assert not oscalls.can_pin() and oscalls.allowed_cpus() is None
    assert oscalls.all_cpus() == frozenset(range(os.cpu_count() or 1))
    oscalls.pin(frozenset({0}))  # a no-op, not an AttributeError


def test_cpu_model_without_proc(monkeypatch: pytest.MonkeyPatch) -> None:
    real = oscalls.Path
    monkeypatch.setattr(oscalls, "Path", lambda path: real("/nonexistent") / path.lstrip("/"))
    monkeypatch.setattr(oscalls.platform, "processor", lambda: "arm")
    assert oscalls.cpu_model() == "arm"
