"""`lab notebook` starts a real JupyterLab on notebooks/ (as root in CI, with no display), whose
REST API lists and serves the notebooks, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from lab.paths import NOTEBOOKS
from lab.processes.spawn import free_port
from tests.conftest import REPO

pytestmark = pytest.mark.system

# Seconds JupyterLab may take to start (it imports a great deal) and to stop.
START_S = 90
STOP_S = 15


def _api(port: int, token: str, path: str) -> object:
    url = f"http://127.0.0.1:{port}/api/contents{path}?token={token}&content=1"
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def test_lab_notebook_serves_the_notebooks(tmp_path: Path) -> None:
    # A test dependency (pyproject's `test` extra): missing, the environment is broken, not optional.
    assert shutil.which("jupyter-lab", path=os.path.dirname(sys.executable)), "pip install -e '.[test]'"
    port = free_port()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTER_CONFIG_DIR": str(tmp_path)}
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    process = subprocess.Popen([sys.executable, "-m", "lab", "notebook", "--port", str(port), "--",
                                "--ServerApp.shutdown_no_activity_timeout=600"], cwd=REPO, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    assert process.stdout is not None
    threading.Thread(target=lambda: lines.extend(process.stdout), daemon=True).start()  # type: ignore[arg-type]
    try:
        deadline = time.monotonic() + START_S
        # what a user on a machine without a browser opens: the address with its token, in full
        address = re.compile(rf"http://127\.0\.0\.1:{port}/lab\?token=([0-9a-f]{{16,}})")
        while (found := address.search("".join(lines))) is None:
            assert process.poll() is None, "".join(lines)
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.2)
        token = found.group(1)
        said = "".join(lines)
        assert "no display here" in said  # the URL with its token is what the user opens
        if os.geteuid() == 0:
            assert "running as root: passing --allow-root" in said

        listing = _api(port, token, "/")
        assert isinstance(listing, dict)
        names = sorted(item["name"] for item in listing["content"] if item["type"] == "notebook")
        assert names == sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
        notebook = _api(port, token, "/staged-comparison.ipynb")
        assert isinstance(notebook, dict)
        assert notebook["type"] == "notebook" and notebook["content"]["cells"][0]["cell_type"] == "markdown"

        process.send_signal(signal.SIGTERM)
        assert process.wait(STOP_S) == 0, "".join(lines)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
