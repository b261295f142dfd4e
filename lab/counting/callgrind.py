"""Callgrind's profile format, read: a dump's event totals and its cost per function.

Sans-IO: text in, a Profile out. The format (valgrind's docs, "Callgrind Format Specification"):
`events:` names the cost columns; `ob=`, `fl=`/`fi=`/`fe=` and `fn=` set the current object, file
and function, with names compressed to `(id)` after their first use; a cost line is positions
then costs; a `calls=` line says the next cost line is what a call from the current function
cost, callee included. A function's self cost is its cost lines that follow no `calls=`; its
inclusive cost adds its calls' lines, except calls into itself (direct recursion would count
them twice). Recursion through another function still may, as in callgrind_annotate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

INSTRUCTIONS = "Ir"
SYSCALLS = "sysCount"  # --collect-systime: system calls made
_NAMED = re.compile(r"^\((\d+)\)(?: (.*))?$")
# Each kind's names are compressed in their own space; the called function shares the function's.
_SPACE = {"ob": "ob", "cob": "ob", "fl": "fl", "fi": "fl", "fe": "fl", "cfi": "fl", "cfl": "fl", "fn": "fn",
          "cfn": "fn"}


class FormatError(ValueError):
    """Text that is not a callgrind dump, or one cut short."""


@dataclass(frozen=True)
class FunctionCost:
    object: str  # the ELF object's file name: python3.11, libc.so.6, loop.cpython-311-….so
    function: str
    self: dict[str, int]  # event → cost in the function's own code
    inclusive: dict[str, int]  # … and in what it called


@dataclass
class Profile:
    events: tuple[str, ...]
    totals: dict[str, int]  # event → the dump's total (its `summary:` line)
    functions: list[FunctionCost] = field(default_factory=list)

    def total(self, event: str) -> int:
        if event not in self.totals:
            raise KeyError(f"the dump did not collect {event!r} (its events: {', '.join(self.events)})")
        return self.totals[event]


def _costs(events: tuple[str, ...], numbers: list[str]) -> dict[str, int]:
    return {event: int(value) for event, value in zip(events, numbers, strict=False)}


def _add(into: dict[str, int], costs: dict[str, int]) -> None:
    for event, value in costs.items():
        into[event] = into.get(event, 0) + value


class _Reader:
    """The state a dump is read with: current names, the name tables, costs per function."""

    def __init__(self) -> None:
        self.events: tuple[str, ...] = ()
        self.positions = 1
        self.summary: dict[str, int] | None = None
        self.names: dict[str, dict[str, str]] = {"ob": {}, "fl": {}, "fn": {}}
        self.current = {"ob": "", "fn": ""}
        self.called: dict[str, str] = {"cob": "", "cfn": ""}
        self.in_call = False
        self.self_costs: dict[tuple[str, str], dict[str, int]] = {}
        self.inclusive_costs: dict[tuple[str, str], dict[str, int]] = {}

    def name(self, kind: str, text: str) -> str:
        match = _NAMED.match(text)
        if match is None:
            return text  # an uncompressed name
        table = self.names[_SPACE[kind]]
        if match.group(2) is not None:
            table[match.group(1)] = match.group(2)
        try:
            return table[match.group(1)]
        except KeyError:
            raise FormatError(f"{kind}={text}: name id used before it was defined") from None

    def line(self, line: str) -> None:
        if not line or line.startswith("#"):
            return
        head = line[0]
        if head.isdigit() or head in "+-*":
            self.cost(line.split())
            return
        key, equals, value = line.partition("=")
        if key in _SPACE and equals:
            self.assign(key, value)
        elif key == "calls" and equals:
            self.in_call = True
        elif line.startswith("events:"):
            self.events = tuple(line.split(":", 1)[1].split())
        elif line.startswith("positions:"):
            self.positions = len(line.split(":", 1)[1].split())
        elif line.startswith("summary:"):
            self.summary = _costs(self.events, line.split(":", 1)[1].split())

    def assign(self, key: str, value: str) -> None:
        name = self.name(key, value)
        if key in ("ob", "fn"):
            self.current[key] = name
            if key == "fn":  # a new function: its calls are into objects named anew
                self.called = {"cob": self.current["ob"], "cfn": ""}
        elif key in ("cob", "cfn"):
            self.called[key] = name
            if key == "cfn" and not self.called["cob"]:
                self.called["cob"] = self.current["ob"]

    def cost(self, parts: list[str]) -> None:
        costs = _costs(self.events, parts[self.positions:])
        here = (_object(self.current["ob"]), self.current["fn"])
        inclusive = self.inclusive_costs.setdefault(here, {})
        if self.in_call:
            self.in_call = False
            callee = (_object(self.called["cob"] or self.current["ob"]), self.called["cfn"])
            self.called["cob"] = self.current["ob"]  # a cob= holds for one call
            if callee != here:
                _add(inclusive, costs)
            return
        _add(self.self_costs.setdefault(here, {}), costs)
        _add(inclusive, costs)


def _object(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def parse(text: str) -> Profile:
    """A callgrind dump's totals and per-function costs; FormatError if it is not one."""
    reader = _Reader()
    for line in text.splitlines():
        reader.line(line)
    if not reader.events:
        raise FormatError("no `events:` line: not a callgrind dump")
    if reader.summary is None:
        raise FormatError("no `summary:` line: the dump was cut short")
    functions = [FunctionCost(obj, function, reader.self_costs.get((obj, function), {}), inclusive)
                 for (obj, function), inclusive in reader.inclusive_costs.items()]
    return Profile(reader.events, reader.summary, functions)
