"""The columns of every results file, each declared once: its name, type, unit and meaning.

The producers of a run's numbers return typed parts (lab.model.record) whose fields are these
names; BatchWriter refuses a value of the wrong type; docs/results.md's column tables are generated
from here (`python -m lab.store.columns` prints them; a test holds docs/results.md to them).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from numbers import Integral, Real
from typing import Literal

from lab.model.machine import FACTS

Dtype = Literal["string", "int", "float", "bool"]
STRING: Dtype = "string"
INT: Dtype = "int"
FLOAT: Dtype = "float"
BOOL: Dtype = "bool"


@dataclass(frozen=True)
class Column:
    name: str
    dtype: Dtype
    unit: str  # "" where the value is a name, a count of nothing in particular, or a flag
    meaning: str

    def accepts(self, value: object) -> bool:
        """True for a value of this column's type (None: not measured, always allowed)."""
        if value is None:
            return True
        if self.dtype == BOOL:
            return isinstance(value, bool)
        if isinstance(value, bool):  # a bool is an int to Python, never to a reader of the column
            return False
        if self.dtype == INT:
            return isinstance(value, Integral)
        if self.dtype == FLOAT:
            return isinstance(value, Real)
        return isinstance(value, str)


def _declare(*columns: Column) -> dict[str, Column]:
    return {column.name: column for column in columns}


