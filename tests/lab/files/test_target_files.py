"""Target files, in memory: the shipped ones load, every mistake names its file and field, and
whether a target can run here is decided before any run."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lab.analysis.listings import targets_table
from lab.files.target_file import TargetError, calibration_target, find, load_target, target_files, unavailable
from lab.model.target import CALIBRATION_TARGET, LISTENING
from lab.run.measure import target_version

VALID = """
description = "mine"
command = ["{python}", "-m", "json.tool", "--port", "{port}"]
"""


def write(tmp_path: Path, text: str, name: str = "mine.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_shipped_targets_are_files_that_load() -> None:
    names = {load_target(path).name for path in target_files()}
    assert {"minimal", "uvicorn", "granian", "stage4-mypyc", "socketify", "node", "go", "rust-hyper"} <= names


def test_placeholders_and_defaults(tmp_path: Path) -> None:
    file = load_target(write(tmp_path, VALID + 'env = { PORT = "{port}", PY = "{python}" }\n'))
    target = file.target
    assert target.name == "mine" and target.stage is None and target.module is None
    # {python} is the lab's own interpreter; {port} is left for each start to fill.
    assert target.command == (sys.executable, "-m", "json.tool", "--port", "{port}")
    assert target.env == (("PORT", "{port}"), ("PY", sys.executable))
    assert target.ready == "/" and target.cwd is None and file.install == "" and file.check == ()
    assert target.version == ()


def test_a_version_command_is_filled_and_run_for_each_row(tmp_path: Path) -> None:
    text = VALID + 'version = ["{python}", "-c", "print(\'mine 1.2\\\\nlib 3\')"]\n'
    target = load_target(write(tmp_path, text)).target
    assert target.version[0] == sys.executable
    assert target_version(target) == "mine 1.2 lib 3"  # on one line
    failing = load_target(write(tmp_path, VALID + 'version = ["{python}", "-c", "raise SystemExit(1)"]\n')).target
    assert target_version(failing) is None


def test_cwd_is_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "server").mkdir()
    file = load_target(write(tmp_path, VALID + 'cwd = "server"\n'))
    assert file.target.cwd == str(tmp_path / "server")


def test_a_listening_target_needs_no_port(tmp_path: Path) -> None:
    file = load_target(write(tmp_path, 'description = "x"\ncommand = ["srv"]\nready = "listening"\n'))
    assert file.target.ready == LISTENING


@pytest.mark.parametrize(("text", "message"), [
    ('command = ["x", "{port}"]\n', "mine.toml: description: is required"),
    ('description = "x"\n', "mine.toml: command: is required"),
    ('description = "x"\ncommand = []\n', "mine.toml: command: needs at least the program"),
    ('description = "x"\ncommand = "srv --port {port}"\n', "mine.toml: command: must be a list, got"),
    ('description = "x"\ncommand = ["srv", 8080]\n', "mine.toml: command: must be a list of strings"),
    ('description = "x"\ncommand = ["srv", "{host}:{port}"]\n', "command: unknown placeholder {host}"),
    ('description = "x"\ncommand = ["srv"]\n', "mine.toml: command: needs {port}"),
    (VALID + 'ready = "health"\n', "mine.toml: ready: must be a path to poll"),
    (VALID + 'env = { PORT = 8080 }\n', "mine.toml: env.PORT: must be a string"),
    (VALID + 'env = { HOST = "{hostname}" }\n', "mine.toml: env: unknown placeholder {hostname}"),
    (VALID + 'cwd = "no-such-dir"\n', "mine.toml: cwd: no directory"),
    (VALID + 'check = "true"\n', "mine.toml: check: must be a list"),
    (VALID + 'version = ["srv", "{host}"]\n', "mine.toml: version: unknown placeholder {host}"),
    (VALID + 'comand = ["x"]\n', "mine.toml: comand: unknown field (known: check, closes, command, cwd"),
    ('description = "x\n', "mine.toml: not valid TOML"),
])
def test_each_mistake_names_the_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(TargetError, match=message.replace("{", r"\{").replace("(", r"\(")):
        load_target(write(tmp_path, text))


def test_port_in_env_is_enough(tmp_path: Path) -> None:
    file = load_target(write(tmp_path, 'description = "x"\ncommand = ["srv"]\nenv = { PORT = "{port}" }\n'))
    assert file.target.command == ("srv",)


def test_find_by_name_or_path(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    assert find("mine", tmp_path).path == str(path)
    assert find(str(path)).name == "mine"
    with pytest.raises(TargetError, match=r"unknown target 'nginx' \(no file .*nginx.toml\); known: mine"):
        find("nginx", tmp_path)


def test_calibration_runs_the_minimal_file_under_its_own_name() -> None:
    target = calibration_target()
    assert target.name == CALIBRATION_TARGET
    assert target.command == find("minimal").target.command


@pytest.mark.parametrize(("command", "reason"), [
    ('["{python}", "-m", "qpslab_no_such_module", "--port", "{port}"]', "no Python module qpslab_no_such_module"),
    ('["{python}", "-m", "qpslab_no_such.sub", "--port", "{port}"]', "no Python module qpslab_no_such.sub"),
    ('["{python}", "absent.py", "--port", "{port}"]', "no script absent.py"),
    ('["qpslab-no-such-program", "{port}"]', "no program qpslab-no-such-program"),
    ('["./absent-server", "{port}"]', "no program ./absent-server"),
])
def test_what_is_missing_is_said_with_the_install_hint(tmp_path: Path, command: str, reason: str) -> None:
    file = load_target(write(tmp_path, f'description = "x"\ncommand = {command}\ninstall = "pip install it"\n'))
    assert unavailable(file) == f"mine cannot run here: {reason}; install: pip install it"


@pytest.mark.parametrize("command", [
    '["{python}", "-m", "json.tool", "--port", "{port}"]',
    '["{python}", "server.py", "--port", "{port}"]',
    '["sh", "-c", "exec server {port}"]',
    '["./server.py", "{port}"]',
])
def test_what_is_there_can_run(tmp_path: Path, command: str) -> None:
    script = tmp_path / "server.py"
    script.write_text("")
    script.chmod(0o755)
    file = load_target(write(tmp_path, f'description = "x"\ncommand = {command}\ncwd = "."\n'))
    assert unavailable(file) is None


def test_a_check_command_decides_and_its_last_line_is_the_reason(tmp_path: Path) -> None:
    failing = '\ncheck = ["{python}", "-c", "import sys; print(\'noise\'); sys.exit(\'libfoo.so: not found\')"]\n'
    file = load_target(write(tmp_path, VALID + 'install = "apt-get install libfoo"' + failing))
    assert unavailable(file) == ("mine cannot run here: its check failed: libfoo.so: not found; "
                                 "install: apt-get install libfoo")
    passing = load_target(write(tmp_path, 'description = "x"\ncommand = ["absent", "{port}"]\n'
                                          'check = ["{python}", "-c", ""]\n'))
    assert unavailable(passing) is None  # the check, not the default look for the program, decides


def test_the_listing_marks_invalid_files_and_counts_them(tmp_path: Path) -> None:
    write(tmp_path, VALID)
    write(tmp_path, 'description = "x"\n', "broken.toml")
    table, invalid = targets_table(tmp_path)
    assert invalid == 1
    names = list(table.columns[0].cells)
    assert names == ["broken", "mine"]


def test_a_module_in_the_working_directory_is_found_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`python -m myserver` runs from its cwd, which the lab's own import path need not hold."""
    (tmp_path / "server").mkdir()
    (tmp_path / "server" / "qpslab_own_server.py").write_text("")
    command = 'description = "x"\ncommand = ["{python}", "-m", "qpslab_own_server", "--port", "{port}"]\n'
    assert unavailable(load_target(write(tmp_path, command + 'cwd = "server"\n'))) is None
    missing = unavailable(load_target(write(tmp_path, command)))
    assert missing == "mine cannot run here: no Python module qpslab_own_server"
    monkeypatch.chdir(tmp_path / "server")  # no cwd in the file: the lab's own working directory
    assert unavailable(load_target(write(tmp_path, command))) is None


