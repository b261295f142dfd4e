"""The roadmap's industry comparison as peers: Node.js, Go and Rust (hyper on tokio) servers whose
sources live in industry/, each one process with one thread of execution, like the stages.

    python -m lab.peers.native NAME --port N     build NAME if needed, then become its server
    python -m lab.peers.native NAME --build      build it if needed and exit (the target's check)
    python -m lab.peers.native NAME --version    the runtime and libraries it was built with

Go and Rust are compiled once per version of their sources into the user's cache (build.py);
Node runs its script as it is. A missing toolchain is one line naming what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lab.paths import REPO
from lab.peers.build import BuildError, built

INDUSTRY = REPO / "industry"
# Debian's crate packages, which cargo builds from offline (industry/rust-hyper/.cargo/config.toml).
CRATES = Path("/usr/share/cargo/registry")
# Seconds a build may take: hyper, tokio and their dependencies compile in about 2 min on 2 cores.
BUILD_TIMEOUT_S = 900
_VERSION = "VERSION"


def _run(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, check=False,
                          env={**os.environ, **(env or {})})
    if done.returncode != 0:
        tail = " | ".join((done.stdout + done.stderr).strip().splitlines()[-6:])
        raise BuildError(f"{' '.join(argv[:2])} failed: {tail}")
    return done.stdout.strip()


def _build_go(source: Path, tree: Path) -> str:
    cache = tree / "go-cache"  # inside the build: no ~/go, no shared state between versions
    _run(["go", "build", "-trimpath", "-o", str(tree / "server"), "."], source,
         {"GOCACHE": str(cache), "GOPATH": str(cache / "path"), "GOFLAGS": "-mod=mod", "CGO_ENABLED": "0"})
    shutil.rmtree(cache, ignore_errors=True)
    return _run(["go", "version"], source)


def _build_cargo(source: Path, tree: Path) -> str:
    work = tree / "src"
    shutil.copytree(source, work)  # cargo writes Cargo.lock beside Cargo.toml: not into the repo
    _run(["cargo", "build", "--release", "--offline", "--quiet"], work, {"CARGO_TARGET_DIR": str(tree / "target")})
    shutil.copy2(tree / "target" / "release" / "qpslab-rust-hyper", tree / "server")
    locked = (work / "Cargo.lock").read_text()
    crates = [f"{name} {_locked_version(locked, name)}" for name in ("hyper", "tokio", "serde_json")]
    shutil.rmtree(tree / "target")
    return ", ".join([_run(["rustc", "--version"], source), *crates])


def _locked_version(lock: str, crate: str) -> str:
    marker = f'name = "{crate}"\nversion = "'
    at = lock.find(marker)
    return lock[at + len(marker):lock.index('"', at + len(marker))] if at >= 0 else "?"


@dataclass(frozen=True)
class Peer:
    name: str
    toolchain: tuple[str, ...]  # programs it needs on PATH
    install: str  # what gives them, in one line
    build: Callable[[Path, Path], str] | None  # (sources, tree) → the version line; None: nothing to build
    command: tuple[str, ...]  # argv to serve; "{tree}" is the build, "{source}" its sources
    version: tuple[str, ...] = ()  # argv printing the version, for peers not built
    crates: str = ""  # a glob that must match in CRATES: the Debian crate packages it builds from


PEERS = {
    "node": Peer("node", ("node",), "apt-get install nodejs", None,
                 ("node", "{source}/server.js"), ("node", "--version")),
    "go": Peer("go", ("go",), "apt-get install golang-go", _build_go, ("{tree}/server",)),
    "rust-hyper": Peer("rust-hyper", ("cargo", "rustc"),
                       "apt-get install cargo librust-hyper-dev librust-tokio-dev librust-serde-json-dev",
                       _build_cargo, ("{tree}/server",), crates="hyper-0.14*"),
}


def prepare(peer: Peer) -> tuple[Path, str]:
    """The peer's build (its sources, for a peer not built) and its version line."""
    missing = [tool for tool in peer.toolchain if shutil.which(tool) is None]
    if missing:
        raise BuildError(f"{peer.name} needs {', '.join(missing)}: {peer.install}")
    if peer.crates and not any(CRATES.glob(peer.crates)):
        raise BuildError(f"{peer.name} needs Debian's crates in {CRATES} ({peer.crates} is not there): {peer.install}")
    source = INDUSTRY / peer.name
    build = peer.build
    if build is None:
        return source, _run(list(peer.version), source)

    def make(tree: Path) -> None:
        (tree / _VERSION).write_text(build(source, tree) + "\n")

    # Built anew for another toolchain too (a path per tool: an upgrade in place is not seen).
    toolchain = " ".join(f"{tool}={shutil.which(tool)}" for tool in peer.toolchain)
    tree = built(peer.name, source, f"{sys.platform} {toolchain}", make)
    return tree, (tree / _VERSION).read_text().strip()


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in PEERS:
        print(f"usage: python -m lab.peers.native {{{','.join(PEERS)}}} --port N | --build | --version",
              file=sys.stderr)
        return 2
    peer, rest = PEERS[argv[0]], argv[1:]
    try:
        tree, version = prepare(peer)
    except BuildError as error:
        print(f"qpslab: {error}", file=sys.stderr)
        return 1
    if rest == ["--build"]:
        return 0
    if rest == ["--version"]:
        print(version)
        return 0
    source = INDUSTRY / peer.name
    command = [part.format(tree=tree, source=source) for part in peer.command]
    os.execvpe(command[0], [*command, *rest], {**os.environ, "GOMAXPROCS": "1"})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
