"""`lab notebook`: JupyterLab on notebooks/, wherever users run it (as root, with no display)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys

from rich.console import Console
from rich.markup import escape

from lab.paths import NOTEBOOKS

INSTALL_HINT = "`.venv/bin/pip install -e '.[notebook]'` (or run `make notebook`)"


def add(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("notebook", help="open JupyterLab on notebooks/ (flags for JupyterLab after --)")
    parser.add_argument("--port", type=int, help="port to listen on (default: JupyterLab's, 8888 or the next free)")
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default 127.0.0.1; 0.0.0.0 only on a network you trust)")
    parser.add_argument("jupyter_args", nargs="*", help="JupyterLab's own flags, after --")
    parser.set_defaults(handler=handle)


def jupyterlab_argv(jupyter: str, args: argparse.Namespace, as_root: bool,
                    has_display: bool) -> tuple[list[str], list[str]]:
    """JupyterLab's command line, and one line for the user per flag added on their behalf."""
    argv = [jupyter, f"--ServerApp.root_dir={NOTEBOOKS}", f"--ip={args.host}"]
    said = []
    if args.port is not None:
        argv.append(f"--port={args.port}")
    if as_root:
        # JupyterLab refuses root without it; in containers and CI images root is the norm.
        argv.append("--allow-root")
        said.append("running as root: passing --allow-root to JupyterLab")
    if not has_display:
        argv.append("--no-browser")
        said.append("no display here: open the http://…?token=… address JupyterLab prints below")
    return [*argv, *args.jupyter_args], said


def handle(args: argparse.Namespace, console: Console) -> int:
    search = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    jupyter = shutil.which("jupyter-lab", path=search)
    if jupyter is None:
        console.print(f"[red]lab notebook: JupyterLab is not installed; install it with {escape(INSTALL_HINT)}[/red]")
        return 1
    has_display = sys.platform == "darwin" or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    argv, said = jupyterlab_argv(jupyter, args, os.geteuid() == 0, has_display)
    for line in said:
        console.print(f"lab notebook: {line}")
    sys.stdout.flush()
    os.execv(jupyter, argv)
