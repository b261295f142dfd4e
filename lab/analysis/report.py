"""`lab report`: execute the notebooks against one batch; write HTML and the figures as PNG."""

from __future__ import annotations

import base64
import os
import tempfile
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter
from traitlets import default

from lab.analysis.batch import BASE_ENV, BATCH_ENV, RESULTS_ENV
from lab.paths import NOTEBOOKS, REPO

# Seconds one notebook cell may run; plotting a large batch takes a few seconds.
CELL_TIMEOUT_S = 300


class ReportError(Exception):
    pass


class _LocalKernelManager(KernelManager):
    """A kernel on IPC sockets: it is local, and TCP makes it warn about plain-text traffic."""

    @default("transport")
    def _default_transport(self) -> str:
        return "ipc"

    @default("ip")
    def _default_ip(self) -> str:
        # The sockets' path prefix; jupyter's default is relative, so a killed kernel would
        # leave socket files in whatever directory `lab report` ran from.
        return os.path.join(tempfile.gettempdir(), f"qpslab-kernel-{os.getpid()}")


# The notebook of two batches: rendered by `lab report NEW --against BASE`, not for one batch.
DIFF_NOTEBOOK = NOTEBOOKS / "diff.ipynb"


def notebook_paths() -> list[Path]:
    """The notebooks of one batch."""
    return [path for path in sorted(NOTEBOOKS.glob("*.ipynb")) if path != DIFF_NOTEBOOK]


def execute(path: Path, batch: str, root: Path, base: str | None = None) -> nbformat.NotebookNode:
    """Run one notebook against `batch` (and `base`, the diff's batch before) in a fresh kernel;
    raise ReportError naming the cell."""
    notebook = nbformat.read(path, as_version=4)
    previous = {key: os.environ.get(key) for key in (BATCH_ENV, RESULTS_ENV, BASE_ENV)}
    os.environ[BATCH_ENV] = batch
    os.environ[RESULTS_ENV] = str(root.resolve())
    if base is not None:
        os.environ[BASE_ENV] = base
    try:
        NotebookClient(notebook, kernel_name="python3", timeout=CELL_TIMEOUT_S,
                       kernel_manager_class=_LocalKernelManager,
                       resources={"metadata": {"path": str(REPO)}}).execute()
    except CellExecutionError as error:
        raise ReportError(f"{path.name}: {str(error).strip().splitlines()[-1]}") from None
    finally:
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return notebook


def write_report(batch: str, root: Path, against: str | None = None) -> list[Path]:
    """Execute every notebook for `batch`, or with `against` (a batch id under `root`, or a batch
    directory) only the diff notebook; write <name>.html and <name>-<n>.png under
    root/batch/report/ (the diff as diff-<base>). Returns the files written."""
    out = root / batch / "report"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in notebook_paths() if against is None else [DIFF_NOTEBOOK]:
        notebook = execute(path, batch, root, against)
        html, _ = HTMLExporter().from_notebook_node(notebook)
        stem = path.stem if against is None else f"diff-{Path(against).name}"
        page = out / f"{stem}.html"
        page.write_text(html)
        written.append(page)
        figure = 0
        for cell in notebook.cells:
            for output in cell.get("outputs", []):
                png = output.get("data", {}).get("image/png")
                if png:
                    figure += 1
                    image = out / f"{stem}-{figure}.png"
                    image.write_bytes(base64.b64decode(png))
                    written.append(image)
    return written
