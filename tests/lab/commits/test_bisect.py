"""`lab bisect` on a small git repository made here: a server and five commits, the third adding
a known amount of work per request and the second not starting at all. It names the third,
having measured at most ⌈log2 5⌉ + 2 commits, says that the second could not be measured,
and leaves no worktree behind; the search itself in memory (two ends alike, skips, how far it
narrows), on verdicts given to it."""

from __future__ import annotations

import json
import math
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from lab.commits.bisect import Bisection, Outcome, Tried
from lab.counting import valgrind
from lab.files.scenario_file import load_scenario
from lab.model.target import stage_target
from lab.paths import SCENARIO_DIR
from lab.run.measure import Pinning
from tests.conftest import REPO, lab, require_tool

PLAINTEXT = load_scenario(SCENARIO_DIR / "plaintext.toml")

# The server each commit holds: the tests' tiny server with its default work per request set.
SERVER = (Path(__file__).parents[1] / "tiny_server.py").read_text()


def _server(work: int, typo: bool = False, comment: str = "") -> str:
    text = SERVER.replace("WORK = 0\n", f"WORK = {work}\n")
    return (text.replace("def main() -> None:", "def main( -> None:") if typo else text) + comment


def _git(repository: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repository), *args], capture_output=True, text=True, check=True,
                          env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                               "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"}).stdout.strip()