RUN_COLUMNS = _declare(
    Column("batch", STRING, "",
           "id of the comparison (UTC start time + random suffix)"),
    Column("run_id", STRING, "",
           "id of this run"),
    Column("started_at", STRING, "ISO 8601",
           "UTC start, ISO 8601"),
    Column("repeat", INT, "",
           "0-based repeat index (--repeats)"),
    Column("target", STRING, "",
           "stage0 … stage4, a peer, external, or calibration (the minimal server, measuring the load generator's "
           "ceiling on this scenario)"),
    Column("target_label", STRING, "",
           "target plus its extra server flags"),
    Column("target_version", STRING, "",
           "what the target's `version` command printed (a target file's: runtime and library versions); "
           "empty for the stages, whose versions are the python_, uvloop_ and httptools_version columns"),
    Column("closing_ceiling", BOOL, "",
           "read against the generator's ceiling with a new connection per request: the target closes every "
           "connection (stages 0-3, stage 4 --no-keep-alive, a target file's `closes`) under a closed loop of "
           "single requests, so its calibration run is the minimal server's with --close"),
    Column("stage", INT, "",
           "roadmap stage number; empty for an external target"),
    Column("server_args", STRING, "",
           "extra flags given to the server"),
    Column("scenario", STRING, "",
           "scenario id (its file name)"),
    Column("scenario_hash", STRING, "sha256",
           "sha256 of the scenario file"),
    Column("driver", STRING, "",
           "load generator: locust, or wrk (native, for ceilings; no time series or histogram)"),
    Column("users", INT, "",
           "concurrent simulated users (one connection each)"),
    Column("spawn_rate", FLOAT, "users/s",
           "users started per second"),
    Column("duration_s", FLOAT, "s",
           "measured seconds"),
    Column("warmup_s", FLOAT, "s",
           "unmeasured seconds before them"),
    Column("client", STRING, "",
           "locust client: raw (the lab's own HTTP/1.1 user on a socket), fast (FastHttpUser) or http (HttpUser)"),
    Column("processes", INT, "",
           "locust processes generating load"),
    Column("pipeline", INT, "requests",
           "requests sent at once per connection before reading their answers (raw client, wrk)"),
    Column("load_level", FLOAT, "fraction",
           "--sweep: the fraction of this target's measured capacity asked for; empty otherwise"),
    Column("target_rate", FLOAT, "req/s",
           "open-loop runs: requests per second the users together meant to send"),
    Column("slow_clients", INT, "connections",
           "hostile connections held beside the load ([load] slow_clients; 0: none)"),
    Column("slow_kind", STRING, "",
           "what they did (lab.hostile.clients): header or body (trickled, slowloris), reader (never reads its "
           "large answers), reset-request, reset-response, churn, or mixed (all of them)"),
    Column("slow_clients_opened", INT, "connections",
           "slow clients that got a connection"),
    Column("slow_clients_closed_by_server", INT, "connections",
           "slow clients whose connection the server closed during the run (a defence at work, or a timeout)"),
    Column("server_cpus", STRING, "CPU list",
           "CPUs the server was pinned to"),
    Column("client_cpus", STRING, "CPU list",
           "CPUs locust was pinned to"),
    *(Column(fact.name, INT if fact.integer else STRING, "CPUs" if fact.integer else "", fact.meaning)
      for fact in FACTS),
    Column("error", STRING, "",
           "why the run failed (server did not start, died, …); empty for a good run"),
    Column("url", STRING, "",
           "address measured"),
    Column("verified", BOOL, "",
           "true if every scenario request passed the pre-run check"),
    Column("verify_problems", STRING, "",
           "what the pre-run check found"),
    Column("requests", INT, "requests",
           "successful requests completed in the measured window"),
    Column("failures", INT, "requests",
           "failed requests in the window (wrong status, errors)"),
    Column("retried_requests", INT, "requests",
           "of the requests, those the raw client sent again on a new connection because the server closed a "
           "reused one under them before answering (its keep-alive timeout crossing the request; RFC 9112 "
           "§9.3.1); empty for wrk, which does not say"),
    Column("failure_ratio", FLOAT, "fraction",
           "failures / (requests + failures)"),
    Column("top_error", STRING, "",
           "most frequent failure message"),
    Column("qps", FLOAT, "req/s",
           "requests per second of the measured window"),
    Column("bytes_per_s", FLOAT, "bytes/s",
           "response bytes per second (locust: bodies; wrk: whole responses)"),
    Column("latency_mean_us", FLOAT, "µs",
           "mean latency"),
    Column("latency_min_us", FLOAT, "µs",
           "fastest request"),
    Column("latency_max_us", FLOAT, "µs",
           "slowest request"),
    Column("latency_p50_us", FLOAT, "µs",
           "median latency (HdrHistogram, 3 significant digits)"),
    Column("latency_p75_us", FLOAT, "µs",
           "75th percentile"),
    Column("latency_p90_us", FLOAT, "µs",
           "90th percentile"),
    Column("latency_p95_us", FLOAT, "µs",
           "95th percentile"),
    Column("latency_p99_us", FLOAT, "µs",
           "99th percentile"),
    Column("latency_p999_us", FLOAT, "µs",
           "99.9th percentile"),
    Column("latency_corrected_mean_us", FLOAT, "µs",
           "open-loop scenarios (wait = constant_rate): mean latency counted from when each request was due (raw "
           "client, as wrk2), or corrected for coordinated omission by HdrHistogram (fast, http); empty otherwise"),
    Column("latency_corrected_p50_us", FLOAT, "µs",
           "the same, median"),
    Column("latency_corrected_p99_us", FLOAT, "µs",
           "the same, 99th percentile"),
    Column("latency_corrected_p999_us", FLOAT, "µs",
           "the same, 99.9th percentile"),
    Column("load_processes_reporting", INT, "processes",
           "locust processes (or wrk threads) whose tallies were merged"),
    Column("server_cpu_s", FLOAT, "s",
           "server CPU seconds (user + system, whole process tree) in the window"),
    Column("server_cpu_busy", FLOAT, "fraction",
           "server_cpu_s / window / pinned server CPUs"),
    Column("server_cpus_idle", FLOAT, "fraction",
           "idle share of the server's CPUs in the window, whoever else used them (the kernel's network work is "
           "in no process's time): below 0.10 they were full"),
    Column("server_cpu_us_per_request", FLOAT, "µs",
           "server CPU µs per request: ranks servers even when the generator saturates"),
    Column("projected_qps_one_core", FLOAT, "req/s",
           "1e6 / server_cpu_us_per_request: QPS of one fully busy server core"),
    Column("server_system_cpu_share", FLOAT, "fraction",
           "fraction of server_cpu_s spent in the kernel (sockets, syscalls): the part of the cost no change to the "
           "Python code can lower"),
    Column("server_rss_peak_bytes", INT, "bytes",
           "peak resident memory of the server tree in the window"),
    Column("server_fds_peak", INT, "descriptors",
           "peak open file descriptors of the server tree in the window (sockets + files)"),
    Column("server_connections_peak", INT, "connections",
           "peak open connections the server itself counted (/stats, read each second)"),
    Column("server_rss_idle_bytes", INT, "bytes",
           "server resident memory when the load began"),
    Column("server_fds_held_peak", INT, "descriptors",
           "server_fds_peak minus the descriptors open when server_rss_idle_bytes was read: the connections the "
           "server held, as the kernel counts them (/stats cannot count them while the server's limit is full: "
           "its own request waits for a place)"),
    Column("server_rss_per_connection_bytes", FLOAT, "bytes",
           "(server_rss_peak_bytes - server_rss_idle_bytes) / server_fds_held_peak; only with ≥ 100 held"),
    Column("server_fds_idle", INT, "descriptors",
           "open descriptors of the server tree before the load and any hostile clients began"),
    Column("server_fds_after", INT, "descriptors",
           "soaks: its open descriptors once the load and hostile clients were gone and it had settled (back to "
           "server_fds_idle, or after 7 s)"),
    Column("server_rss_growth", FLOAT, "fraction",
           "RSS at the end of the window over RSS at its start, minus 1 (medians of the first and last tenth of the "
           "measured seconds): growth after the warm-up"),
    Column("server_rss_growth_bytes", INT, "bytes",
           "the same growth in bytes (end median minus start median)"),
    Column("server_fds_growth", FLOAT, "descriptors",
           "open descriptors at the end of the window minus at its start (same medians)"),
    Column("latency_p99_drift", FLOAT, "fraction",
           "per-second p99 at the end of the window over at its start, minus 1 (same medians)"),
    Column("soak_verdict", STRING, "",
           "lab soak: pass, or fail with its reasons (real-load errors, RSS growth ≥ 2% and ≥ 2 MiB, descriptors not "
           "back to idle); empty for other runs"),
    Column("generator_cpu_s", FLOAT, "s",
           "locust CPU seconds in the window"),
    Column("generator_cpu_busy", FLOAT, "fraction",
           "generator_cpu_s / window / pinned client CPUs"),
    Column("generator_cpus_idle", FLOAT, "fraction",
           "idle share of the client CPUs in the window: below 0.10 they were full"),
    Column("generator_busiest_process_busy", FLOAT, "fraction",
           "CPU share of the busiest locust process in the window, as it measured itself (covers workers on other "
           "machines); empty for wrk"),
    Column("generator_ceiling_qps", FLOAT, "req/s",
           "closed-loop runs: req/s the load generator made on this scenario against the minimal server in the same "
           "repeat (the `calibration` run): its ceiling here; empty without calibration"),
    Column("generator_ceiling_share", FLOAT, "fraction",
           "qps / generator_ceiling_qps: near 1, the generator set the pace"),
    Column("latency_floor_mean_us", FLOAT, "µs",
           "open-loop runs: the minimal server's latency_corrected_mean_us at the same schedule in the same repeat "
           "(the `calibration` run): what the machine and the generator cost a request before any server work; empty"
           " without calibration"),
    Column("latency_floor_p50_us", FLOAT, "µs",
           "the same floor's latency_corrected_p50_us"),
    Column("latency_floor_p99_us", FLOAT, "µs",
           "the same floor's latency_corrected_p99_us"),
    Column("server_concurrency", INT, "",
           "requests the server serves at once by its design, as its /stats says (stage 0: 1, stage 1: its threads); "
           "empty where only its connection limit bounds them, or it has no /stats"),
    Column("bottleneck", STRING, "",
           "what held the rate (lab/model/bottleneck.py): a side is full when its busy share ≥ 0.90 (a locust "
           "process's too) or its CPUs' idle < 0.10; both full: both (the server's capacity is between qps and qps / "
           "server_cpu_busy); server full, or neither and server_concurrency < users: server; generator full: "
           "generator (qps is a floor); neither, an open loop at ≥ 95% of its rate: schedule; else users (users ÷ "
           "latency set the rate)"),
    Column("server_exit_code", INT, "",
           "exit code of the server after SIGTERM (0: clean stop)"),
)

