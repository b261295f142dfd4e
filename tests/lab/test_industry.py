"""The roadmap's industry peers (industry/: Node.js, Go, Rust/hyper) run for real: each built from
the repository's sources, verified by the lab's pre-run check, answering the lab's routes as the
stages do; and a missing toolchain is one line naming what to install."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from lab.files.scenario_file import load_scenario
from lab.files.target_file import find, unavailable
from lab.model.target import LISTENING
from lab.paths import SCENARIO_DIR
from lab.peers import native
from lab.processes.spawn import ServerProcess
from lab.run.measure import target_version
from lab.run.verify import verify
from servers.core.app import HEALTH_BODY, PLAINTEXT_BODY, json_body
from servers.core.response import JSON, TEXT
from tests.client import RawClient, exchange, get
from tests.conftest import require_tool

PEERS = tuple(native.PEERS)


@pytest.fixture(scope="module", params=PEERS)
def peer(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """A started peer, as the lab starts it from its target file: (name, url)."""
    name = request.param
    file = find(name)
    reason = unavailable(file)  # builds it once, as `lab compare --with` does before any run
    require_tool(name, reason is None, reason or "")
    target = file.target
    server = ServerProcess("", (), None, target.command, env=target.env, cwd=target.cwd,
                           announces=target.ready == LISTENING)
    url = server.start()
    try:
        yield name, url
    finally:
        server.stop()


@pytest.mark.system
def test_the_lab_s_pre_run_check_verifies_each_peer(peer: tuple[str, str]) -> None:
    _, url = peer
    for scenario in ("plaintext", "json", "plaintext-pipelined", "io-wait"):
        assert verify(url, load_scenario(SCENARIO_DIR / f"{scenario}.toml")) == [], scenario


@pytest.mark.system
@pytest.mark.parametrize(("path", "content_type", "body"), [
    ("/plaintext", TEXT, PLAINTEXT_BODY),
    ("/json", JSON, json_body()),
    ("/health", TEXT, HEALTH_BODY),
    ("/delay/0", TEXT, PLAINTEXT_BODY),
])
def test_a_peer_answers_the_stages_bytes(peer: tuple[str, str], path: str, content_type: bytes, body: bytes) -> None:
    name, url = peer
    answer = exchange(url, get(path))
    assert (answer.status, answer.body) == (200, body)
    assert answer.header("content-type") == content_type.decode()
    assert answer.header("content-length") == str(len(body))
    assert answer.header("server") == name and (answer.header("date") or "").endswith(" GMT")


@pytest.mark.system
def test_a_peer_waits_bounds_and_refuses_as_the_stages_do(peer: tuple[str, str]) -> None:
    _, url = peer
    started = time.monotonic()
    assert exchange(url, get("/delay/200")).status == 200
    assert time.monotonic() - started >= 0.195
    assert exchange(url, get("/delay/1001")).status == 400  # past servers/core/limits.py's MAX_DELAY_MS
    assert exchange(url, get("/nowhere")).status == 404


@pytest.mark.system
def test_a_peer_keeps_connections_alive_and_answers_a_pipeline_in_order(peer: tuple[str, str]) -> None:
    _, url = peer
    with RawClient(url) as client:
        client.send(get("/plaintext") + get("/json") + get("/health"))
        bodies = [answer.body for answer in (client.read(), client.read(), client.read()) if answer is not None]
        assert bodies == [PLAINTEXT_BODY, json_body(), HEALTH_BODY]
        client.send(get("/plaintext"))  # the same connection, again
        again = client.read()
        assert again is not None and again.body == PLAINTEXT_BODY


@pytest.mark.system
def test_each_row_records_what_the_peer_runs_on(peer: tuple[str, str]) -> None:
    name, _ = peer
    version = target_version(find(name).target)
    expected = {"node": "v", "go": "go version go", "rust-hyper": "rustc "}[name]
    assert version is not None and version.startswith(expected), version
    if name == "rust-hyper":
        assert "hyper 0.14" in version and "tokio 1." in version


@pytest.mark.parametrize("name", PEERS)
def test_a_missing_toolchain_is_one_line_naming_what_to_install(name: str, monkeypatch: pytest.MonkeyPatch,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(native.shutil, "which", lambda program: None)
    assert native.main([name, "--build"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"qpslab: {name} needs ") and f": {native.PEERS[name].install}" in line
    assert "apt-get install" in line


def test_rust_hyper_without_debian_s_crates_says_which_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: object,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(native.shutil, "which", lambda program: f"/usr/bin/{program}")
    monkeypatch.setattr(native, "CRATES", native.Path(str(tmp_path)))
    assert native.main(["rust-hyper", "--build"]) == 1
    (line,) = capsys.readouterr().err.splitlines()  # before any build begins
    assert f"needs Debian's crates in {tmp_path}" in line and "librust-hyper-dev librust-tokio-dev" in line


def test_an_unknown_peer_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert native.main(["nginx", "--port", "8080"]) == 2
    assert "usage: python -m lab.peers.native {node,go,rust-hyper}" in capsys.readouterr().err