def _commit(repository: Path, text: str, message: str) -> str:
    (repository / "server.py").write_text(text)
    _git(repository, "add", "server.py")
    _git(repository, "commit", "-q", "-m", message)
    return _git(repository, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    root = tmp_path_factory.mktemp("bisect")
    repository = root / "repo"
    repository.mkdir()
    _git(repository, "init", "-q")
    commits = [_commit(repository, _server(0), "a server"),
               _commit(repository, _server(0, typo=True), "a typo: no start"),
               _commit(repository, _server(300), "the typo fixed, and 300 loop steps per request"),
               _commit(repository, _server(300, comment="# a comment\n"), "a comment"),
               _commit(repository, _server(300, comment="# a comment\n# another\n"), "another comment")]
    (root / "target.toml").write_text('description = "the bisected server"\n'
                                      'command = ["{python}", "server.py", "--port", "{port}"]\n'
                                      'cwd = "repo"\nready = "listening"\n')
    return root, commits


@pytest.fixture
def _valgrind() -> None:
    require_tool("valgrind", valgrind.missing() is None, valgrind.INSTALL)


def _bisect(root: Path, good: str, bad: str) -> tuple[subprocess.CompletedProcess[str], dict[str, object]]:
    done = lab("bisect", "--good", good, "--bad", bad, "--target", str(root / "target.toml"),
               "--counted-requests", "200", "--results", str(root / "results"), timeout=380)
    assert "Traceback" not in done.stderr, done.stderr
    newest = sorted((root / "results").iterdir())[-1]
    return done, json.loads((newest / "batch.json").read_text())["bisect"]


@pytest.mark.system
@pytest.mark.timeout(400)
@pytest.mark.usefixtures("_valgrind")
def test_it_names_the_commit_that_added_work_past_one_that_does_not_start(repository: tuple[Path, list[str]]) -> None:
    root, commits = repository
    done, found = _bisect(root, commits[0], commits[-1])
    assert done.returncode == 0, done.stdout[-3000:]
    assert found["first_worse"] == commits[2], found
    tried = {t["commit"]: t for t in found["tried"]}  # type: ignore[attr-defined]
    assert len(tried) <= math.ceil(math.log2(5)) + 2
    assert tried[commits[0]]["verdict"] == "good end" and tried[commits[4]]["verdict"] == "worse"
    assert tried[commits[1]]["verdict"].startswith("did not start") and tried[commits[1]]["median"] is None
    assert tried[commits[2]]["change"] > 0.01
    assert f"{commits[1][:12]} between it and the last good one did not start" in str(found["conclusion"])
    assert "the typo fixed, and 300 loop steps per request is the first commit worse" in done.stdout.replace("\n", " ")
    assert _git(root / "repo", "worktree", "list").count("\n") == 0  # the repository's own tree only


@pytest.mark.system
@pytest.mark.timeout(400)
def test_what_it_refuses_before_measuring(repository: tuple[Path, list[str]]) -> None:
    root, commits = repository
    backwards = lab("bisect", "--good", commits[4], "--bad", commits[0], "--target", str(root / "target.toml"),
                    "--results", str(root / "refused"))
    assert backwards.returncode == 2 and "is not an ancestor of" in backwards.stdout
    unknown = lab("bisect", "--good", "nope", "--bad", commits[0], "--target", str(root / "target.toml"),
                  "--results", str(root / "refused"))
    assert unknown.returncode == 2 and "git rev-parse" in unknown.stdout
    assert not (root / "refused").exists()


@pytest.mark.system
@pytest.mark.timeout(400)
@pytest.mark.usefixtures("_valgrind")
def test_ctrl_c_leaves_no_worktree_and_no_server(repository: tuple[Path, list[str]]) -> None:
    root, commits = repository
    folders = set(Path(tempfile.gettempdir()).glob("qpslab-bisect-*"))  # other bisects' are not this one's
    bisecting = subprocess.Popen([sys.executable, "-m", "lab", "bisect", "--good", commits[0], "--bad", commits[-1],
                                  "--target", str(root / "target.toml"), "--results", str(root / "interrupted")],
                                 cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    servers: list[psutil.Process] = []
    while not servers and time.monotonic() < deadline:  # until a commit's server runs under valgrind
        servers = [child for child in psutil.Process(bisecting.pid).children(recursive=True)
                   if "valgrind" in " ".join(child.cmdline())]
        time.sleep(0.1)
    assert servers, "no counted server started within 60 s"
    bisecting.send_signal(signal.SIGINT)
    output, _ = bisecting.communicate(timeout=90)
    assert bisecting.returncode == 130, output[-2000:]
    assert not any(server.is_running() and server.status() != psutil.STATUS_ZOMBIE for server in servers)
    assert _git(root / "repo", "worktree", "list").count("\n") == 0, "a worktree was left behind"
    assert set(Path(tempfile.gettempdir()).glob("qpslab-bisect-*")) <= folders, "a worktree folder was left behind"
    (batch,) = (root / "interrupted").iterdir()  # what was measured is kept
    assert json.loads((batch / "batch.json").read_text())["good"] == commits[0]


def _search(tmp_path: Path, verdicts: dict[str, tuple[float | None, str, float | None]]) -> tuple[Outcome, list[str]]:
    """The search over commits "c0" … on the verdicts given (median, verdict, change); which it tried."""
    bisection = Bisection(tmp_path, stage_target(4), PLAINTEXT, Pinning(frozenset({0}), frozenset({1})),
                          results=tmp_path / "results", threshold=0.01)

    def tried(commit: str, worktrees: object, good: str) -> Tried:
        median, verdict, change = verdicts[commit]
        bisection.tried.append(Tried(commit, f"{commit} subject", commit, median, verdict, change))
        return bisection.tried[-1]

    bisection._try = tried  # type: ignore[method-assign,assignment]
    outcome = bisection._search(list(verdicts), None)  # type: ignore[arg-type]
    return outcome, [t.commit for t in bisection.tried]


GOOD = (100.0, "good end", None)
WORSE = (103.0, "worse", 0.03)
SAME = (100.0, "no significant change", 0.0)
NO_START = (None, "did not start: exit 1", None)


def test_the_search_narrows_skips_and_says_when_the_ends_are_alike(tmp_path: Path) -> None:
    commits = {f"c{k}": SAME for k in range(1, 9)} | {f"c{k}": WORSE for k in range(9, 17)}
    outcome, tried = _search(tmp_path / "a", {"c0": GOOD, **commits})
    assert outcome.first_worse == "c9" and len(tried) <= math.ceil(math.log2(16)) + 2, tried
    assert "c9 subject is the first commit worse beyond 1.0%: +3.00%" in outcome.conclusion
    skipping = {"c0": GOOD, "c1": SAME, "c2": NO_START, "c3": WORSE, "c4": WORSE}
    outcome, tried = _search(tmp_path / "b", skipping)
    assert outcome.first_worse == "c3" and "c2 between it and the last good one did not start" in outcome.conclusion
    outcome, tried = _search(tmp_path / "c", {"c0": GOOD, "c1": WORSE, "c2": SAME})
    assert outcome.first_worse is None and tried == ["c0", "c2"]
    assert outcome.conclusion.startswith("the two ends do not differ beyond 1.0%: no significant change")
    small = (100.5, "worse", 0.005)  # worse, but within the threshold: not worse enough
    outcome, _ = _search(tmp_path / "d", {"c0": GOOD, "c1": small})
    assert outcome.first_worse is None
    outcome, _ = _search(tmp_path / "e", {"c0": NO_START, "c1": WORSE})
    assert outcome.first_worse is None and outcome.conclusion.startswith("the good end did not start")
    saved = json.loads((tmp_path / "e" / "results" / outcome.batch.name / "batch.json").read_text())
    assert saved["bisect"]["conclusion"] == outcome.conclusion and len(saved["bisect"]["tried"]) == 2
