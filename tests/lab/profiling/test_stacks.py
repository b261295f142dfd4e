"""Sampled stacks in memory (lab.profiling.stacks): py-spy's folded lines and perf script's blocks
read into stacks, and a function's self and inclusive samples counted from them."""

from __future__ import annotations

from collections import Counter

import pytest

from lab.profiling.stacks import (
    FunctionSamples,
    StacksError,
    folded,
    frame_name,
    functions,
    read_folded,
    read_perf_script,
    total,
    unfolded,
)
from lab.run.profiled import top_functions

_ROOT = 'process 42:"python -m servers.stage4_protocol";'
_PARSE = ("main (servers/stage4_protocol.py:40);receive (servers/core/connection.py:95);"
          "feed (servers/core/fastparser.py:60)")
PY_SPY = "\n".join([
    f"{_ROOT}{_PARSE};llhttp_execute (llhttp.c:9100) 3",
    f"{_ROOT}{_PARSE};llhttp_execute (llhttp.c:9177) 2",
    f"{_ROOT}0x7f00aa (libc.so.6);main (servers/stage4_protocol.py:40);write (libc.so.6) 5",
    f"{_ROOT}0x7f00bb (libc.so.6);main (servers/stage4_protocol.py:40);receive (servers/core/connection.py:95) 10",
]) + "\n"

PERF = """\
node 77 123.456:    2004008 cpu-clock:ppp:
\t    7f00aa12 uv__io_poll+0x1f (/usr/lib/libuv.so.1)
\t    55aa0001 node::SpinEventLoop+0x20 (/usr/bin/node)
\t    55aa0002 main+0x8 (/usr/bin/node)

node 77 123.458:    2004008 cpu-clock:ppp:
\t    55aa0003 [unknown] (/usr/bin/node)
\t    55aa0002 main+0x8 (/usr/bin/node)

node 77 123.460:    2004008 cpu-clock:ppp:
\t    7f00aa13 uv__io_poll+0x2a (/usr/lib/libuv.so.1)
\t    55aa0001 node::SpinEventLoop+0x24 (/usr/bin/node)
\t    55aa0002 main+0x8 (/usr/bin/node)
"""


def test_py_spy_lines_become_stacks_of_functions_under_one_root() -> None:
    stacks = read_folded(PY_SPY)
    assert total(stacks) == 20
    # The two lines of one C function are one frame; the unnamed frame keeps its object only.
    parse = ("main (servers/stage4_protocol.py:40)", "receive (servers/core/connection.py:95)",
             "feed (servers/core/fastparser.py:60)", "llhttp_execute (llhttp.c)")
    assert stacks[parse] == 5
    assert stacks[("[unknown] (libc.so.6)", "main (servers/stage4_protocol.py:40)", "write (libc.so.6)")] == 5
    assert frame_name("<module> (<frozen runpy>:1)") == "<module> (<frozen runpy>:1)"
    assert frame_name("no file at all") == "no file at all"


def test_a_line_that_is_not_folded_is_refused_with_its_number() -> None:
    with pytest.raises(StacksError, match=r"^line 2 is not 'frame;frame;… count': 'main;write'$"):
        read_folded("main 1\nmain;write\n")
    with pytest.raises(StacksError, match="not a perf script frame line"):
        read_perf_script("node 1 2.0: 1 cpu-clock:\n\tgarbage\n")


def test_perf_script_blocks_become_stacks_root_first_without_offsets() -> None:
    stacks = read_perf_script(PERF)
    assert stacks == Counter({("node", "main (node)", "node::SpinEventLoop (node)", "uv__io_poll (libuv.so.1)"): 2,
                              ("node", "main (node)", "[unknown] (node)"): 1})


def test_self_is_the_leaf_and_inclusive_counts_a_recursing_function_once() -> None:
    stacks = Counter({("a", "b", "a", "c"): 4, ("a", "b"): 3, ("d",): 1})
    assert functions(stacks) == [FunctionSamples("b", 3, 7), FunctionSamples("a", 0, 7), FunctionSamples("c", 4, 4),
                                 FunctionSamples("d", 1, 1)]
    assert sum(f.self_samples for f in functions(stacks)) == total(stacks)
    assert unfolded(folded(stacks)) == stacks
    assert folded(stacks)[0] == ("a;b;a;c", 4)  # most sampled first


def test_a_run_s_functions_share_its_cpu_per_request_by_samples() -> None:
    stacks = Counter({("main", "parse"): 30, ("main", "write"): 10})
    rows = top_functions(stacks, "r1", 80.0)
    by = {row["function"]: row for row in rows}
    assert [row["function"] for row in rows] == ["main", "parse", "write"]  # by inclusive
    assert by["parse"]["self_us_per_request"] == 60.0 and by["write"]["self_us_per_request"] == 20.0
    assert by["main"]["inclusive_us_per_request"] == 80.0 and by["main"]["self_us_per_request"] == 0.0
    assert [row["rank"] for row in rows] == [1, 2, 3] and {row["run_id"] for row in rows} == {"r1"}
    assert top_functions(stacks, "r1", None)[0]["self_us_per_request"] is None  # no CPU measured: no µs
    assert top_functions(Counter(), "r1", 80.0) == []
