"""Start the local platform exactly as the README does, and talk to it only over HTTP.

Nothing here waits on how fast the machine is: every wait has a deadline that raises a message
naming what did not happen, and the deadlines agree with each other (a test's pytest-timeout,
`e2e_budget`, is above every subprocess timeout it gives). Every platform a test starts runs in a
process group of its own, and no group outlives the test run: teardown stops it (SIGTERM, then
SIGKILL after `STOP_TIMEOUT`); a registry of the groups still running is killed when pytest
finishes (`pytest_sessionfinish`, `pytest_unconfigure`) and at interpreter exit (`atexit`); and
on Linux each platform is started with a parent-death signal, so even a pytest that dies without
running Python's exit (SIGKILL, pytest-timeout's `thread` method, `os._exit`) takes its platforms
with it. pytest.ini chooses the `signal` timeout method: the timeout raises inside the test, so
its teardown runs.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests

from local_platform.aws import free_port

ROOT = Path(__file__).resolve().parents[2]
STACK = "ql-algo-trading-local-options-trading-stack"
PASSWORD = "Tr4der!pass"

# How long each step may take on a loaded two-core machine (load 8-13); idle it takes a tenth.
START_TIMEOUT = 300.0  # from the command to outputs.json
STOP_TIMEOUT = 30.0  # SIGTERM's grace before SIGKILL
HTTP_TIMEOUT = 120.0  # one request's read timeout
SESSION_TIMEOUT = 1500.0  # one `--session` day (about 3 minutes idle)
# A Saturday evening: no entry, exit, stop-loss check or timer is due, so a trader can be set up at
# any pace before a `--session` runs the trading day.
WEEKEND_EVENING = "2026-02-28T20:00:00+05:30"

# Process groups started by this test run and not yet stopped: group id -> what it was started for.
_RUNNING: dict[int, str] = {}


def e2e_budget(starts: int = 1, sessions: int = 0, requests_: int = 100) -> float:
    """A test's pytest-timeout: above the sum of the subprocess timeouts it gives (each start with
    its stop, each session) and of its HTTP requests at a loaded machine's pace (2 s each; one
    request alone may take up to HTTP_TIMEOUT)."""
    return (
        starts * (START_TIMEOUT + STOP_TIMEOUT)
        + sessions * (SESSION_TIMEOUT + STOP_TIMEOUT)
        + max(HTTP_TIMEOUT, 2.0 * requests_)
        + 60.0
    )


def _die_with_pytest() -> None:
    """In the child, before exec: when the thread that started it ends (pytest's main thread: pytest
    exiting by any means), the kernel sends it SIGKILL. So start platforms from the main thread."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)


def platform_environment() -> dict[str, str]:
    """This process's environment without the tests' fake AWS and Powertools settings."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}


def start_group(command: list[str], log: Path, purpose: str) -> subprocess.Popen[bytes]:
    """Run `command` in a process group of its own, output to `log`, registered for clean-up."""
    with log.open("ab") as output:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=platform_environment(),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_pytest if sys.platform == "linux" else None,  # noqa: PLW1509 (prctl only, before exec)
        )
    _RUNNING[process.pid] = purpose
    return process


def stop_group(process: subprocess.Popen[bytes], grace: float = STOP_TIMEOUT) -> int:
    """SIGTERM to the whole group, SIGKILL to it after `grace` seconds; the leader's exit code."""
    try:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=grace)
        # Anything the leader left in its group goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
    finally:
        _RUNNING.pop(process.pid, None)
    return process.returncode


def kill_every_group() -> list[str]:
    """SIGKILL every process group this run started and did not stop; what each was for."""
    killed = []
    for group, purpose in list(_RUNNING.items()):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)
            killed.append(purpose)
        _RUNNING.pop(group, None)
    return killed


atexit.register(kill_every_group)


def pytest_sessionfinish(session: pytest.Session) -> None:
    killed = kill_every_group()
    if killed:
        sys.stderr.write(f"\nkilled {len(killed)} platform(s) a test left running: {killed}\n")


def pytest_unconfigure(config: pytest.Config) -> None:
    kill_every_group()


