"""The recordings plugin (tests/support/recordings.py), run as pytest runs it: in a pytest of its
own, with PRINTWATCH_RECORDINGS pointing at an empty folder, then at one with a recording."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]

#: Each way a test comes to need the recordings, and one that does not.
MODULE = """
from pathlib import Path

import pytest

from tests.support.recordings import RECORDINGS

CANON = RECORDINGS / "canonprinter_lbp.snmprec"


def some_recordings() -> list[Path]:
    return sorted(RECORDINGS.glob("*.snmprec"))


@pytest.fixture
def folder() -> Path:
    return RECORDINGS


def test_module_constant() -> None:
    assert CANON.parent.is_dir()


def test_helper() -> None:
    assert some_recordings()


def test_fixture(folder: Path) -> None:
    assert folder.is_dir()


@pytest.mark.recordings
def test_marked() -> None:
    assert Path(__import__("os").environ["PRINTWATCH_RECORDINGS"]).is_dir()


def test_needs_nothing() -> None:
    assert 1 + 1 == 2
"""


def run_pytest(
    tmp_path: Path, recordings: Path, *args: str, ci: bool = False
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env |= {"PRINTWATCH_RECORDINGS": str(recordings), "PYTHONPATH": str(PROJECT)}
    if ci:
        env["CI"] = "true"
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-ra",
        "-p",
        "no:cacheprovider",
        "-p",
        "tests.support.recordings",
    ]
    return subprocess.run(
        [*cmd, "--rootdir", str(tmp_path), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
        check=False,
    )


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    folder = tmp_path / "suite"
    folder.mkdir()
    (folder / "test_uses.py").write_text(MODULE)
    return folder


def test_absent_recordings_skip_their_tests_with_one_summary_line(tmp_path: Path, suite: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    done = run_pytest(suite, empty)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    ours = [line for line in lines if line.startswith("recordings: ")]
    assert ours == [
        f"recordings: 4 tests skipped: no .snmprec files under {empty} (the LibreNMS printer recordings "
        "(.snmprec), kept outside the repository in ../shared/recordings/librenms/snmprec beside the "
        "project; PRINTWATCH_RECORDINGS names another folder)"
    ], done.stdout
    assert not any(line.startswith("SKIPPED") for line in lines), done.stdout  # not one per test
    assert lines[-1].startswith("1 passed, 4 skipped"), done.stdout


def test_absent_recordings_fail_the_run_under_ci(tmp_path: Path, suite: Path) -> None:
    done = run_pytest(suite, tmp_path / "nowhere", ci=True)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "; CI=true: their absence fails the run" in done.stdout
    assert "1 passed, 4 skipped" in done.stdout


def test_present_recordings_run_every_test(tmp_path: Path, suite: Path) -> None:
    found = tmp_path / "recordings"
    found.mkdir()
    (found / "printer.snmprec").write_text("1.3.6.1.2.1.1.1.0|4|a printer\n")
    for ci in (False, True):
        done = run_pytest(suite, found, ci=ci)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "5 passed" in done.stdout and "recordings:" not in done.stdout


def test_the_suites_own_recording_tests_are_found(tmp_path: Path) -> None:
    """Modules of this suite that need the recordings in each way: a module fixture
    (tests/sim/test_identity.py), module-level paths (tests/discovery/test_registry.py), a
    helper of tests/support (tests/discovery/test_discovery.py)."""
    empty = tmp_path / "empty"
    empty.mkdir()
    modules = [
        "tests/sim/test_identity.py",
        "tests/discovery/test_registry.py",
        "tests/discovery/test_discovery.py",
    ]
    env = {k: v for k, v in os.environ.items() if k != "CI"} | {"PRINTWATCH_RECORDINGS": str(empty)}
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--co", *modules]
    listed = subprocess.run(
        cmd, capture_output=True, text=True, timeout=120, cwd=PROJECT, env=env, check=False
    )
    assert listed.returncode == 0, listed.stdout + listed.stderr
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *modules]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, cwd=PROJECT, env=env, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = [line for line in done.stdout.splitlines() if line.startswith("recordings: ")]
    assert len(summary) == 1 and " tests skipped: no .snmprec files under " in summary[0], done.stdout
    skipped = int(summary[0].split()[1])
    assert skipped >= 8 and f"{skipped} skipped" in done.stdout.splitlines()[-1], done.stdout