TIMESERIES_COLUMNS = _declare(
    Column("run_id", STRING, "",
           "the run (joins runs.parquet)"),
    Column("second", INT, "s",
           "seconds since the run's first request"),
    Column("phase", STRING, "",
           "warmup, measure, or after (the short tail after the window)"),
    Column("requests", INT, "requests",
           "requests completed in that second (successes and failures)"),
    Column("failures", INT, "requests",
           "failed requests in that second"),
    Column("latency_p50_us", FLOAT, "µs",
           "median latency of that second's successes"),
    Column("latency_p99_us", FLOAT, "µs",
           "99th percentile of that second's successes"),
    Column("latency_max_us", FLOAT, "µs",
           "slowest success of that second"),
    Column("server_rss_bytes", INT, "bytes",
           "server tree's resident memory at that second's end"),
    Column("server_fds", INT, "descriptors",
           "server tree's open descriptors at that second's end"),
    Column("server_open_connections", INT, "connections",
           "connections the server counted open at that second's end (qpslab's /stats)"),
)

HISTOGRAM_COLUMNS = _declare(
    Column("run_id", STRING, "",
           "the run (joins runs.parquet)"),
    Column("histogram", STRING, "base64",
           "the window's latency HdrHistogram in µs, base64 (lab.model.hdr.decode)"),
)


