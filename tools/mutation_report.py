"""Summarize the last `mutmut run` (make mutate): the score per module, and every mutant that
survived without being listed as equivalent in MUTANTS.md.

    .venv/bin/python tools/mutation_report.py

Exit status 1 while an unexplained survivor remains: each is a behaviour no fast test pins down
(kill it with a test) or a change that cannot alter behaviour (list it in MUTANTS.md, with why).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ACCEPTED = ROOT / "MUTANTS.md"
# mutmut's names: module.function__mutmut_N, methods as module.xǁClassǁmethod__mutmut_N.
_NAME = re.compile(r"^\s*(?P<name>[\w.ǁ]+__mutmut_\d+): (?P<status>[\w ]+)$")
NOT_KILLED = {"survived", "no tests"}


def accepted() -> set[str]:
    """Mutant names listed in MUTANTS.md (each in backquotes at the start of a list item)."""
    if not ACCEPTED.is_file():
        return set()
    return set(re.findall(r"^- `([\w.ǁ]+__mutmut_\d+)`", ACCEPTED.read_text(), re.MULTILINE))


def module_of(name: str) -> str:
    qualified = name.split("__mutmut_", maxsplit=1)[0].replace("xǁ", "").split("ǁ")[0]
    return qualified.rsplit(".", 1)[0]


def main() -> int:
    listing = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
    statuses = {m["name"]: m["status"] for line in listing.splitlines() if (m := _NAME.match(line))}
    if not statuses:
        print("no mutmut results: run `make mutate` first", file=sys.stderr)
        return 2
    explained = accepted()
    per_module: dict[str, Counter[str]] = defaultdict(Counter)
    for name, status in statuses.items():
        per_module[module_of(name)][status] += 1
    print(f"{'module':40} {'mutants':>8} {'killed':>7} {'score':>6}")
    for module, counts in sorted(per_module.items()):
        total = sum(counts.values())
        killed = total - sum(counts[s] for s in NOT_KILLED)
        print(f"{module:40} {total:8} {killed:7} {killed / total:6.1%}")
    total = len(statuses)
    killed = sum(1 for s in statuses.values() if s not in NOT_KILLED)
    equivalent = sum(1 for n, s in statuses.items() if s in NOT_KILLED and n in explained)
    print(f"\n{killed} of {total} mutants killed ({killed / total:.1%}); {equivalent} more listed as "
          f"equivalent in MUTANTS.md ({(killed + equivalent) / total:.1%} accounted for)")
    unexplained = sorted(n for n, s in statuses.items() if s in NOT_KILLED and n not in explained)
    for name in unexplained:
        print(f"  {statuses[name]:9} {name}    (mutmut show {name})")
    # A listed mutant that is killed now, or gone, names a change of an edited function: the
    # list is stale there, and its other names may now name other changes (mutmut show them).
    stale = sorted(name for name in explained if statuses.get(name) not in NOT_KILLED)
    if stale:
        print(f"\n{len(stale)} listed in MUTANTS.md but not surviving (remove them; re-check their functions):")
        for name in stale:
            print(f"  {statuses.get(name, 'gone'):9} {name}")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
