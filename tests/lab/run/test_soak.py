"""`lab soak` for real: stage 4 held at half its capacity for 40 s beside hostile clients of
every kind (slow heads and bodies, never-readers, resets mid-request and mid-response, churn)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.store import results
from tests.conftest import lab

pytestmark = pytest.mark.system


# Stage 4 alone in CI: it holds stage 3's pools and adds its own caches, and every stage's memory
# under plain load is held flat by tests/servers/test_leaks.py; `lab soak --stage N` soaks any.
@pytest.mark.parametrize("stage", [4])
def test_a_40_second_soak_beside_hostile_clients(stage: int, tmp_path: Path) -> None:
    done = lab("soak", "--stage", str(stage), "--duration", "40s", "--warmup", "10s", "--results", str(tmp_path),
               timeout=240)
    capacity, soaked = results.load(tmp_path).to_dict("records")
    assert capacity["scenario"] == "soak-capacity" and capacity["qps"] > 0 and capacity["slow_clients"] == 0
    assert soaked["target_rate"] == pytest.approx(0.5 * capacity["qps"])
    assert soaked["slow_clients"] == 60 and soaked["slow_kind"] == "mixed"
    # The repeating kinds keep coming: far more hostile connections than clients.
    assert soaked["slow_clients_opened"] > 10 * soaked["slow_clients"]
    assert soaked["qps"] > 0.9 * soaked["target_rate"], "the real load was not served at its rate"
    series = results.load_timeseries(tmp_path)
    series = series[(series["run_id"] == soaked["run_id"]) & (series["phase"] == "measure")]
    assert len(series) >= 39 and series["server_rss_bytes"].notna().all() and series["server_fds"].notna().all()
    assert series["server_open_connections"].notna().all()
    assert soaked["soak_verdict"] == "pass", (soaked["soak_verdict"], done.stdout[-2000:])
    assert done.returncode == 0, done.stdout + done.stderr
