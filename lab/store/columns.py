"""The columns of runs.parquet and timeseries.parquet, in order, with units (README lists them)."""

from __future__ import annotations

RUN_COLUMNS: dict[str, str] = {
    "batch": "id of the comparison (UTC start time + random suffix)",
    "run_id": "id of this run",
    "started_at": "UTC start, ISO 8601",
    "repeat": "0-based repeat index (--repeats)",
    "target": "stage0 … stage4, a peer, external, or calibration (the minimal server, measuring the load "
              "generator's ceiling on this scenario)",
    "target_label": "target plus its extra server flags",
    "stage": "roadmap stage number; empty for an external target",
    "server_args": "extra flags given to the server",
    "scenario": "scenario id (its file name)",
    "scenario_hash": "sha256 of the scenario file",
    "driver": "load generator: locust, or wrk (native, for ceilings; no time series or histogram)",
    "users": "concurrent simulated users (one connection each)",
    "spawn_rate": "users started per second",
    "duration_s": "measured seconds",
    "warmup_s": "unmeasured seconds before them",
    "client": "locust client: raw (the lab's own HTTP/1.1 user on a socket), fast (FastHttpUser) or http (HttpUser)",
    "processes": "locust processes generating load",
    "pipeline": "requests sent at once per connection before reading answers (wrk)",
    "load_level": "--sweep: the fraction of this target's measured capacity asked for; empty otherwise",
    "target_rate": "open-loop runs: requests per second the users together meant to send",
    "slow_clients": "hostile connections held beside the load ([load] slow_clients; 0: none)",
    "slow_kind": "what they were slow at: header (a request head trickled), body (a body trickled), reader (never "
                 "reads its large answers)",
    "slow_clients_opened": "slow clients that got a connection",
    "slow_clients_closed_by_server": "slow clients whose connection the server closed during the run (a defence "
                                     "at work, or a timeout)",
    "server_cpus": "CPUs the server was pinned to",
    "client_cpus": "CPUs locust was pinned to",
    "cpu_model": "processor model",
    "cpu_count": "logical CPUs of the machine",
    "hostname": "machine name",
    "platform": "OS and kernel",
    "python_version": "Python running servers and locust",
    "locust_version": "locust version",
    "gevent_version": "gevent version (locust's event loop: it shapes the load generator's speed)",
    "uvloop_version": "uvloop version",
    "httptools_version": "httptools (llhttp) version",
    "git_commit": "qpslab commit (-dirty: with uncommitted changes)",
    "error": "why the run failed (server did not start, died, …); empty for a good run",
    "url": "address measured",
    "verified": "true if every scenario request passed the pre-run check",
    "verify_problems": "what the pre-run check found",
    "requests": "successful requests completed in the measured window",
    "failures": "failed requests in the window (wrong status, errors)",
    "failure_ratio": "failures / (requests + failures)",
    "top_error": "most frequent failure message",
    "qps": "requests per second of the measured window",
    "bytes_per_s": "response bytes per second (locust: bodies; wrk: whole responses)",
    "latency_mean_us": "mean latency, µs",
    "latency_min_us": "fastest request, µs",
    "latency_max_us": "slowest request, µs",
    "latency_p50_us": "median latency, µs (HdrHistogram, 3 significant digits)",
    "latency_p75_us": "75th percentile, µs",
    "latency_p90_us": "90th percentile, µs",
    "latency_p95_us": "95th percentile, µs",
    "latency_p99_us": "99th percentile, µs",
    "latency_p999_us": "99.9th percentile, µs",
    "latency_corrected_mean_us": "open-loop scenarios (wait = constant_rate): mean latency counted from when each "
                                 "request was due (raw client, as wrk2), or corrected for coordinated omission by "
                                 "HdrHistogram (fast, http), µs; empty otherwise",
    "latency_corrected_p50_us": "the same, median, µs",
    "latency_corrected_p99_us": "the same, 99th percentile, µs",
    "latency_corrected_p999_us": "the same, 99.9th percentile, µs",
    "load_processes_reporting": "locust processes (or wrk threads) whose tallies were merged",
    "server_cpu_s": "server CPU seconds (user + system, whole process tree) in the window",
    "server_cpu_busy": "server_cpu_s / window / pinned server CPUs, fraction",
    "server_cpu_us_per_request": "server CPU µs per request: ranks servers even when the generator saturates",
    "projected_qps_one_core": "1e6 / server_cpu_us_per_request: QPS of one fully busy server core",
    "server_system_cpu_share": "fraction of server_cpu_s spent in the kernel (sockets, syscalls): the part of "
                               "the cost no change to the Python code can lower",
    "server_rss_peak_bytes": "peak resident memory of the server tree in the window, bytes",
    "server_fds_peak": "peak open file descriptors of the server tree in the window (sockets + files)",
    "server_connections_peak": "peak open connections the server itself counted (/stats, read each second)",
    "server_rss_idle_bytes": "server resident memory when the load began, bytes",
    "server_rss_per_connection_bytes": "(server_rss_peak_bytes - server_rss_idle_bytes) / server_connections_peak, "
                                       "bytes; only with ≥ 100 connections",
    "server_fds_idle": "open descriptors of the server tree before the load and any hostile clients began",
    "server_fds_after": "soaks: its open descriptors once the load and hostile clients were gone and it "
                        "had settled (back to server_fds_idle, or after 7 s)",
    "server_rss_growth": "RSS at the end of the window over RSS at its start, minus 1 (medians of the first "
                         "and last tenth of the measured seconds): growth after the warm-up",
    "server_fds_growth": "open descriptors at the end of the window minus at its start (same medians)",
    "latency_p99_drift": "per-second p99 at the end of the window over at its start, minus 1 (same medians)",
    "soak_verdict": "lab soak: pass, or fail with its reasons (real-load errors, RSS growth ≥ 2%, "
                    "descriptors not back to idle); empty for other runs",
    "generator_cpu_s": "locust CPU seconds in the window",
    "generator_cpu_busy": "generator_cpu_s / window / pinned client CPUs, fraction",
    "generator_busiest_process_busy": "CPU share of the busiest locust process in the window, as it measured "
                                      "itself (covers workers on other machines); empty for wrk",
    "generator_ceiling_qps": "closed-loop runs: req/s the load generator made on this scenario against the minimal "
                             "server in the same repeat (the `calibration` run): its ceiling here; empty without "
                             "calibration",
    "generator_ceiling_share": "qps / generator_ceiling_qps: near 1, the generator set the pace",
    "latency_floor_mean_us": "open-loop runs: the minimal server's latency_corrected_mean_us at the same schedule in "
                             "the same repeat (the `calibration` run): what the machine and the generator cost a "
                             "request before any server work, µs; empty without calibration",
    "latency_floor_p50_us": "the same floor's latency_corrected_p50_us, µs",
    "latency_floor_p99_us": "the same floor's latency_corrected_p99_us, µs",
    "bottleneck": "generator if generator_cpu_busy or generator_busiest_process_busy ≥ 0.90 (its numbers are "
                  "then a floor), else server",
    "server_exit_code": "exit code of the server after SIGTERM (0: clean stop)",
}

TIMESERIES_COLUMNS: dict[str, str] = {
    "run_id": "the run (joins runs.parquet)",
    "second": "seconds since the run's first request",
    "phase": "warmup, measure, or after (the short tail after the window)",
    "requests": "requests completed in that second (successes and failures)",
    "failures": "failed requests in that second",
    "latency_p50_us": "median latency of that second's successes, µs",
    "latency_p99_us": "99th percentile of that second's successes, µs",
    "latency_max_us": "slowest success of that second, µs",
    "server_rss_bytes": "server tree's resident memory at that second's end, bytes",
    "server_fds": "server tree's open descriptors at that second's end",
    "server_open_connections": "connections the server counted open at that second's end (qpslab's /stats)",
}

HISTOGRAM_COLUMNS: dict[str, str] = {
    "run_id": "the run (joins runs.parquet)",
    "histogram": "the window's latency HdrHistogram in µs, base64 (lab.model.hdr.decode)",
}