# A counted run (lab compare --instructions): the server under valgrind, a fixed number of requests
# counted in instructions; the columns it shares with runs.parquet mean the same there.
_SHARED_WITH_RUNS = ("batch", "run_id", "started_at", "repeat", "target", "target_label", "target_version", "stage",
                     "server_args", "scenario", "scenario_hash", "pipeline", "server_cpus", "cpu_model", "cpu_count",
                     "hostname", "platform", "python_version", "locust_version", "gevent_version",
                     "greenlet_version", "uvloop_version", "httptools_version", "orjson_version", "git_commit",
                     "server_exit_code")
COUNTED_COLUMNS = {name: RUN_COLUMNS[name] for name in _SHARED_WITH_RUNS} | _declare(
    Column("warmup_requests", INT, "requests",
           "requests sent before counting began (counting off: the server's caches and Python's specialized "
           "code warmed)"),
    Column("counted_requests", INT, "requests",
           "requests answered with their expected status while counting was on: the scenario's mix in order, "
           "one connection, one request (or pipelined batch) in flight"),
    Column("counted_failures", INT, "requests",
           "requests that failed while counting was on (a run with any is an error: its count is not per answer)"),
    Column("counted_wall_s", FLOAT, "s",
           "wall time of the counted window (under valgrind: tens of times slower than the server runs natively)"),
    Column("server_instructions", INT, "instructions",
           "user-space instructions the server tree executed in the window (callgrind's Ir)"),
    Column("server_instructions_per_request", FLOAT, "instructions",
           "server_instructions / counted_requests: does not move with the machine's speed or load; misses the "
           "kernel's work, cache misses and waiting"),
    Column("server_syscalls_per_request", FLOAT, "syscalls",
           "system calls the server made in the window / counted_requests (callgrind --collect-systime): the part "
           "of a request's cost spent in the kernel, which instructions do not count"),
    Column("valgrind_version", STRING, "",
           "valgrind that counted (a count depends on the software: valgrind, Python and the libraries)"),
    Column("error", STRING, "",
           "why the counted run failed (valgrind missing, the server did not start under it, requests failed); "
           "empty for a good run"),
)

