"""A test that starts the platform and then fails, or is cut by pytest-timeout, leaves no process
behind: each case runs pytest in a subprocess on a tiny test that starts a platform on its own data
dir, and afterwards no process on this machine names that data dir in its command line."""

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import ROOT, START_TIMEOUT, STOP_TIMEOUT, e2e_budget, platform_environment

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(e2e_budget(starts=2))]

TINY_TESTS = textwrap.dedent(
    """
    import os, time
    from pathlib import Path

    import pytest

    from tests.e2e.conftest import Platform

    DATA_DIR = Path(os.environ["TINY_DATA_DIR"])


    @pytest.fixture
    def running():
        platform = Platform(DATA_DIR).start()
        yield platform
        platform.stop()


    def test_started_in_the_test_and_never_stopped():
        Platform(DATA_DIR).start()
        raise AssertionError("the trader's order was not there")


    def test_fails_with_a_platform_from_a_fixture(running):
        raise AssertionError("the trader's order was not there")


    @pytest.mark.timeout(15)
    def test_hangs_past_its_timeout(running):
        time.sleep(3600)


    @pytest.mark.timeout(15, method="thread")
    def test_hangs_past_a_thread_timeout_that_ends_pytest_with_os_exit(running):
        time.sleep(3600)
    """
)


def processes_naming(text: str) -> list[str]:
    """The command lines of the live processes whose command line contains `text`."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            command = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # ended while we looked
            continue
        if text in command and cmdline.parent.name != str(os.getpid()):
            found.append(f"{cmdline.parent.name}: {command}")
    return found


def run_tiny_test(tmp_path: Path, name: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_tiny.py").write_text(TINY_TESTS)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            str(ROOT / "pytest.ini"),
            "--rootdir",
            str(tmp_path),
            "-p",
            "tests.e2e.conftest",
            "-p",
            "no:cacheprovider",
            f"{tmp_path / 'test_tiny.py'}::{name}",
        ],
        cwd=ROOT,
        env={**platform_environment(), "TINY_DATA_DIR": str(data_dir)},
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT + 2 * STOP_TIMEOUT + 120,
        check=False,
    )


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
@pytest.mark.parametrize(
    "name",
    [
        "test_started_in_the_test_and_never_stopped",
        "test_fails_with_a_platform_from_a_fixture",
        "test_hangs_past_its_timeout",
        "test_hangs_past_a_thread_timeout_that_ends_pytest_with_os_exit",
    ],
)
def test_no_process_of_the_data_dir_is_alive_after_pytest_ends(tmp_path, name):
    finished = run_tiny_test(tmp_path, name)
    output = finished.stdout[-4000:] + finished.stderr[-4000:]
    assert finished.returncode != 0, output
    assert (tmp_path / "data" / "platform.log").exists(), f"no platform was started:\n{output}"
    data_dir = str(tmp_path / "data")
    deadline = time.monotonic() + STOP_TIMEOUT  # SIGKILL is delivered, not waited for
    while (left := processes_naming(data_dir)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not left, f"still running after pytest ended:\n{left}\n{output}"
