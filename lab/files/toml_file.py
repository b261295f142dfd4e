"""Reading the lab's TOML files (scenarios, targets): every error names the file and the field."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from lab.model.scenario import parse_duration


class FileError(ValueError):
    """A file the lab cannot use; the message names the file and the field."""


def read_toml(path: Path, error: type[FileError]) -> tuple[bytes, dict[str, Any]]:
    """The file's bytes (for its digest) and its parsed table."""
    try:
        raw = path.read_bytes()
    except OSError as problem:
        raise error(f"{path}: cannot read: {problem.strerror}") from None
    try:
        return raw, tomllib.loads(raw.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as problem:
        raise error(f"{path}: not valid TOML: {problem}") from None


def locate(name: str, directory: Path, kind: str, error: type[FileError]) -> Path:
    """A file by id (`name` → directory/name.toml) or by path; an error naming the known ids."""
    path = Path(name)
    if not (name.endswith(".toml") or "/" in name):
        path = directory / f"{name}.toml"
    if not path.is_file():
        known = ", ".join(p.stem for p in sorted(directory.glob("*.toml")))
        raise error(f"unknown {kind} {name!r} (no file {path}); known: {known}")
    return path


class Fields:
    """Reads one TOML table, naming file and field in every error, and refusing unknown keys."""

    error: type[FileError] = FileError  # what a subclass's errors are raised as

    def __init__(self, path: Path, table: dict[str, Any], prefix: str) -> None:
        self.path = path
        self.table = table
        self.prefix = prefix

    def fail(self, key: str, message: str) -> FileError:
        return self.error(f"{self.path}: {self.prefix}{key}: {message}")

    def take(self, key: str, kind: type | tuple[type, ...], default: Any = ..., ) -> Any:
        if key not in self.table:
            if default is ...:
                raise self.fail(key, "is required")
            return default
        value = self.table[key]
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise self.fail(key, f"must be {_kind_name(kind)}, got {value!r}")
        if not isinstance(value, kind):
            raise self.fail(key, f"must be {_kind_name(kind)}, got {value!r}")
        return value

    def strings(self, key: str, default: Any = ...) -> Any:
        """A list of strings, as a tuple."""
        if key not in self.table and default is not ...:
            return default
        value = self.take(key, list)
        if not all(isinstance(item, str) for item in value):
            raise self.fail(key, "must be a list of strings")
        return tuple(value)

    def duration(self, key: str, default: Any = ...) -> float:
        value = self.take(key, str, default)
        if not isinstance(value, str):
            return float(value)
        try:
            return parse_duration(value, "it")
        except ValueError as error:
            raise self.fail(key, str(error)) from None

    def check_unknown(self, known: set[str]) -> None:
        for key in self.table:
            if key not in known:
                raise self.fail(key, f"unknown field (known: {', '.join(sorted(known))})")


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
             dict: "a table", list: "a list"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)