FUNCTION_COLUMNS = _declare(
    Column("run_id", STRING, "",
           "the counted run (joins counted.parquet)"),
    Column("rank", INT, "",
           "1 for the function with the most inclusive instructions per request"),
    Column("object", STRING, "",
           "the ELF object the function is in (python3.11, libc.so.6, uvloop's loop….so, httptools' parser….so)"),
    Column("function", STRING, "",
           "the function's symbol (a C function: for a Python server, CPython's, uvloop's, llhttp's, zlib's)"),
    Column("self_instructions_per_request", FLOAT, "instructions",
           "instructions in the function's own code / counted_requests"),
    Column("inclusive_instructions_per_request", FLOAT, "instructions",
           "… and in what it called (a call into itself counted once)"),
)

# A profiled run (lab compare --profile): a timed run of the same load with a sampling profiler
# attached to the server for its window; every timed column means what it does in runs.parquet,
# measured with the profiler's cost on the server (its qps against the timed runs' is that cost).
PROFILED_COLUMNS = RUN_COLUMNS | _declare(
    Column("profiler", STRING, "",
           "py-spy (a Python server: its Python frames, a C function's time in its caller's) or perf (a native one)"),
    Column("profiler_version", STRING, "",
           "what the profiler's --version printed"),
    Column("profile_rate_hz", INT, "samples/s",
           "samples the profiler asked for per second"),
    Column("profile_samples", INT, "samples",
           "stacks sampled while the server ran (not idle) in the window"),
)

PROFILE_FUNCTION_COLUMNS = _declare(
    Column("run_id", STRING, "",
           "the profiled run (joins profiled.parquet)"),
    Column("rank", INT, "",
           "1 for the function with the most inclusive samples"),
    Column("function", STRING, "",
           "the frame as the profiler named it: py-spy's \"function (file:first line)\" for Python, \"symbol "
           "(file)\" or perf's \"symbol (object)\" for native code"),
    Column("self_samples", INT, "samples",
           "samples in which the function was running its own code (the stack's leaf)"),
    Column("inclusive_samples", INT, "samples",
           "samples in which it was anywhere in the stack (once per stack, however deep it recursed)"),
    Column("self_us_per_request", FLOAT, "µs",
           "self_samples / profile_samples × the run's server_cpu_us_per_request: the function's own CPU time "
           "per request, so that every function's add up to the run's CPU per request"),
    Column("inclusive_us_per_request", FLOAT, "µs",
           "the same for inclusive_samples: its own time and what it called"),
)

STACK_COLUMNS = _declare(
    Column("run_id", STRING, "",
           "the profiled run (joins profiled.parquet)"),
    Column("stack", STRING, "",
           "the frames of one distinct stack, root first, joined by ';' (the folded format flame graphs are "
           "drawn from)"),
    Column("samples", INT, "samples",
           "how many of the run's samples were this stack"),
)


def markdown_table(columns: dict[str, Column]) -> str:
    """The docs' table of one file's columns."""
    lines = ["| column | type | unit | meaning |", "|---|---|---|---|"]
    lines += [f"| `{c.name}` | {c.dtype} | {c.unit} | {c.meaning} |" for c in columns.values()]
    return "\n".join(lines)


FILES = {"runs.parquet": RUN_COLUMNS, "timeseries.parquet": TIMESERIES_COLUMNS, "histograms.parquet": HISTOGRAM_COLUMNS,
         "counted.parquet": COUNTED_COLUMNS, "functions.parquet": FUNCTION_COLUMNS,
         "profiled.parquet": {name: c for name, c in PROFILED_COLUMNS.items() if name not in RUN_COLUMNS},
         "profile_functions.parquet": PROFILE_FUNCTION_COLUMNS, "stacks.parquet": STACK_COLUMNS}


# What a file's table does not show.
_BEFORE_TABLE = {"profiled.parquet": "Every column of runs.parquet, then:\n\n"}


def column_tables() -> str:
    """Every file's table under its name, as docs/results.md shows them."""
    return "\n\n".join(f"**{name}**\n\n{_BEFORE_TABLE.get(name, '')}{markdown_table(columns)}"
                         for name, columns in FILES.items()) + "\n"


if __name__ == "__main__":
    sys.stdout.write(column_tables())