def test_braces_that_are_no_placeholder_are_kept(tmp_path: Path) -> None:
    file = load_target(write(tmp_path, VALID + """env = { CONFIG = '{"workers": 1}' }\n"""))
    assert file.target.env == (("CONFIG", '{"workers": 1}'),)


@pytest.mark.parametrize(("raised", "said"), [
    (ModuleNotFoundError("No module named 'socketify'"), "qpslab: socketify is not installed"),
    (OSError("cannot load library '/x/libsocketify_linux_amd64.so': libuv.so.1: cannot open shared object file: "
             "No such file or directory.  Additionally, ctypes.util.find_library() did not manage to locate "
             "a library called '/x/libsocketify_linux_amd64.so'"),
     "qpslab: socketify's native library cannot load: libuv.so.1: cannot open shared object file"),
])
def test_socketify_says_in_one_line_what_is_missing(monkeypatch: pytest.MonkeyPatch, raised: Exception,
                                                    said: str) -> None:
    """What `targets/socketify.toml`'s check prints when the package or the system's libuv is
    missing (cffi's own message, as it is when libuv.so.1 is absent, names it in passing)."""
    from lab.peers import socketify_app

    def fail(name: str) -> None:
        raise raised

    monkeypatch.setattr(socketify_app.importlib, "import_module", fail)
    with pytest.raises(SystemExit) as exit_:
        socketify_app.load_socketify()
    assert exit_.value.code == said
