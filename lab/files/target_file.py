"""Target files: a server the lab starts, one TOML file per server in targets/, like scenarios.

    description = "what it is"
    command = ["{python}", "-m", "myserver", "--port", "{port}"]   # argv; {port}: a free port
    env = { WORKERS = "1" }       # added to the lab's environment; values may hold {port}
    cwd = "../myserver"           # relative to this file's folder (default: the lab's own)
    ready = "/"                   # polled until it answers, or "listening": it prints `listening on URL`
    install = "pip install myserver"   # shown when it cannot run here
    check = ["{python}", "-c", "import myserver"]   # exits 0 when it can (default: the command's
                                                    # program or `-m` module exists)
    version = ["myserver", "--version"]   # prints its runtime's and libraries' versions: each row
                                          # records them (target_version)

Validated whole before anything runs: a bad file is refused with its path and field.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, replace
from importlib.machinery import PathFinder
from pathlib import Path

from lab.files.toml_file import Fields, FileError, locate, read_toml
from lab.model.target import CALIBRATION_SERVER, CALIBRATION_TARGET, CLOSE_SWITCH, LISTENING, Target
from lab.paths import TARGET_DIR

PLACEHOLDERS = ("{port}", "{python}")
# Seconds a `check` may take: stage4-mypyc's compiles the core on first use (~10 s here).
CHECK_TIMEOUT_S = 600.0
# What looks like a placeholder: a name in braces (JSON in an env value is not one).
_PLACEHOLDER = re.compile(r"\{[A-Za-z_]\w*\}")


class TargetError(FileError):
    """A target file that cannot run; the message names the file and the field."""


class _Fields(Fields):
    error = TargetError


@dataclass(frozen=True)
class TargetFile:
    target: Target  # what `lab compare` measures: {python} already filled in, {port} left for each start
    description: str
    install: str  # the hint shown when it cannot run here
    check: tuple[str, ...]  # a command that exits 0 when it can; () for the default check
    path: str

    @property
    def name(self) -> str:
        return self.target.name


def _placeholders(fields: _Fields, key: str, values: tuple[str, ...]) -> None:
    for value in values:
        for found in _PLACEHOLDER.findall(value):
            if found not in PLACEHOLDERS:
                raise fields.fail(key, f"unknown placeholder {found} (known: {', '.join(PLACEHOLDERS)})")


def _filled(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(value.replace("{python}", sys.executable) for value in values)


def load_target(path: Path) -> TargetFile:
    """Parse and validate one file; raise TargetError naming the file and the field."""
    _, data = read_toml(path, TargetError)
    fields = _Fields(path, data, "")
    fields.check_unknown({"description", "command", "env", "cwd", "ready", "install", "check", "version", "closes"})
    description = fields.take("description", str)
    command = fields.strings("command")
    if not command or not command[0]:
        raise fields.fail("command", "needs at least the program to run")
    _placeholders(fields, "command", command)
    env = fields.take("env", dict, {})
    for name, value in env.items():
        if not isinstance(value, str):
            raise fields.fail(f"env.{name}", "must be a string")
    _placeholders(fields, "env", tuple(env.values()))
    ready = fields.take("ready", str, "/")
    if ready != LISTENING and not ready.startswith("/"):
        raise fields.fail("ready", f"must be a path to poll, like \"/health\", or \"{LISTENING}\"")
    if ready != LISTENING and not any("{port}" in part for part in (*command, *env.values())):
        raise fields.fail("command", "needs {port} (in the command or env) so the lab knows where to poll "
                                     f"{ready}, or ready = \"{LISTENING}\"")
    cwd = fields.take("cwd", str, None)
    if cwd is not None:
        cwd = str((path.parent / cwd).resolve())
        if not Path(cwd).is_dir():
            raise fields.fail("cwd", f"no directory {cwd}")
    install = fields.take("install", str, "")
    check = fields.strings("check", ())
    _placeholders(fields, "check", check)
    version = fields.strings("version", ())
    _placeholders(fields, "version", version)
    closes = fields.take("closes", bool, False)
    target = Target(path.stem, None, None, command=_filled(command),
                    env=tuple((name, value.replace("{python}", sys.executable)) for name, value in env.items()),
                    cwd=cwd, ready=ready, version=_filled(version), closes=closes)
    return TargetFile(target, description, install, _filled(check), str(path))


def target_files(directory: Path = TARGET_DIR) -> list[Path]:
    return sorted(directory.glob("*.toml"))


def find(name: str, directory: Path = TARGET_DIR) -> TargetFile:
    """A target by name (a file in `directory`) or by path; TargetError when there is none."""
    return load_target(locate(name, directory, "target", TargetError))


def unavailable(file: TargetFile) -> str | None:
    """Why the target cannot run on this machine (with its install hint), or None when it can."""
    reason = _check(file)
    if reason is None:
        return None
    return f"{file.name} cannot run here: {reason}" + (f"; install: {file.install}" if file.install else "")


def _check(file: TargetFile) -> str | None:
    target = file.target
    if file.check:
        try:
            done = subprocess.run(file.check, cwd=target.cwd, env={**os.environ, **dict(target.env)},
                                  capture_output=True, text=True, timeout=CHECK_TIMEOUT_S, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            return f"its check could not run ({error})"
        if done.returncode == 0:
            return None
        lines = (done.stderr or done.stdout).strip().splitlines()
        return f"its check failed: {lines[-1] if lines else f'exit {done.returncode}'}"
    program, *rest = target.command
    if program == sys.executable and rest[:1] == ["-m"] and len(rest) > 1:
        module = rest[1].split(":")[0]
        # `python -m` looks in its working directory first, then where the lab's interpreter does.
        top = module.split(".")[0]
        if PathFinder.find_spec(top, [target.cwd or os.getcwd()]) is not None:
            return None
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # a parent package is missing
            found = False
        return None if found else f"no Python module {module}"
    if program == sys.executable and rest and not rest[0].startswith("-"):
        script = Path(target.cwd or ".") / rest[0]
        return None if script.is_file() else f"no script {script}"
    # A program with a slash is found relative to cwd, as Popen finds it; a bare name on PATH.
    located = shutil.which(str(Path(target.cwd or ".") / program) if "/" in program else program)
    return None if located else f"no program {program}"


def calibration_target(closing: bool = False) -> Target:
    """The minimal server's file, run under the calibration name: the load generator's ceiling;
    `closing`: with --close (labelled so), its ceiling with a new connection per request."""
    target = replace(find(CALIBRATION_SERVER).target, name=CALIBRATION_TARGET)
    if not closing:
        return target
    return replace(target, command=(*target.command, CLOSE_SWITCH), args=(CLOSE_SWITCH,), closes=True)
