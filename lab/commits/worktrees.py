"""A repository's commits, each checked out in a worktree of its own: the user's working tree is
never touched, and every worktree made is removed again, on an error or Ctrl-C too."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Seconds one git command may take (a checkout of a large tree).
GIT_TIMEOUT_S = 120.0


class GitError(Exception):
    """A git command failed; the message says which and what git said."""


def git(repository: Path, *args: str) -> str:
    try:
        done = subprocess.run(["git", "-C", str(repository), *args], capture_output=True, text=True,
                              timeout=GIT_TIMEOUT_S, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise GitError(f"git {' '.join(args)}: {error}") from None
    if done.returncode != 0:
        raise GitError(f"git {' '.join(args)}: {' '.join(done.stderr.split()) or 'failed'}")
    return done.stdout.strip()


def commits_between(repository: Path, good: str, bad: str) -> list[str]:
    """`good`, then every commit on the way from it to `bad` (bad last), oldest first; GitError
    when either is not a commit or `good` is not an ancestor of `bad`."""
    good_sha, bad_sha = (git(repository, "rev-parse", "--verify", f"{rev}^{{commit}}") for rev in (good, bad))
    try:
        git(repository, "merge-base", "--is-ancestor", good_sha, bad_sha)
    except GitError:
        raise GitError(f"{good} is not an ancestor of {bad}: nothing to bisect between them") from None
    between = git(repository, "rev-list", "--reverse", "--ancestry-path", f"{good_sha}..{bad_sha}").split()
    return [good_sha, *between]


def subject(repository: Path, commit: str) -> str:
    return git(repository, "log", "-1", "--format=%h %s", commit)


class Worktrees:
    """Worktrees of one repository under a temporary folder, each removed when done with."""

    def __init__(self, repository: Path) -> None:
        self.repository = repository
        self._root = Path(tempfile.mkdtemp(prefix="qpslab-bisect-"))

    @contextmanager
    def checkout(self, commit: str) -> Iterator[Path]:
        path = self._root / commit[:12]
        git(self.repository, "worktree", "add", "--detach", "--force", str(path), commit)
        try:
            yield path
        finally:
            self._remove(path)

    def _remove(self, path: Path) -> None:
        try:
            git(self.repository, "worktree", "remove", "--force", str(path))
        except GitError:
            shutil.rmtree(path, ignore_errors=True)
            git(self.repository, "worktree", "prune")

    def close(self) -> None:
        shutil.rmtree(self._root, ignore_errors=True)
        git(self.repository, "worktree", "prune")
