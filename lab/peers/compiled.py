"""Stage 4 with its sans-IO core compiled to C by mypyc: what a compiler buys, as a peer.

Not a stage: the roadmap's steps are I/O and protocol work, and the reference servers stay
plain Python that a reader can step through. This peer answers the next question, measured in
the same batch: how much of stage 4's cost is the interpreter running the core? The core is
typed (mypy strict), so mypyc compiles it unchanged; the compiled copy is built once per source
version into a cache directory and never shadows the repository's own servers.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from lab.paths import SERVERS
from lab.peers.build import BuildError, built

INSTALL_HINT = "pip install -e '.[peers]' (mypyc comes with mypy) and a C compiler (apt-get install gcc)"
# Seconds mypyc may take; compiling the core takes about 10 s on a 2-core machine.
BUILD_TIMEOUT_S = 600
# Run by the peer's process: the compiled copy first on sys.path, then stage 4's own main. It
# refuses to run the interpreted core by accident, which would measure plain stage 4 again.
BOOT = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); import servers.core.connection as c; "
    "c.__file__.endswith('.py') and sys.exit('qpslab: the compiled core did not load: ' + c.__file__); "
    "from servers.stage4_protocol import main; main()"
)


def compiled_tree() -> Path:
    """A directory holding a `servers` package whose core modules are mypyc extensions; built on
    first use for these sources and this Python, then reused."""
    return built("mypyc", SERVERS, sys.version, _compile)


def _compile(tree: Path) -> None:
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        raise BuildError(f"the compiled core needs a C compiler: {INSTALL_HINT}")
    try:
        import mypyc  # noqa: F401
    except ImportError:
        raise BuildError(f"the compiled core needs mypyc: {INSTALL_HINT}") from None
    shutil.copytree(SERVERS, tree / "servers", ignore=shutil.ignore_patterns("__pycache__"))
    core = sorted(str(p.relative_to(tree)) for p in (tree / "servers" / "core").glob("*.py") if p.name != "__init__.py")
    done = subprocess.run([sys.executable, "-m", "mypyc", *core], cwd=tree, capture_output=True, text=True,
                          timeout=BUILD_TIMEOUT_S, check=False)
    if done.returncode != 0:
        tail = " | ".join((done.stdout + done.stderr).strip().splitlines()[-5:])
        raise BuildError(f"mypyc could not compile the core: {tail}")
    shutil.rmtree(tree / "build", ignore_errors=True)


def main(argv: list[str]) -> int:
    """`--build`: build the compiled core if needed and exit (targets/stage4-mypyc.toml's check);
    otherwise become stage 4 on the compiled core, with these arguments (`--port N`)."""
    try:
        tree = compiled_tree()
    except BuildError as error:
        print(f"qpslab: {error}", file=sys.stderr)
        return 1
    if argv == ["--build"]:
        return 0
    os.execv(sys.executable, [sys.executable, "-c", BOOT, str(tree), *argv])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
