"""The machine and software facts every run records, each declared once (pyperf's _metadata.py is
the model): its column, how the report labels it, what it means, where it comes from, and whether
a difference between two batches makes their numbers unlike. lab.model.record.Machine holds the
values (a test keeps its fields and this registry the same), lab.store.columns declares their
columns from here, lab.run.environment reads them, and the report and lab diff list them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Fact:
    name: str  # the column of runs.parquet and the key of batch.json
    label: str  # as the report's machine table names it
    meaning: str  # the column's documentation
    package: str | None = None  # a distribution whose version it is (importlib.metadata)
    compared: bool = True  # a difference between two batches is warned about (lab diff, lab history)
    integer: bool = False  # its column holds an int (else a string)


FACTS = (
    Fact("cpu_model", "CPU", "processor model"),
    Fact("cpu_count", "CPUs", "logical CPUs of the machine", compared=False, integer=True),
    Fact("hostname", "host", "machine name"),
    Fact("platform", "platform", "OS and kernel", compared=False),
    Fact("python_version", "Python", "Python running servers and locust"),
    Fact("locust_version", "locust", "locust version", "locust"),
    Fact("gevent_version", "gevent", "gevent version (locust's event loop: it shapes the load generator's speed)",
         "gevent"),
    Fact("greenlet_version", "greenlet", "greenlet version (gevent's coroutines)", "greenlet"),
    Fact("uvloop_version", "uvloop", "uvloop version", "uvloop"),
    Fact("httptools_version", "httptools", "httptools (llhttp) version", "httptools"),
    Fact("orjson_version", "orjson", "orjson version (/json's serializer, in the stages and the Python peers)",
         "orjson"),
    Fact("git_commit", "qpslab commit", "qpslab commit (-dirty: with uncommitted changes)", compared=False),
)
# The facts whose difference makes two batches unlike, and valgrind's (a counted run's own fact).
COMPARED = (*(fact.name for fact in FACTS if fact.compared), "valgrind_version")
