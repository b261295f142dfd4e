"""The `lab` command's parsing and its pure decisions, in memory (no server, no locust)."""

from __future__ import annotations

import argparse
import io

import pytest
from rich.console import Console

from lab.cli import COMMANDS, parser
from lab.cli import notebook as notebook_command
from lab.paths import NOTEBOOKS


@pytest.mark.parametrize("command", [c.__name__.rsplit(".", 1)[-1] for c in COMMANDS])
def test_every_command_has_a_working_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parser().parse_args([command, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: lab {command}") and "--help" in out


def _notebook_args(*argv: str) -> argparse.Namespace:
    return parser().parse_args(["notebook", *argv])


def test_notebook_as_root_without_a_display_says_what_it_adds() -> None:
    argv, said = notebook_command.jupyterlab_argv("/bin/jupyter-lab", _notebook_args(), as_root=True,
                                                  has_display=False)
    assert argv == ["/bin/jupyter-lab", f"--ServerApp.root_dir={NOTEBOOKS}", "--ip=127.0.0.1", "--allow-root",
                    "--no-browser"]
    assert len(said) == 2 and "--allow-root" in said[0] and "token" in said[1]


def test_notebook_as_a_user_with_a_display_adds_nothing() -> None:
    argv, said = notebook_command.jupyterlab_argv("/bin/jupyter-lab", _notebook_args(), as_root=False,
                                                  has_display=True)
    assert "--allow-root" not in argv and "--no-browser" not in argv and said == []


def test_notebook_passes_port_host_and_jupyterlab_flags_through() -> None:
    args = _notebook_args("--port", "8899", "--host", "0.0.0.0", "--", "--ServerApp.token=abc", "--debug")
    argv, _ = notebook_command.jupyterlab_argv("/bin/jupyter-lab", args, as_root=False, has_display=True)
    assert argv[2:] == ["--ip=0.0.0.0", "--port=8899", "--ServerApp.token=abc", "--debug"]


def test_notebook_without_jupyterlab_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notebook_command.shutil, "which", lambda *_, **__: None)
    out = io.StringIO()
    code = notebook_command.handle(_notebook_args(), Console(file=out, width=200))
    assert code == 1
    assert "pip install -e '.[notebook]'" in out.getvalue() and "make notebook" in out.getvalue()
