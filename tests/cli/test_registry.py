"""The command registry (printwatch.cli.registry): every command listed by ``--help``, each
module with its parser and its run, and the top level light (no command module imported)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from printwatch.cli.main import build_parser, command_of, main
from printwatch.cli.registry import COMMANDS, load

from tests.support.processes import printwatch

#: What the command line must not load before a command runs.
HEAVY = ("duckdb", "starlette", "hypercorn", "printwatch.store", "printwatch.web", "printwatch.service")


def test_help_lists_every_registered_command_with_its_summary() -> None:
    done = printwatch("--help")
    assert done.returncode == 0, done.stderr
    listed = [line.split()[0] for line in done.stdout.splitlines() if line.startswith("    ")]
    assert [c for c in listed if c in COMMANDS] == list(COMMANDS)
    for entry in COMMANDS.values():
        assert entry.summary.split()[0] in done.stdout


def test_the_entry_point_and_help_import_no_command_module() -> None:
    probe = (
        "import contextlib, io, json, sys\n"
        "from printwatch.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    status = main([])\n"
        "try:\n"
        "    main(['--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(json.dumps([status, sorted(sys.modules)]), file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    status, modules = json.loads(done.stderr.strip().splitlines()[-1])
    assert status == 0
    loaded_heavy = [m for m in modules if m.split(".")[0] in HEAVY or m.startswith(HEAVY)]
    assert loaded_heavy == []
    commands = {entry.module for entry in COMMANDS.values()}
    assert commands.isdisjoint(modules)


@pytest.mark.parametrize("name", list(COMMANDS))
def test_each_command_module_builds_its_parser(name: str) -> None:
    module = load(name)
    assert callable(module.run)
    parser = build_parser(name)
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args([name, "--help"])
    assert exit_info.value.code == 0


def test_the_command_is_the_first_word_that_is_not_an_option() -> None:
    assert command_of(["--version"]) is None
    assert command_of(["poll", "--json", "host"]) == "poll"
    assert command_of(["-h", "sql", "SELECT 1"]) == "sql"


def test_a_usage_error_is_argparse_s_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["secret", "set"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: printwatch ") and "printwatch: error: secret set: a NAME is needed" in err
