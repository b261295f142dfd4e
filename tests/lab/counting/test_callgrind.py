"""Callgrind's format read in memory: totals, self and inclusive cost per function, compressed
names, calls into other objects and into itself, and dumps that are not dumps."""

from __future__ import annotations

import pytest

from lab.counting.callgrind import FormatError, Profile, parse
from lab.counting.valgrind import merged
from lab.run.counted import top_functions

# main (in prog) costs 10 of its own, calls work (in prog, 100 inclusive) twice in one call line,
# and memcpy (in libc, 7); work costs 100 of its own and calls itself (recursion: 50), whose line
# must not count twice in work's inclusive cost. Names are compressed after first use.
DUMP = """\
# callgrind format
version: 1
positions: line
events: Ir sysCount
summary: 117 3

ob=(1) /usr/bin/prog
fl=(1) prog.c
fn=(1) main
10 10 2
+2 0 1
cfn=(2) work
calls=2 0
+1 100
cob=(2) /lib/x86_64-linux-gnu/libc.so.6
cfn=(3) memcpy
calls=1 0
* 7

fn=(2)
3 90
4 10
cfn=(2)
calls=1 0
5 50

ob=(2)
fl=(2) string.c
fn=(3)
1 7
"""


def _function(profile: Profile, name: str) -> tuple[str, dict[str, int], dict[str, int]]:
    (found,) = [f for f in profile.functions if f.function == name]
    return found.object, found.self, found.inclusive


def test_a_dump_s_totals_and_each_function_s_self_and_inclusive_cost() -> None:
    profile = parse(DUMP)
    assert profile.events == ("Ir", "sysCount")
    assert profile.totals == {"Ir": 117, "sysCount": 3}
    assert profile.total("Ir") == 117
    assert _function(profile, "main") == ("prog", {"Ir": 10, "sysCount": 3}, {"Ir": 117, "sysCount": 3})
    # Its call into itself is in neither figure twice: self 100, inclusive 100.
    assert _function(profile, "work") == ("prog", {"Ir": 100}, {"Ir": 100})
    assert _function(profile, "memcpy") == ("libc.so.6", {"Ir": 7}, {"Ir": 7})
    assert sum(f.self.get("Ir", 0) for f in profile.functions) == profile.total("Ir")


def test_a_call_s_object_holds_for_that_call_only() -> None:
    text = DUMP.replace("fn=(2)\n3 90", "fn=(2)\ncfn=(3)\ncalls=1 0\n2 7\n3 83")
    _, own, inclusive = _function(parse(text), "work")
    assert own == {"Ir": 93} and inclusive == {"Ir": 100}  # memcpy called from work is in prog's memcpy


def test_an_event_the_dump_did_not_collect_is_named() -> None:
    with pytest.raises(KeyError, match=r"did not collect 'sysTime'.*Ir, sysCount"):
        parse(DUMP).total("sysTime")


@pytest.mark.parametrize(("text", "why"), [
    ("not a dump\n", "no `events:` line"),
    (DUMP.replace("summary: 117 3\n", ""), "no `summary:` line"),
    (DUMP.replace("fn=(1) main", "fn=(9)"), r"fn=\(9\): name id used before it was defined"),
])
def test_what_is_not_a_whole_dump_is_refused(text: str, why: str) -> None:
    with pytest.raises(FormatError, match=why):
        parse(text)


def test_two_processes_dumps_add_up() -> None:
    one = parse(DUMP)
    both = merged([one, parse(DUMP)])
    assert both.totals == {"Ir": 234, "sysCount": 6}
    assert _function(both, "work") == ("prog", {"Ir": 200}, {"Ir": 200})
    assert len(both.functions) == len(one.functions)


def test_the_kept_functions_are_per_request_and_ranked_by_inclusive_cost() -> None:
    rows = top_functions(parse(DUMP), "r1", requests=10)
    assert [(r["rank"], r["function"]) for r in rows] == [(1, "main"), (2, "work"), (3, "memcpy")]
    assert rows[0]["self_instructions_per_request"] == 1.0 and rows[0]["inclusive_instructions_per_request"] == 11.7
    assert rows[1]["self_instructions_per_request"] == 10.0
    assert {r["run_id"] for r in rows} == {"r1"}
    assert top_functions(parse(DUMP), "r1", requests=0) == []
