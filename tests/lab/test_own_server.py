"""Measuring your own server: a target file for a tiny server this test writes, run by `lab compare`
exactly like a stage (started, verified, sampled, stopped), and the lab on an OS that cannot pin."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import psutil
import pytest
from rich.console import Console

import oscalls
from lab.cli import options
from lab.files.scenario_file import load_scenario
from lab.files.target_file import load_target
from lab.model.target import stage_target
from lab.run import measure as measuring
from lab.store import results
from tests.conftest import ONE_USER, lab

pytestmark = pytest.mark.system

# A server a user might have: the standard library's, one thread, HTTP/1.1 keep-alive, the
# headers the lab's verification asks for; it logs every request to stdout. The port comes from
# $PORT (the target file's env) or, with --announce, from the kernel, printed as the lab's
# `listening on` line.
TINY = textwrap.dedent('''
    import os, sys
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        wbufsize = 1 << 16  # head and body in one write: two would wait on delayed ACKs (40 ms)

        def do_GET(self):
            body = b'{"message":"Hello, World!"}' if self.path == "/json" else b"Hello, World!"
            self.send_response(200 if self.path in ("/", "/plaintext", "/json") else 404)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            print("request", *args)  # 100k+ lines: a pipe nobody reads would block the server

    announce = "--announce" in sys.argv
    server = HTTPServer(("127.0.0.1", 0 if announce else int(os.environ["PORT"])), Handler)
    print("tiny server starting in", os.getcwd(), flush=True)
    if announce:
        print(f"listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()
''')


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    server = tmp_path / "tiny-server"
    server.mkdir()
    (server / "tiny.py").write_text(TINY)
    return tmp_path


def test_a_target_file_is_measured_like_a_stage(tiny: Path, tmp_path: Path) -> None:
    polled = _write(tiny, "tiny.toml", 'description = "the standard library\'s http.server"\n'
                                      'command = ["{python}", "tiny.py"]\ncwd = "tiny-server"\n'
                                      'env = { PORT = "{port}" }\nready = "/"\n')
    announced = _write(tiny, "tiny-announced.toml", 'description = "the same, announcing its port"\n'
                                                    'command = ["{python}", "tiny.py", "--announce"]\n'
                                                    'cwd = "tiny-server"\nready = "listening"\n')
    scenario = _write(tiny, "one-user.toml", ONE_USER)
    root = tmp_path / "results"
    done = lab("compare", "--stages", "4", "--with", f"{polled},{announced}", "--scenarios", str(scenario), "--quick",
               "--no-calibrate", "--results", str(root))
    assert done.returncode == 0, done.stdout + done.stderr
    runs = results.load(root).set_index("target")
    assert set(runs.index) == {"stage4", "tiny", "tiny-announced"}
    for name in ("tiny", "tiny-announced"):
        run = runs.loc[name]
        assert run["error"] is None or run["error"] != run["error"], run["error"]
        assert run["verified"] and run["requests"] > 100 and run["failures"] == 0
        # The lab started it, so it pinned and sampled it: CPU and memory, as for a stage.
        assert run["server_cpu_us_per_request"] > 0 and run["server_rss_peak_bytes"] > 1_000_000
        assert run["server_cpus"] == "0" and run["server_exit_code"] is not None
    assert not [p for p in psutil.process_iter(["cmdline"]) if "tiny.py" in " ".join(p.info["cmdline"] or [])]


def test_a_server_that_never_gets_ready_is_a_failed_run_not_a_hang(tiny: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    file = load_target(_write(tiny, "silent.toml", 'description = "binds nothing"\n'
                                                   'command = ["{python}", "-c", "import time; time.sleep(60)"]\n'
                                                   'env = { PORT = "{port}" }\n'))
    monkeypatch.setattr(measuring, "READY_TIMEOUT_S", 1.0)
    pinning = measuring.Pinning(frozenset({0}), frozenset({1}))
    outcome = measuring.measure(file.target, load_scenario(_write(tiny, "one-user.toml", ONE_USER)), pinning,
                                batch="b", repeat=0)
    assert outcome.row["error"].startswith("/ did not answer within 1 s")
    assert outcome.row["server_exit_code"] is not None  # stopped, not left behind


def test_without_cpu_affinity_the_lab_runs_unpinned_and_says_so(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """macOS and the BSDs have no sched_setaffinity: simulated by taking it away from `os`."""
    monkeypatch.delattr(os, "sched_setaffinity")
    monkeypatch.delattr(os, "sched_getaffinity")
    assert oscalls.allowed_cpus() is None
    console = Console(record=True, width=200)
    parser = options.argparse.ArgumentParser()
    parser.add_argument("--server-cpus")
    parser.add_argument("--client-cpus")
    pinning = options.pinning(parser.parse_args([]), console)
    assert not pinning.pinned and pinning.server_cpus == pinning.client_cpus == frozenset(range(os.cpu_count() or 1))
    assert console.export_text().count("cannot pin processes to CPUs") == 1
    with pytest.raises(options.UsageError, match="--server-cpus/--client-cpus: this operating system cannot pin"):
        options.pinning(parser.parse_args(["--server-cpus", "0"]), console)
    # A real run, unpinned: the server starts (no affinity call in the child), is measured, and
    # the row's pinning columns are empty while its CPU share is counted over every CPU.
    outcome = measuring.measure(stage_target(4), load_scenario(_write(tmp_path, "one.toml", ONE_USER))
                                .with_load(duration=1.0, warmup=0.5), pinning, batch="b", repeat=0)
    row = outcome.row
    assert row["error"] is None, row["error"]
    assert row["server_cpus"] is None and row["client_cpus"] is None
    assert row["requests"] > 100 and row["server_cpu_us_per_request"] > 0
    assert row["server_cpu_busy"] is not None and row["generator_cpu_busy"] is not None
