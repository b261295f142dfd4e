"""`lab report`: a report of one batch — an index page (machine, command, headline table, the
speedup figure, the criteria) and the notebooks executed against it as pages without their code,
linked to each other — as HTML, with the figures as PNG too."""

from __future__ import annotations

import base64
import html
import io
import json
import os
import tempfile
from pathlib import Path

import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from nbconvert import HTMLExporter
from traitlets import default

from lab.analysis.batch import BASE_ENV, BATCH_ENV, RESULTS_ENV, Batch, open_batch
from lab.analysis.figures import speedup_figure
from lab.analysis.history import as_frame, history, history_figure
from lab.analysis.present import HTML_PAGE, as_html, show, summary_text
from lab.analysis.profile_page import PROFILE_PAGE, write_profile_page
from lab.analysis.summary import summarize
from lab.analysis.tables import TOP_FUNCTIONS, criteria_table, instructions_table, top_functions_table
from lab.model.machine import FACTS
from lab.paths import NOTEBOOKS, REPO
from lab.store.results import BATCH_INFO

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


# The index page's name: the report's front page.
INDEX = "index.html"
# What a page of the report keeps of a notebook: its text, tables and figures, not its code.
_EXPORTER = {"exclude_input": True, "exclude_input_prompt": True, "exclude_output_prompt": True}
# The machine and software facts batch.json records, as the index page lists them.
_FACTS = {"server_cpus": "server CPUs", "client_cpus": "load generator CPUs",
          **{fact.name: fact.label for fact in FACTS}}


def _title(stem: str) -> str:
    return stem.replace("-", " ").capitalize()


def _nav(pages: list[str]) -> str:
    """Links to every page of the report, the index first."""
    links = [f'<a href="{INDEX}">Report</a>'] + [f'<a href="{page}.html">{_title(page)}</a>' for page in pages]
    return "<nav>" + " · ".join(links) + "</nav>"


def _figure_png(figure: object) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")  # type: ignore[attr-defined]
    return buffer.getvalue()


def index_page(batch: Batch, info: dict[str, object], pages: list[str], figure_name: str) -> str:
    """The report's front page: what ran where, what it found, and the way to the rest."""
    facts = "".join(f"<tr><th>{html.escape(label)}</th><td>{html.escape(str(info[key]))}</td></tr>"
                    for key, label in _FACTS.items() if info.get(key) not in (None, ""))
    command = " ".join(str(part) for part in info.get("command", []))  # type: ignore[attr-defined]
    headline_html = show(summary_text(summarize(batch.runs, batch.counted)))
    criteria_html = show(criteria_table(batch))
    body = [
        f"<h1>Batch {html.escape(str(batch.name))}</h1>",
        f"<p>{len(batch.runs)} runs of {html.escape(', '.join(map(str, info.get('targets', []))))} under "  # type: ignore[call-overload]
        f"{html.escape(', '.join(map(str, info.get('scenarios', []))))}, {info.get('repeats', 1)} repeat(s), "  # type: ignore[call-overload]
        f"load from {html.escape(str(info.get('driver', 'locust')))}.</p>",
        f"<h2>The command</h2><p><code>{html.escape(command)}</code></p>",
        f"<h2>The machine</h2><table>{facts}</table>",
        "<h2>Medians per stage and scenario</h2>",
        "<p>Medians over repeats, with their range in brackets; CPU µs/req is the server's. A speedup over "
        "stage 0 is given only where both were server-bound; where the load generator was saturated the QPS is "
        "a floor (≥) and the speedup too.</p>",
        as_html(headline_html),
        "<h2>Speedup over stage 0</h2>",
        f'<p><img src="{figure_name}" alt="speedup over stage 0 per scenario, beside the roadmap\'s"></p>',
        "<h2>The roadmap's table, stage by stage</h2>",
        as_html(criteria_html),
        *_counted_section(batch),
        "<h2>More</h2><ul>" + "".join(f'<li><a href="{page}.html">{_title(page)}</a></li>' for page in pages)
        + "</ul>",
    ]
    return HTML_PAGE.format(title=f"qpslab report: {html.escape(str(batch.name))}", nav=_nav(pages), body="".join(body))


def _counted_section(batch: Batch) -> list[str]:
    """Instructions per request by stage and scenario, and where they go, for a counted batch."""
    if batch.counted.empty:
        return []
    return ["<h2>Instructions per request (counted)</h2>",
            "<p>The server's user-space instructions per request, counted under valgrind with one request in "
            "flight (<code>--instructions</code>): a unit that does not drift with the machine, so a 1% change "
            "shows. It misses the kernel's work (system calls per request stand for it), cache misses and "
            "waiting.</p>",
            as_html(show(instructions_table(batch))),
            f"<h3>Where the instructions go: each target's {TOP_FUNCTIONS} costliest functions</h3>",
            "<p>Instructions in each function's own code per request (medians of the counted runs): for a Python "
            "server these are CPython's, uvloop's, llhttp's and zlib's C functions.</p>",
            as_html(show(top_functions_table(batch)))]


