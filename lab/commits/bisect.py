"""`lab bisect`: the first commit between a good and a bad one whose server is worse, by counted
instructions per request, beyond a threshold.

Each commit tried is checked out in a worktree of its own and counted (lab.run.counted) as many
times as lab diff needs to call a change of one target pair; it is then compared with the good
end exactly as `lab diff BATCH --base GOOD --new COMMIT` would (the batch holds every count, so
that diff can be rerun). The range narrows as git bisect's does: a commit worse than the good end
beyond the threshold is bad, any other good; a commit that does not start is skipped and its
neighbours tried. Each comparison carries the diff's 5%; a bisect makes about log2(commits) of
them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from lab.analysis.diff import Change, compare_targets, counted_repeats_needed
from lab.commits.worktrees import Worktrees, subject
from lab.model.scenario import Scenario
from lab.model.target import Target
from lab.run.counted import CountedLoad, count
from lab.run.measure import Pinning
from lab.store.results import BatchWriter, new_batch_id

METRIC = "server_instructions_per_request"
# Counted runs per commit: what one pair's diff needs to reach its 5% (5).
REPEATS = counted_repeats_needed(1, 1)


@dataclass(frozen=True)
class Tried:
    commit: str
    subject: str
    label: str  # the target label its runs carry in the batch
    median: float | None  # instructions per request; None: it did not start
    verdict: str  # against the good end: a diff verdict, "good end", or "did not start: why"
    change: float | None = None


@dataclass(frozen=True)
class Outcome:
    first_worse: str | None  # the commit named, or None
    conclusion: str
    tried: list[Tried]
    batch: Path


class Bisection:
    """One bisect: the repository, the target as its commits start it, the scenario, and where
    its batch goes; `told` hears of each commit as it is tried."""

    def __init__(self, repository: Path, target: Target, scenario: Scenario, pinning: Pinning, *, results: Path,
                 threshold: float, repeats: int = REPEATS, load: CountedLoad | None = None,
                 info: dict[str, Any] | None = None, told: Callable[[str], None] = lambda line: None) -> None:
        self.repository, self.target, self.scenario, self.pinning = repository, target, scenario, pinning
        self.threshold, self.repeats, self.load, self.told = threshold, repeats, load or CountedLoad(), told
        self.batch = new_batch_id()
        self.writer = BatchWriter(results, self.batch, {"batch": self.batch, **(info or {})})
        self.info = {"batch": self.batch, **(info or {})}
        self.rows: list[dict[str, Any]] = []
        self.tried: list[Tried] = []

    def run(self, commits: list[str]) -> Outcome:
        """Bisect `commits` (the good end first, the bad end last)."""
        worktrees = Worktrees(self.repository)
        try:
            return self._search(commits, worktrees)
        finally:
            worktrees.close()

    def _search(self, commits: list[str], worktrees: Worktrees) -> Outcome:
        good, bad = (self._try(commit, worktrees, commits[0]) for commit in (commits[0], commits[-1]))
        if good.median is None or bad.median is None:
            end = "good" if good.median is None else "bad"
            return self._end(None, f"the {end} end did not start: {(good if end == 'good' else bad).verdict}")
        if not self._worse(bad):
            return self._end(None, f"the two ends do not differ beyond {self.threshold:.1%}: {bad.verdict}, "
                                   f"{_percent(bad.change)}")
        low, high, skipped = 0, len(commits) - 1, set()
        while True:
            left = [i for i in range(low + 1, high) if i not in skipped]
            if not left:
                break
            middle = min(left, key=lambda i: abs(i - (low + high) / 2))
            tried = self._try(commits[middle], worktrees, commits[0])
            if tried.median is None:
                skipped.add(middle)
            elif self._worse(tried):
                high = middle
            else:
                low = middle
        named = self.tried[[t.commit for t in self.tried].index(commits[high])]
        between = [commits[i][:12] for i in sorted(skipped) if low < i < high]
        caveat = (f"; {', '.join(between)} between it and the last good one did not start, so could be first "
                  "instead" if between else "")
        return self._end(commits[high], f"{named.subject} is the first commit worse beyond {self.threshold:.1%}: "
                                        f"{_percent(named.change)} instructions per request against the good end"
                                        f"{caveat}; {len(self.tried)} commits measured")

    def _worse(self, tried: Tried) -> bool:
        return tried.verdict == "worse" and tried.change is not None and tried.change > self.threshold

    def _try(self, commit: str, worktrees: Worktrees, good: str) -> Tried:
        """Count one commit `repeats` times and compare it with the good end."""
        line = subject(self.repository, commit)
        label = f"{self.target.name}@{commit[:12]}"
        self.told(f"counting {line}")
        with worktrees.checkout(commit) as tree:
            target = replace(self.target, name=label, cwd=str(tree / _inside(self.repository, self.target.cwd)))
            results = []
            for repeat in range(self.repeats):
                results.append(count(target, self.scenario, self.pinning, batch=self.batch, repeat=repeat,
                                     load=self.load))
                if results[-1].row["error"]:
                    break  # a commit that does not start is skipped, not tried again
        for result in results:
            self.writer.add_counted(result)
        rows = [result.row for result in results]
        self.rows += rows
        errors = [row["error"] for row in rows if row["error"]]
        if errors:
            tried = Tried(commit, line, label, None, f"did not start: {errors[0]}")
        elif commit == good:
            tried = Tried(commit, line, label, _median(rows), "good end")
        else:
            change = self._against_good(label, good)
            tried = Tried(commit, line, label, _median(rows), change.verdict, change.change)
        self.tried.append(tried)
        self._note(None, "")
        self.told(f"  {tried.verdict} {_percent(tried.change)}" + ("" if tried.median is None else
                                                                    f" ({tried.median:,.0f} instructions/req)"))
        return tried

    def _against_good(self, label: str, good: str) -> Change:
        changes = compare_targets(pd.DataFrame(), f"{self.target.name}@{good[:12]}", label, pd.DataFrame(self.rows))
        return next(c for c in changes if c.metric == METRIC)

    def _end(self, named: str | None, conclusion: str) -> Outcome:
        self._note(named, conclusion)
        return Outcome(named, conclusion, self.tried, self.writer.directory)

    def _note(self, named: str | None, conclusion: str) -> None:
        """batch.json with the evidence so far: an interrupted bisect keeps what it found."""
        self.writer.describe({**self.info, "bisect": {
            "first_worse": named, "conclusion": conclusion, "threshold": self.threshold,
            "tried": [asdict(t) for t in self.tried]}})


def _inside(repository: Path, cwd: str | None) -> Path:
    """Where in a worktree the target runs: its own cwd's place in the repository (the root for a
    stage, which runs where the lab does)."""
    if cwd is None:
        return Path(".")
    return Path(cwd).resolve().relative_to(repository.resolve())


def _median(rows: list[dict[str, Any]]) -> float:
    return float(pd.Series([row[METRIC] for row in rows]).median())


def _percent(change: float | None) -> str:
    return "" if change is None or math.isnan(change) else f"{change:+.2%}"
