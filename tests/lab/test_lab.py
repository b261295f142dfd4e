"""The `lab` command end to end: real servers, real locust, parquet on disk, no orphans."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from lab.model.bottleneck import Side, bottleneck
from lab.store import results
from lab.store.columns import RUN_COLUMNS
from tests.conftest import ONE_USER, REPO, lab, root_of, start_server

# Every test here starts servers or the lab as processes: the slow tier (pytest -m system).
pytestmark = pytest.mark.system


def test_compare_writes_one_row_per_stage(quick_batch: tuple[pd.DataFrame, str]) -> None:
    runs, _ = quick_batch
    runs = runs[runs["target"] != "calibration"]
    assert sorted(runs["stage"]) == [0, 1, 2, 3, 4]
    assert runs["error"].isna().all(), runs["error"].tolist()
    assert runs["verified"].all()
    assert (runs["requests"] > 100).all()
    assert (runs["failures"] == 0).all()
    shares = ["server_cpu_busy", "server_cpus_idle", "generator_cpu_busy", "generator_cpus_idle",
              "generator_busiest_process_busy"]
    assert runs[shares].notna().all().all()  # the verdict below rests on measured shares, not on missing ones
    assert list(runs.sort_values("stage")["server_concurrency"].fillna(0)) == [1, 10, 0, 0, 0]  # each stage's /stats
    assert list(runs["bottleneck"]) == [
        bottleneck(Side(row.server_cpu_busy, row.server_cpus_idle),
                   Side(row.generator_cpu_busy, row.generator_cpus_idle, row.generator_busiest_process_busy),
                   users=row.users,
                   concurrency=None if pd.isna(row.server_concurrency) else int(row.server_concurrency),
                   asked_rate=None, qps=row.qps) for row in runs.itertuples()]
    assert runs["server_cpu_us_per_request"].notna().all() and (runs["server_cpu_us_per_request"] > 0).all()
    assert (runs["server_rss_peak_bytes"] > 1_000_000).all()
    assert runs["batch"].nunique() == 1 and runs["run_id"].is_unique
    assert (runs["qps"] - runs["requests"] / runs["duration_s"]).abs().max() < 1e-6
    assert (runs["driver"] == "locust").all()


def test_compare_first_calibrates_the_generator(quick_batch: tuple[pd.DataFrame, str]) -> None:
    """Two ceilings: the minimal server's for stage 4, which keeps its connections, and its
    --close one (a new connection per request) for stages 0-3, which close theirs."""
    runs = results.load(root_of(quick_batch))
    calibrations = runs[runs["target"] == "calibration"].set_index("target_label")
    assert sorted(calibrations.index) == ["calibration", "calibration --close"]
    assert list(calibrations["closing_ceiling"]) == [label.endswith("--close") for label in calibrations.index]
    for _, calibration in calibrations.iterrows():
        assert calibration["scenario"] == "one-user" and calibration["requests"] > 0 and pd.isna(calibration["error"])
        assert calibration["started_at"] <= runs[runs["stage"].notna()]["started_at"].min()  # before any stage
    stages = runs[runs["stage"].notna()].set_index("stage")
    for stage, row in stages.iterrows():
        ceiling = calibrations.loc["calibration --close" if stage < 4 else "calibration"]
        assert row["closing_ceiling"] == (stage < 4)
        assert row["generator_ceiling_qps"] == ceiling["qps"]
        assert row["generator_ceiling_share"] == pytest.approx(row["qps"] / ceiling["qps"])


def test_latency_has_microsecond_precision(quick_batch: tuple[pd.DataFrame, str]) -> None:
    runs, _ = quick_batch
    for _, run in runs.iterrows():
        percentiles = [run[c] for c in ("latency_p50_us", "latency_p90_us", "latency_p99_us")]
        assert percentiles == sorted(percentiles) and run["latency_min_us"] <= run["latency_p50_us"]
        assert any(value % 1000 for value in percentiles)  # not whole milliseconds
    # One user on loopback: answers take well under a millisecond (locust's stats would say 0 or 1).
    assert (runs["latency_p50_us"] < 1000).sum() >= 4, runs["latency_p50_us"].tolist()


def test_timeseries_and_histograms_cover_every_run(quick_batch: tuple[pd.DataFrame, str]) -> None:
    runs, _ = quick_batch
    batch = runs["batch"].iloc[0]
    series = results.load_timeseries(root_of(quick_batch), batch)
    assert set(series["run_id"]) == set(runs["run_id"])
    assert {"warmup", "measure"} <= set(series["phase"])
    measured = series[series["phase"] == "measure"].groupby("run_id")["requests"].sum()
    assert (measured > 0).all()
    histograms = results.load_histograms(root_of(quick_batch), batch)
    assert set(histograms["run_id"]) == set(runs["run_id"])


def test_summary_table_is_printed(quick_batch: tuple[pd.DataFrame, str]) -> None:
    _, stdout = quick_batch
    for stage in range(5):
        assert re.search(rf"stage{stage}\s+│\s+one-user\s+│\s+[\d,]+", stdout), stdout
    # One user at a time fills neither side: every stage's rate is that user's, and none has a speedup.
    for stage in range(5):
        assert re.search(rf"stage{stage}\s+│\s+one-user\s+│.*users: 1 user ÷", stdout), stdout
    assert "1.00x" not in stdout


def test_columns_are_the_documented_schema(quick_batch: tuple[pd.DataFrame, str]) -> None:
    assert list(quick_batch[0].columns) == list(RUN_COLUMNS)
    assert quick_batch[0]["latency_corrected_p99_us"].isna().all()  # closed loop: no correction


def test_lab_results_lists_and_summarizes(quick_batch: tuple[pd.DataFrame, str]) -> None:
    root = root_of(quick_batch)
    batch = quick_batch[0]["batch"].iloc[0]
    listing = lab("results", "--results", str(root))
    assert listing.returncode == 0 and batch in listing.stdout
    summary = lab("results", batch, "--results", str(root))
    assert summary.returncode == 0 and "stage4" in summary.stdout


def test_run_against_an_external_target(one_user: Path, tmp_path: Path) -> None:
    server = start_server(2)
    try:
        done = lab("run", "--target", server.url, "--scenario", str(one_user), "--duration", "1s", "--warmup", "1s",
                   "--results", str(tmp_path / "run"))
        compared = lab("compare", "--target", server.url, "--scenarios", str(one_user), "--quick",
                       "--results", str(tmp_path / "compare"))
    finally:
        server.stop()
    assert done.returncode == 0, done.stdout + done.stderr
    (run,) = results.load(tmp_path / "run").to_dict("records")
    assert run["target"] == "external" and run["url"] == server.url and run["requests"] > 0
    assert pd.isna(run["server_cpu_us_per_request"])  # the lab did not start it, so cannot sample it
    assert compared.returncode == 0, compared.stdout + compared.stderr
    # the URL instead of the stages, after the generator's calibration on the minimal server
    calibration, row = results.load(tmp_path / "compare").to_dict("records")
    assert calibration["target"] == "calibration" and calibration["requests"] > 0
    assert row["target"] == "external" and row["url"] == server.url and row["requests"] > 0
    assert row["generator_ceiling_qps"] == calibration["qps"]
    assert row["generator_ceiling_share"] == pytest.approx(row["qps"] / calibration["qps"])


@pytest.mark.parametrize(("args", "message"), [
    (("compare", "--stages", "7"), "unknown stage 7"),
    (("compare", "--stages", "a"), "stages must be numbers"),
    (("compare", "--scenarios", "nope"), "unknown scenario 'nope'"),
    (("compare", "--duration", "fast"), "--duration must look like"),
    (("compare", "--server-cpus", "99"), "--server-cpus 99: this process may use CPUs"),
    (("run", "--stage", "1", "--target", "http://127.0.0.1:1"), "exactly one of --stage N or --target URL"),
])
def test_bad_input_exits_2_with_a_message(args: tuple[str, ...], message: str, tmp_path: Path) -> None:
    done = lab(*args, "--results", str(tmp_path))
    assert done.returncode == 2
    assert message in done.stdout.replace("\n", " ")
    assert not any(tmp_path.iterdir())  # nothing ran


def test_bad_scenario_file_runs_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(ONE_USER.replace("users = 1", "users = -1"))
    out = tmp_path / "out"
    done = lab("compare", "--scenarios", str(bad), "--results", str(out))
    assert done.returncode == 2
    assert f"{bad}: load.users: must be >= 1" in done.stdout.replace("\n", "")
    assert not out.exists()


def test_lab_scenarios_lists_the_shipped_files() -> None:
    done = lab("scenarios")
    assert done.returncode == 0
    for name in ("plaintext", "io-wait", "many-connections"):
        assert name in done.stdout


def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_compare_keeps_rows_and_leaves_no_process(signum: int, one_user: Path, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "lab", "compare", "--stages", "0-4", "--scenarios", str(one_user),
               "--duration", "2s", "--warmup", "1s", "--results", str(tmp_path)]
    lab_process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen: dict[int, psutil.Process] = {}
    try:
        deadline = time.monotonic() + 60
        # Wait until the first run is written and the second is under way (server and locust up).
        while time.monotonic() < deadline:
            for child in _descendants(lab_process.pid):
                seen[child.pid] = child
            if list(tmp_path.glob("*/runs.parquet")) and len(_descendants(lab_process.pid)) >= 2:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the comparison never reached its second run")
        for child in _descendants(lab_process.pid):
            seen[child.pid] = child
        lab_process.send_signal(signum)
        assert lab_process.wait(20) == 130
    finally:
        if lab_process.poll() is None:
            lab_process.kill()
    _, alive = psutil.wait_procs(list(seen.values()), timeout=5)
    assert not alive, f"left behind: {[p.pid for p in alive]}"
    kept = results.load(tmp_path)
    assert len(kept) >= 1 and kept["error"].isna().all()


HOLD = """
description = "300 keep-alive users that mostly wait: connections held"
[load]
users = 300
spawn_rate = 300
duration = "2s"
warmup = "2s"
wait = { constant = "1s" }
[[request]]
path = "/plaintext"
"""


def run_text(tmp_path: Path, scenario_text: str, stage: int) -> dict[str, object]:
    """`lab run` of a scenario given as text against one stage; its single row."""
    scenario = tmp_path / "scenario.toml"
    scenario.write_text(scenario_text)
    done = lab("run", "--stage", str(stage), "--scenario", str(scenario), "--results", str(tmp_path / "out"))
    assert done.returncode == 0, done.stdout + done.stderr
    (run,) = results.load(tmp_path / "out").to_dict("records")
    return run


def test_connections_held_and_memory_per_connection(tmp_path: Path) -> None:
    run = run_text(tmp_path, HOLD, 4)
    assert 290 <= run["server_connections_peak"] <= 300  # the server's own gauge, not the client's count
    assert run["server_fds_peak"] >= run["server_connections_peak"]
    assert 290 <= run["server_fds_held_peak"] <= 310  # the kernel's count: the users' and the gauge's sockets
    assert 0 < run["server_rss_per_connection_bytes"] < 200_000


OPEN_LOOP = """
description = "open loop: 5 users at 40 req/s each against a server that can do ~45/s"
[load]
users = 5
duration = "3s"
warmup = "1s"
wait = { constant_rate = 40 }
[[request]]
path = "/delay/20"
"""


def test_open_loop_latency_from_due_times_shows_the_schedule_slipping(tmp_path: Path) -> None:
    """The raw client keeps its own schedule: asked 4x what stage 0 serves, each user falls
    further behind, and latency counted from the due time grows with the run (about 0.8 s per
    second of run here), while the service time of each request stays near 20 ms."""
    run = run_text(tmp_path, OPEN_LOOP, 0)
    assert run["client"] == "raw"
    assert run["latency_p50_us"] < 200_000  # service time: the 20 ms delay, plus waiting for stage 0
    assert run["latency_corrected_p50_us"] > 500_000
    assert run["latency_corrected_p50_us"] < run["latency_corrected_p99_us"] <= run["latency_corrected_p999_us"]
    assert run["qps"] < 0.5 * run["target_rate"]  # the server, not the schedule, set the rate


def test_open_loop_of_locust_clients_is_corrected_by_hdrhistogram(tmp_path: Path) -> None:
    run = run_text(tmp_path, OPEN_LOOP.replace("[load]", "[load]\nclient = \"fast\""), 0)
    # the correction's arithmetic is tested on the recorder; here: it reaches the row
    corrected = [run[f"latency_corrected_{p}_us"] for p in ("p50", "p99", "p999")]
    assert corrected == sorted(corrected) and corrected[0] > 1_000 and corrected[-1] <= run["latency_max_us"] * 1.01