# The report's page of the stages' histories (not a notebook: it reads every batch, not one).
HISTORY_PAGE = "history"
# What it shows of each stage × scenario this batch measured: QPS, and the count where counted.
HISTORY_METRICS = {"qps": "QPS", "instructions": "instructions per request"}


def history_page(batch: Batch, root: Path, nav: str, out: Path) -> list[Path]:
    """Each stage × scenario of this batch across every batch under `root`: a table and a figure
    per metric, each step judged against the batch before (lab history)."""
    pairs = batch.good_runs[batch.good_runs["stage"].notna()][["target_label", "scenario"]].drop_duplicates()
    body = ["<h1>The stages over time</h1>",
            "<p>Each stage × scenario of this batch in every batch under the results folder, oldest first, with "
            "its commit; each step judged against the batch before by <code>lab diff</code>'s test, all steps of "
            "one history at one family-wise 5%, and not judged where the machine or the measuring stack "
            "changed. <code>lab history TARGET SCENARIO --metric …</code> shows one.</p>"]
    written: list[Path] = []
    for target, scenario in pairs.itertuples(index=False):
        for metric, title in HISTORY_METRICS.items():
            points = history(root, target, scenario, metric)
            if not points:
                continue
            image = out / f"{HISTORY_PAGE}-{len(written) + 1}.png"
            image.write_bytes(_figure_png(history_figure(points, f"{target} × {scenario}: {title}", title)))
            written.append(image)
            frame = as_frame(points).drop(columns=["started_at"])
            body += [f"<h2>{html.escape(target)} × {html.escape(scenario)}: {title}</h2>",
                     f'<p><img src="{image.name}" alt="{html.escape(title)} of {html.escape(target)} over time"></p>',
                     as_html(show(frame))]
    page = out / f"{HISTORY_PAGE}.html"
    page.write_text(HTML_PAGE.format(title="qpslab: the stages over time", nav=nav, body="".join(body)))
    return [page, *written]


def _with_nav(page: str, nav: str) -> str:
    """An exported notebook with the report's links (if any) at the top of its body."""
    start = page.index("<body")
    end = page.index(">", start) + 1
    return page[:end] + nav + page[end:]


def write_report(batch: str, root: Path, against: str | None = None) -> list[Path]:
    """Execute every notebook for `batch` and write the index page, or with `against` (a batch id
    under `root`, or a batch directory) only the diff notebook; write <name>.html and
    <name>-<n>.png under root/batch/report/ (the diff as diff-<base>). Returns the files written."""
    out = root / batch / "report"
    out.mkdir(parents=True, exist_ok=True)
    written = []
    paths = notebook_paths() if against is None else [DIFF_NOTEBOOK]
    stems = [path.stem for path in paths] if against is None else [f"diff-{Path(against).name}"]
    if against is None:
        opened = open_batch(batch, root)
        # The profile page only where the batch was profiled (lab compare --profile).
        stems += [PROFILE_PAGE] if not opened.profiled.empty else []
        written += history_page(opened, root, _nav([*stems, HISTORY_PAGE]), out)
        if not opened.profiled.empty:
            written.append(write_profile_page(opened, _nav([*stems, HISTORY_PAGE]), out))
        figure = out / "index-1.png"
        figure.write_bytes(_figure_png(speedup_figure(opened)))
        info = json.loads((root / batch / BATCH_INFO).read_text())
        page = out / INDEX
        page.write_text(index_page(opened, info, [*stems, HISTORY_PAGE], figure.name))
        written += [page, figure]
    # A diff page stands alone: its batch may have no index.
    nav = _nav([*stems, HISTORY_PAGE]) if against is None else ""
    for path, stem in zip(paths, stems[:len(paths)], strict=True):
        notebook = execute(path, batch, root, against)
        exported, _ = HTMLExporter(**_EXPORTER).from_notebook_node(notebook)
        page = out / f"{stem}.html"
        page.write_text(_with_nav(exported, nav))
        written.append(page)
        figure_count = 0
        for cell in notebook.cells:
            for output in cell.get("outputs", []):
                png = output.get("data", {}).get("image/png")
                if png:
                    figure_count += 1
                    image = out / f"{stem}-{figure_count}.png"
                    image.write_bytes(base64.b64decode(png))
                    written.append(image)
    return written
