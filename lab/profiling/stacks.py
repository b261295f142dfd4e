"""Sampled stacks, sans-IO: a profiler's text in, stacks and per-function costs out.

Two texts are read: py-spy's raw output (Brendan Gregg's folded format, one "frame;frame;… count"
line per distinct stack, root first) and `perf script`'s (one block per sample, leaf first). Both
become `Stacks`, from which a function's self samples (it was the leaf) and inclusive samples (it
was anywhere in the stack, once per stack however deep it recursed) are counted.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

Stack = tuple[str, ...]  # root first
Stacks = Counter[Stack]  # samples per distinct stack

# py-spy names a Python frame "function (file:line)" and, with --function, line is the function's
# first line: the function itself. A native frame's line is the sampled line, so it is dropped
# and the frames of one C function become one.
_FRAME = re.compile(r"^(?P<name>.*) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")
# py-spy's first frame names the process ("process 123:\"python -m …\""): one server, one root.
_PROCESS_FRAME = re.compile(r'^process \d+:')
# perf's frame line: address, symbol+offset, (object).
_PERF_FRAME = re.compile(r"^\s*[0-9a-f]+ (?P<symbol>.+?) \((?P<object>[^()]*)\)$")
_PERF_OFFSET = re.compile(r"\+0x[0-9a-f]+$")


class StacksError(ValueError):
    """A profiler's output this module cannot read."""


# A native frame py-spy could not name: its address, which moves from run to run.
_ADDRESS = re.compile(r"^0x[0-9a-f]+$")


def frame_name(frame: str) -> str:
    """A frame as a function: Python frames as py-spy names them, native ones without their line,
    an unnamed one as "[unknown]" in its object."""
    match = _FRAME.match(frame)
    if match is None:
        return frame
    if _ADDRESS.match(match["name"]):
        return f"[unknown] ({match['file']})"
    if match["line"] is None or match["file"].endswith(".py") or match["file"].startswith("<"):
        return frame
    return f"{match['name']} ({match['file']})"


def read_folded(text: str) -> Stacks:
    """py-spy's raw (folded) output: each line's frames, root first, and its sample count."""
    stacks: Stacks = Counter()
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        frames, _, count = line.rpartition(" ")
        if not frames or not count.isdigit():
            raise StacksError(f"line {number} is not 'frame;frame;… count': {line[:120]!r}")
        names = [frame_name(f) for f in frames.split(";") if not _PROCESS_FRAME.match(f)]
        stacks[tuple(names)] += int(count)
    return stacks


def read_perf_script(text: str) -> Stacks:
    """`perf script`'s output: each sample's frames, turned root first, under its command's name
    (a frame perf could not name keeps its object: "[unknown] (libfoo.so)")."""
    stacks: Stacks = Counter()
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = block.splitlines()
        if not lines or not lines[0].strip():
            continue
        command = lines[0].split()[0]
        frames = []
        for line in lines[1:]:
            match = _PERF_FRAME.match(line)
            if match is None:
                raise StacksError(f"not a perf script frame line: {line[:120]!r}")
            symbol = _PERF_OFFSET.sub("", match["symbol"])
            frames.append(f"{symbol} ({match['object'].rsplit('/', 1)[-1]})")
        stacks[(command, *reversed(frames))] += 1
    return stacks


@dataclass(frozen=True)
class FunctionSamples:
    function: str
    self_samples: int  # the samples in which it was the leaf: its own code running
    inclusive_samples: int  # the samples in which it was anywhere in the stack


def functions(stacks: Stacks) -> list[FunctionSamples]:
    """Every function's self and inclusive samples, most inclusive first (then most self, then by
    name)."""
    own: Counter[str] = Counter()
    anywhere: Counter[str] = Counter()
    for stack, samples in stacks.items():
        if not stack:
            continue
        own[stack[-1]] += samples
        for function in set(stack):
            anywhere[function] += samples
    return sorted((FunctionSamples(f, own[f], n) for f, n in anywhere.items()),
                  key=lambda f: (-f.inclusive_samples, -f.self_samples, f.function))


def total(stacks: Stacks) -> int:
    return sum(stacks.values())


def folded(stacks: Stacks) -> list[tuple[str, int]]:
    """The stacks as folded lines' two parts ("root;…;leaf", samples), most sampled first: how a
    batch keeps them."""
    return sorted(((";".join(stack), samples) for stack, samples in stacks.items()), key=lambda s: (-s[1], s[0]))


def unfolded(lines: list[tuple[str, int]]) -> Stacks:
    """folded()'s lines back as stacks."""
    stacks: Stacks = Counter()
    for stack, samples in lines:
        stacks[tuple(stack.split(";"))] += samples
    return stacks