def eventually(condition: Callable[[], Any], what: str, timeout: float = 300.0) -> Any:
    """Poll `condition` until it is truthy (and return it); after `timeout` s, fail saying `what`."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: still not so after {timeout:.0f} s")
        time.sleep(0.5)
    return result


def _tail(path: Path, characters: int = 6000) -> str:
    return path.read_text(errors="replace")[-characters:] if path.exists() else "(no log)"


class Platform:
    def __init__(
        self,
        data_dir: Path,
        clock_start: str = "2026-03-02T09:25:00+05:30",
        clock_speed: float | None = None,
    ):
        self.data_dir = data_dir
        self.clock_start, self.clock_speed = clock_start, clock_speed
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.outputs: dict[str, Any] = {}
        self.log = data_dir / "platform.log"

    def start(self, timeout: float = START_TIMEOUT) -> Platform:
        outputs_file = self.data_dir / "outputs.json"
        self.process = start_group(
            [
                str(ROOT / "deploy.sh"),
                "-e",
                "local",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                "--clock-start",
                self.clock_start,
                *(["--clock-speed", str(self.clock_speed)] if self.clock_speed else []),
            ],
            self.log,
            f"platform on {self.data_dir}",
        )
        deadline = time.monotonic() + timeout
        while not outputs_file.exists():
            if self.process.poll() is not None:
                self.stop()
                raise RuntimeError(
                    f"the platform exited with {self.process.returncode}:\n{_tail(self.log)}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"no outputs.json after {timeout:.0f} s:\n{_tail(self.log)}")
            time.sleep(0.2)
        self.outputs = json.loads(outputs_file.read_text())[STACK]
        return self

    def stop(self) -> int:
        return stop_group(self.process) if self.process else 0

    @property
    def api(self) -> str:
        return str(self.outputs["ApiUrl"]).rstrip("/")

    def engine(self) -> dict[str, Any]:
        """The local engine's state (an operator's view on loopback, not part of the API)."""
        state: dict[str, Any] = requests.get(
            self.api + "/local/engine", timeout=HTTP_TIMEOUT
        ).json()
        return state

    def now(self) -> datetime:
        return datetime.fromisoformat(self.engine()["now"].replace("Z", "+00:00"))

    def wait_until(self, moment: datetime, timeout: float = 300.0) -> None:
        eventually(lambda: self.now() >= moment, f"the simulated clock reaching {moment}", timeout)

    def cognito(self) -> Any:
        return boto3.client(
            "cognito-idp",
            endpoint_url=self.outputs["AwsEndpointUrl"],
            region_name=self.outputs["Region"],
            aws_access_key_id="anything",
            aws_secret_access_key="anything",
        )

    def sign_up(self, username: str) -> str:
        """The ordinary Cognito flow; locally any confirmation code is accepted (no mail is sent)."""
        client_id = self.outputs["UserPoolClientId"]
        idp = self.cognito()
        idp.sign_up(
            ClientId=client_id,
            Username=username,
            Password=PASSWORD,
            UserAttributes=[{"Name": "email", "Value": f"{username}@example.com"}],
        )
        idp.confirm_sign_up(ClientId=client_id, Username=username, ConfirmationCode="000000")
        return self.sign_in(username)

    def sign_in(self, username: str, password: str = PASSWORD) -> str:
        result = self.cognito().initiate_auth(
            ClientId=self.outputs["UserPoolClientId"],
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
        token: str = result["AuthenticationResult"]["IdToken"]
        return token


class Session:
    """`./deploy.sh -e local --session DAY` on a data dir: the trading day on a stepped clock, as fast
    as the machine runs it; it writes report-DAY.json/.html/.svg there and exits."""

    def __init__(self, data_dir: Path, day: str, demo: bool = False):
        self.data_dir, self.day, self.demo = data_dir, day, demo
        self.log = data_dir / f"session-{day}.log"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.seconds = 0.0

    def start(self) -> Session:
        self._began = time.monotonic()
        self.process = start_group(
            [
                str(ROOT / "deploy.sh"),
                "-e",
                "local",
                *(["--demo"] if self.demo else []),
                "--session",
                self.day,
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
            ],
            self.log,
            f"session of {self.day} on {self.data_dir}",
        )
        return self

    def end_after(self, moment: datetime, timeout: float = SESSION_TIMEOUT) -> dict[str, Any]:
        """Let the day run until its clock has passed `moment`, then end it as Ctrl-C does (the
        report covers the day so far). The stepped clock moves past a minute only once all that
        was due in it has run, so what the report holds does not depend on when this looks."""
        assert self.process, "start the session first"
        api = f"http://127.0.0.1:{self.port}/local/engine"

        def passed() -> bool:
            if self.process is not None and self.process.poll() is not None:
                return True  # ended by itself: wait() says how
            with contextlib.suppress(requests.RequestException):
                now = requests.get(api, timeout=HTTP_TIMEOUT).json()["now"]
                return datetime.fromisoformat(now.replace("Z", "+00:00")) > moment
            return False

        eventually(passed, f"the session of {self.day} passing {moment}", timeout)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGINT)
        return self.wait(timeout)

    def wait(self, timeout: float = SESSION_TIMEOUT) -> dict[str, Any]:
        """Wait for the day to end; the report, or an error with the end of the session's output."""
        assert self.process, "start the session first"
        try:
            self.process.wait(timeout=max(timeout - (time.monotonic() - self._began), 1.0))
        except subprocess.TimeoutExpired:
            stop_group(self.process)
            raise TimeoutError(
                f"the session of {self.day} on {self.data_dir} did not end in {timeout:.0f} s:\n"
                f"{_tail(self.log)}"
            ) from None
        self.seconds = time.monotonic() - self._began
        code = stop_group(self.process)
        if code != 0:
            raise RuntimeError(f"the session of {self.day} exited with {code}:\n{_tail(self.log)}")
        report: dict[str, Any] = json.loads(self.report_file.read_text())
        return report

    @property
    def report_file(self) -> Path:
        return self.data_dir / f"report-{self.day}.json"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


class Client:
    def __init__(self, platform: Platform, token: str | None):
        self.platform, self.token = platform, token

    def call(self, method: str, path: str, body: Any = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return requests.request(
            method, self.platform.api + path, json=body, headers=headers, timeout=HTTP_TIMEOUT
        )

    def get(self, path: str) -> requests.Response:
        return self.call("GET", path)

    def post(self, path: str, body: Any) -> requests.Response:
        return self.call("POST", path, body)

    def put(self, path: str, body: Any) -> requests.Response:
        return self.call("PUT", path, body)

    def delete(self, path: str) -> requests.Response:
        return self.call("DELETE", path)


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    running = Platform(tmp_path_factory.mktemp("local-platform")).start()
    yield running
    running.stop()
