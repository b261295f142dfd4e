"""The shipped target files (uvicorn, granian, socketify, stage4-mypyc) measured next to the stages,
on the same routes and scenarios."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lab.peers import build, compiled
from lab.store import results
from tests.conftest import lab, require_tool

# Every test here starts servers or the lab as processes: the slow tier (pytest -m system).
pytestmark = pytest.mark.system


def test_peers_run_in_the_same_batch(one_user: Path, tmp_path: Path) -> None:
    require_tool("socketify", _socketify_loads(),
                 "pip install -e '.[peers]' and apt-get install libuv1")
    done = lab("compare", "--stages", "4", "--with", "uvicorn,granian,socketify", "--scenarios", str(one_user),
               "--quick", "--results", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    runs = results.load(tmp_path).set_index("target")
    assert set(runs.index) == {"calibration", "stage4", "uvicorn", "granian", "socketify"}
    for peer in ("uvicorn", "granian", "socketify"):
        run = runs.loc[peer]
        assert run["error"] is None or run["error"] != run["error"], run["error"]
        assert run["verified"] and run["requests"] > 100 and run["failures"] == 0
        assert run["server_cpu_us_per_request"] > 0  # the lab started it, so it sampled it
        assert run["server_exit_code"] is not None


def _socketify_loads() -> bool:
    return subprocess.run([sys.executable, "-m", "lab.peers.socketify_app", "--check"], capture_output=True,
                          check=False).returncode == 0


def test_unknown_target_is_a_usage_error(tmp_path: Path) -> None:
    done = lab("compare", "--with", "nginx", "--results", str(tmp_path))
    assert done.returncode == 2 and "unknown target 'nginx'" in done.stdout
    assert "known: go, granian, minimal, node, rust-hyper, socketify" in " ".join(done.stdout.split())


def test_ceiling_preset(tmp_path: Path) -> None:
    done = lab("compare", "--preset", "ceiling", "--stages", "4", "--scenarios", "plaintext", "--duration", "1s",
               "--warmup", "1s", "--results", str(tmp_path))
    if shutil.which("wrk") is None:
        assert done.returncode == 2 and "apt-get install wrk" in done.stdout
        return
    assert done.returncode == 0, done.stdout + done.stderr
    runs = results.load(tmp_path)
    assert (runs["driver"] == "wrk").all()
    # --stages 4 and --scenarios beat the preset's 2-4 and its three scenarios
    assert sorted(set(runs["target"])) == ["calibration", "granian", "minimal", "socketify", "stage4", "stage4-mypyc",
                                           "uvicorn"]
    assert sorted(set(runs["scenario"])) == ["plaintext"]
    assert runs["error"].isna().all() and (runs["requests"] > 0).all()


def test_compiled_core_peer_runs_the_compiled_modules(one_user: Path, tmp_path: Path) -> None:
    done = lab("compare", "--stages", "4", "--with", "stage4-mypyc", "--scenarios", str(one_user), "--quick",
               "--results", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    run = results.load(tmp_path).set_index("target").loc["stage4-mypyc"]
    assert run["verified"] and run["requests"] > 100 and run["failures"] == 0
    assert run["server_cpu_us_per_request"] > 0
    # The peer refuses to start on the interpreted core, so a row means the extensions loaded.
    assert list((compiled.compiled_tree() / "servers" / "core").glob("connection.*.so"))


def test_compiled_core_without_a_compiler_says_what_to_install(monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    monkeypatch.setattr(build, "CACHE", tmp_path)
    monkeypatch.setattr(compiled.shutil, "which", lambda name: None)
    with pytest.raises(build.BuildError, match=r"needs a C compiler: .*apt-get install gcc"):
        compiled.compiled_tree()
    assert not any(tmp_path.iterdir())
